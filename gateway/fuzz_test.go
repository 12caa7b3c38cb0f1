package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/corral-metrics/corral/source"
)

// recordingSource answers with a fixed text exposition and keeps the last
// request it was asked.
type recordingSource struct {
	body string
	mu   sync.Mutex
	last source.Request
}

func (s *recordingSource) Scrape(_ context.Context, req source.Request) (*source.Response, error) {
	s.mu.Lock()
	s.last = req
	s.mu.Unlock()
	return &source.Response{ContentType: textContentType, Body: io.NopCloser(strings.NewReader(s.body))}, nil
}

const fuzzBody = "# HELP app_up Whether the app is up.\n# TYPE app_up gauge\napp_up{job=\"a\"} 1\n"

// fuzzGateway is a gateway with one verified and one streamed source,
// served in-process.
func fuzzGateway() (http.Handler, *recordingSource) {
	src := &recordingSource{body: fuzzBody}
	g := New(Options{Registry: prometheus.NewRegistry(), MergeSelf: false})
	g.SetModules([]Module{
		{Name: "app", Kind: "exporter", Merge: true, Verify: true, Source: src},
		{Name: "raw", Kind: "exporter", Merge: false, Verify: false, Source: src},
	})
	return g.Handler(), src
}

// FuzzAccept sends any Accept and Accept-Encoding to /metrics and /proxy:
// the answer is 200 with a Content-Type corral serves, and the body parses
// in that format with the source's series in it.
func FuzzAccept(f *testing.F) {
	for _, seed := range [][2]string{
		{"", ""},
		{"text/plain;version=0.0.4;q=1,*/*;q=0.1", "gzip"},
		{"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1", "gzip, deflate"},
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5", "identity"},
		{"application/openmetrics-text; version=1.0.0", "gzip;q=0"},
		{"application/openmetrics-text;version=1.0.0;escaping=dots", "*"},
		{"text/plain;escaping=values", "br"},
		{"application/json", ""},
		{"*/*;q=abc,text/*;q=", "gzip;q=0.001"},
		{strings.Repeat("text/plain;q=0.1,", 200), strings.Repeat("gzip,", 100)},
		{";;;,,,=;q", ";q=1"},
	} {
		f.Add(seed[0], seed[1])
	}
	h, _ := fuzzGateway()
	f.Fuzz(func(t *testing.T, accept, encoding string) {
		for _, path := range []string{"/metrics", "/proxy?module=app"} {
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r.Header.Set("Accept", accept)
			r.Header.Set("Accept-Encoding", encoding)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("%s with Accept %q: want 200, have %d %q", path, accept, w.Code, w.Body.String())
			}
			ct := w.Header().Get("Content-Type")
			if path != "/metrics" {
				if ct != textContentType || w.Body.String() != fuzzBody {
					t.Fatalf("%s with Accept %q: want the source's text as is, have %q %q", path, accept, ct, w.Body.String())
				}
				continue
			}
			body := w.Body.Bytes()
			if w.Header().Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("Accept-Encoding %q: gzip header: %v", encoding, err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatalf("Accept-Encoding %q: gzip body: %v", encoding, err)
				}
			}
			format := expfmt.Format(ct)
			switch format.FormatType() {
			case expfmt.TypeTextPlain, expfmt.TypeProtoDelim, expfmt.TypeOpenMetrics:
			default:
				t.Fatalf("Accept %q: want a Prometheus Content-Type, have %q", accept, ct)
			}
			seen := false
			dec := expfmt.NewDecoder(bytes.NewReader(body), format.WithEscapingScheme(model.NoEscaping))
			if format.FormatType() == expfmt.TypeOpenMetrics {
				// expfmt decodes no OpenMetrics: check the shape instead.
				if !bytes.HasSuffix(body, []byte("# EOF\n")) || !bytes.Contains(body, []byte(`up{job="a",exporter="app"} 1`)) {
					t.Fatalf("Accept %q: OpenMetrics body without the series or # EOF: %q", accept, body)
				}
				continue
			}
			for {
				mf := new(dto.MetricFamily)
				err := dec.Decode(mf)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Accept %q, Content-Type %q: body does not decode: %v\n%s", accept, ct, err, body)
				}
				// The name may be escaped (app__up with escaping=dots).
				if strings.HasPrefix(mf.GetName(), "app_") && len(mf.GetMetric()) == 1 && len(mf.GetMetric()[0].GetLabel()) == 2 {
					seen = true
				}
			}
			if !seen {
				t.Fatalf("Accept %q, Content-Type %q: app_up missing from\n%s", accept, ct, body)
			}
		}
	})
}

// FuzzProxyQuery sends any query string and scrape timeout header to /proxy:
// corral answers 200, 400 or 404 (never 5xx for a good source, never a
// panic), and a source is handed the module values after the first, the
// one that named it, as exporter_exporter does.
func FuzzProxyQuery(f *testing.F) {
	for _, seed := range [][2]string{
		{"module=app", ""},
		{"module=app&target=10.0.0.1%3A161&auth=public_v2", "10"},
		{"module=raw&module=app", "0.5"},
		{"module=", "-1"},
		{"", "NaN"},
		{"module=nope", "1e308"},
		{"module=app;x=1&%zz", "+Inf"},
		{"module=%61pp&host=%00%0a", "0x10"},
		{"module=app&module", "9999999999"},
		{strings.Repeat("a=b&", 500) + "module=app", "1.5"},
	} {
		f.Add(seed[0], seed[1])
	}
	h, src := fuzzGateway()
	f.Fuzz(func(t *testing.T, query, timeout string) {
		r := httptest.NewRequest(http.MethodGet, "/proxy", nil)
		r.URL.RawQuery = query
		r.Header.Set(TimeoutHeader, timeout)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			if w.Body.String() != fuzzBody {
				t.Fatalf("query %q: 200 with a body not the source's: %q", query, w.Body.String())
			}
			src.mu.Lock()
			params := src.last.Params
			src.mu.Unlock()
			vals, _ := url.ParseQuery(query)
			m := vals["module"]
			if len(m) == 0 || (m[0] != "app" && m[0] != "raw") {
				t.Fatalf("query %q: 200 though module is %q", query, m)
			}
			if have, ok := params["module"]; ok != (len(m) > 1) || !slices.Equal(have, m[1:]) {
				t.Fatalf("query %q: want the source handed module %q, have %q", query, m[1:], have)
			}
		case http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("query %q, timeout %q: want 200, 400 or 404, have %d %q", query, timeout, w.Code, w.Body.String())
		}
	})
}

// FuzzClientAddr checks that X-Forwarded-For is only ever read from a
// trusted proxy, and that what it yields is an address.
func FuzzClientAddr(f *testing.F) {
	for _, seed := range [][2]string{
		{"127.0.0.1:9999", "192.0.2.1"},
		{"[::1]:1", "2001:db8::1, 10.1.2.3"},
		{"10.1.0.1:80", "unknown"},
		{"192.0.2.1:5", "127.0.0.1"},
		{"[fe80::1%eth0]:1", "fe80::2%lo"},
		{"", ","},
	} {
		f.Add(seed[0], seed[1])
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.1.0.0/16")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		peer, perr := netip.ParseAddrPort(remote)
		for _, tr := range [][]netip.Prefix{nil, trusted} {
			addr, ok := ClientAddr(remote, []string{xff}, tr)
			if perr != nil {
				if ok {
					t.Fatalf("remote %q is no address, yet a client: %s", remote, addr)
				}
				continue
			}
			p := peer.Addr().Unmap().WithZone("")
			if !inPrefixes(p, tr) && (!ok || addr != p) {
				t.Fatalf("remote %q not a trusted proxy: want the peer, have %s %v (X-Forwarded-For %q)", remote, addr, ok, xff)
			}
			if ok && !addr.IsValid() {
				t.Fatalf("remote %q, X-Forwarded-For %q: ok with no address", remote, xff)
			}
		}
	})
}
