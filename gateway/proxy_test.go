package gateway

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
	"github.com/corral-metrics/corral/source/exporter"
)

// newTestGateway serves g's handler on a real HTTP server.
func newTestGateway(t testing.TB, opts Options, mods ...Module) (*Gateway, *httptest.Server) {
	t.Helper()
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		opts.Metrics = NewMetrics(opts.Registry, BuildInfo{Version: "test", Revision: "abc"})
	}
	g := New(opts)
	g.SetModules(mods)
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return g, srv
}

func exporterModule(t testing.TB, name, url string, verify bool, edit ...func(*exporter.Config)) Module {
	t.Helper()
	cfg := exporter.Config{URL: url}
	for _, e := range edit {
		e(&cfg)
	}
	cfg.Defaults()
	cfg.Verify = &verify
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := exporter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return Module{Name: name, Kind: "exporter", Merge: true, Verify: verify, Source: e}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upstreams are the behaviours of a misbehaving (or good) exporter.
func upstream(t testing.TB, kind string) *httptest.Server {
	t.Helper()
	good := readTestdata(t, "node_exporter.prom")
	var h http.HandlerFunc
	switch kind {
	case "good":
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			w.Write(good)
		}
	case "500":
		h = func(w http.ResponseWriter, r *http.Request) { http.Error(w, "database is on fire", 500) }
	case "garbage":
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Write([]byte("this is { not metrics\n"))
		}
	case "endless":
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			line := []byte("# HELP endless A family that never ends.\n")
			for r.Context().Err() == nil {
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		}
	case "hang":
		h = func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		}
	case "midbody":
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Header().Set("Content-Length", "100000")
			w.Write(good[:1000])
			w.(http.Flusher).Flush()
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}
	case "echo":
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			// Echo what corral sent as a valid exposition: one metric per header of interest.
			var b bytes.Buffer
			b.WriteString("# TYPE echo gauge\n")
			for _, k := range []string{"Authorization", "Cookie", "Accept", "X-Extra"} {
				if v := r.Header.Get(k); v != "" {
					b.WriteString("echo{header=\"" + k + "\",value=\"" + strings.ReplaceAll(v, `"`, `'`) + "\"} 1\n")
				}
			}
			b.WriteString("echo{query=\"" + r.URL.RawQuery + "\"} 1\n")
			w.Write(b.Bytes())
		}
	default:
		t.Fatalf("no upstream %q", kind)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// refusedURL is an address nothing listens on.
func refusedURL(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/metrics"
}

func TestProxy(t *testing.T) {
	good := readTestdata(t, "node_exporter.prom")
	up := map[string]*httptest.Server{}
	for _, k := range []string{"good", "500", "garbage", "endless", "hang", "midbody"} {
		up[k] = upstream(t, k)
	}
	var mods []Module
	for _, verify := range []bool{true, false} {
		suffix := "_stream"
		if verify {
			suffix = "_verify"
		}
		for k, srv := range up {
			mods = append(mods, exporterModule(t, k+suffix, srv.URL, verify, func(c *exporter.Config) { c.Timeout = duration.Of(20 * time.Second) }))
		}
		mods = append(mods, exporterModule(t, "refused"+suffix, refusedURL(t), verify))
	}
	_, gw := newTestGateway(t, Options{MaxBodyBytes: 1 << 20}, mods...)

	for _, tc := range []struct {
		query      string
		header     http.Header
		wantStatus int
		wantBody   string // a substring
		wantType   string // a prefix
		wantCut    bool   // the response is aborted mid-body
	}{
		{query: "module=good_verify", wantStatus: 200, wantBody: string(good), wantType: "text/plain; version=0.0.4"},
		{query: "module=good_stream", wantStatus: 200, wantBody: string(good), wantType: "text/plain; version=0.0.4"},
		{query: "module=500_verify", wantStatus: 502, wantBody: "500 Internal Server Error: database is on fire"},
		{query: "module=500_stream", wantStatus: 502, wantBody: "status"},
		{query: "module=garbage_verify", wantStatus: 502, wantBody: "invalid exposition"},
		{query: "module=garbage_stream", wantStatus: 200, wantBody: "this is { not metrics", wantType: "text/plain; version=0.0.4"},
		{query: "module=endless_verify", wantStatus: 502, wantBody: "body larger than max_body_bytes (1MiB)"},
		{query: "module=endless_stream", wantStatus: 200, wantCut: true},
		{query: "module=hang_verify", header: http.Header{TimeoutHeader: {"1"}}, wantStatus: 504, wantBody: "timeout"},
		{query: "module=hang_stream", header: http.Header{TimeoutHeader: {"1"}}, wantStatus: 504, wantBody: "timeout"},
		{query: "module=midbody_verify", wantStatus: 502, wantBody: "unexpected EOF"},
		{query: "module=midbody_stream", wantStatus: 200, wantCut: true},
		{query: "module=refused_verify", wantStatus: 502, wantBody: "refused"},
		{query: "module=refused_stream", wantStatus: 502, wantBody: "connection refused"},
		{query: "module=nope", wantStatus: 404, wantBody: `unknown module "nope"; known modules: 500_stream, 500_verify, endless_stream`},
		{query: "module=", wantStatus: 400, wantBody: "missing module parameter; known modules: 500_stream"},
		{query: "", wantStatus: 400, wantBody: "missing module parameter"},
		{query: "module=good_verify&module=good_stream", wantStatus: 200, wantBody: string(good), wantType: "text/plain; version=0.0.4"},
		{query: "module=good_verify&module=good_verify", wantStatus: 200, wantBody: string(good), wantType: "text/plain; version=0.0.4"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			req, _ := http.NewRequest("GET", gw.URL+"/proxy?"+tc.query, nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, rerr := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status: want %d, have %d (%s)", tc.wantStatus, resp.StatusCode, body)
			}
			if tc.wantCut {
				if rerr == nil {
					t.Fatalf("body: want a cut response, have a complete one of %d bytes", len(body))
				}
				return
			}
			if rerr != nil {
				t.Fatalf("body: %v", rerr)
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("body: want it to contain %q, have %q", tc.wantBody, trim(body))
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) || ct == "" {
				t.Errorf("Content-Type: want %q..., have %q", tc.wantType, ct)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s: the deadline was not honoured", d)
			}
		})
	}
}

func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// TestProxyForwarding: params but module are forwarded, the operator's query
// wins, Accept is forwarded, the client's credentials never are.
func TestProxyForwarding(t *testing.T) {
	echo := upstream(t, "echo")
	mod := exporterModule(t, "echo", echo.URL+"/metrics?format=prometheus", true, func(c *exporter.Config) {
		c.Headers = map[string]string{"X-Extra": "configured"}
	})
	_, gw := newTestGateway(t, Options{}, mod)
	req, _ := http.NewRequest("GET", gw.URL+"/proxy?module=echo&target=10.0.0.1&format=json", nil)
	req.Header.Set("Authorization", "Bearer client-secret")
	req.Header.Set("Cookie", "session=client-secret")
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`echo{header="Accept",value="text/plain;version=0.0.4"} 1`,
		`echo{header="X-Extra",value="configured"} 1`,
		`echo{query="format=prometheus&target=10.0.0.1"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("want %q in\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "client-secret") {
		t.Errorf("the client's credentials reached the upstream:\n%s", body)
	}
}

// TestProxyBasicAuthUpstream: the password comes from its file.
func TestProxyBasicAuthUpstream(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "prom" || p != "s3cret" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("up 1\n"))
	}))
	defer srv.Close()
	pw := t.TempDir() + "/pw"
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	for _, tc := range []struct {
		user       string
		wantStatus int
	}{{"prom", 200}, {"someone", 502}} {
		mod := exporterModule(t, "auth", srv.URL, true, func(c *exporter.Config) {
			c.BasicAuth = exporter.BasicAuth{Username: tc.user, PasswordFile: pw}
		})
		_, gw := newTestGateway(t, Options{}, mod)
		resp, err := http.Get(gw.URL + "/proxy?module=auth")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("user %s: want %d, have %d (%s)", tc.user, tc.wantStatus, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "s3cret") {
			t.Errorf("the password shows in the answer: %s", body)
		}
	}
}

// TestScrapeMetrics: every outcome is counted by reason.
func TestScrapeMetrics(t *testing.T) {
	good, bad, garbage := upstream(t, "good"), upstream(t, "500"), upstream(t, "garbage")
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, BuildInfo{Version: "test"})
	_, gw := newTestGateway(t, Options{Registry: reg, Metrics: m},
		exporterModule(t, "good", good.URL, true),
		exporterModule(t, "bad", bad.URL, true),
		exporterModule(t, "garbage", garbage.URL, true),
		exporterModule(t, "refused", refusedURL(t), true),
	)
	for _, mod := range []string{"good", "bad", "garbage", "refused", "good"} {
		resp, err := http.Get(gw.URL + "/proxy?module=" + mod)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, tc := range []struct {
		source, reason string
		want           float64
	}{
		{"bad", source.ReasonStatus, 1}, {"garbage", source.ReasonInvalid, 1}, {"refused", source.ReasonRefused, 1},
	} {
		if have := testutil.ToFloat64(m.errors.WithLabelValues(tc.source, tc.reason)); have != tc.want {
			t.Errorf("errors{source=%s,reason=%s}: want %v, have %v", tc.source, tc.reason, tc.want, have)
		}
	}
	if have := testutil.CollectAndCount(m.duration, "corral_scrape_duration_seconds"); have != 4 {
		t.Errorf("duration series: want 4, have %d", have)
	}
	size := float64(len(readTestdata(t, "node_exporter.prom")))
	if have := testutil.ToFloat64(m.bytes.WithLabelValues("good")); have != 2*size {
		t.Errorf("bytes{source=good}: want %v, have %v", 2*size, have)
	}
	// Reload without "bad": its series go.
	gwg := New(Options{Registry: reg, Metrics: m})
	gwg.SetModules([]Module{exporterModule(t, "bad", bad.URL, true)})
	gwg.SetModules(nil)
	if have := testutil.CollectAndCount(m.errors); have != 2 {
		t.Errorf("error series after bad left: want 2, have %d", have)
	}
}

// TestContentTypeFallback: a valid text body sent with a Content-Type that
// names no exposition format is read as text, as Prometheus does with
// fallback_scrape_protocol and exporter_exporter does.
func TestContentTypeFallback(t *testing.T) {
	body := "# TYPE app_up gauge\napp_up 1\n"
	for _, ct := range []string{"application/octet-stream", "text/html; charset=utf-8", "", "text/plain; version=9.9.9"} {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["Content-Type"] = []string{ct} // "" is sent as an empty header
			io.WriteString(w, body)
		}))
		t.Cleanup(up.Close)
		_, gw := newTestGateway(t, Options{}, exporterModule(t, "app", up.URL, true))
		for _, path := range []string{"/proxy?module=app", "/metrics"} {
			resp, err := http.Get(gw.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := "app_up 1"
			if path == "/metrics" {
				want = `corral_source_up{exporter="app"} 1`
			}
			if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
				t.Errorf("Content-Type %q, %s: want 200 with %q, have %d %q", ct, path, want, resp.StatusCode, trim(b))
			}
			if have := resp.Header.Get("Content-Type"); path != "/metrics" && have != textContentType {
				t.Errorf("Content-Type %q, %s: want served as %q, have %q", ct, path, textContentType, have)
			}
		}
	}
}

// TestProxySelf: corral's own metrics are reachable on /proxy under
// self_source, even when merge_self = false leaves them out of /metrics; a
// module of that name wins.
func TestProxySelf(t *testing.T) {
	_, gw := newTestGateway(t, Options{MergeSelf: false}, Module{Name: "app", Kind: "file", Merge: true, Verify: true, Source: &fakeSource{body: "app 1\n"}})
	_, shadowed := newTestGateway(t, Options{}, Module{Name: "corral", Kind: "file", Verify: true, Source: &fakeSource{body: "mine 1\n"}})
	for _, tc := range []struct {
		base, path string
		wantStatus int
		want       string
	}{
		{gw.URL, "/proxy?module=corral", 200, "corral_build_info"},
		{gw.URL, "/proxy?module=nope", 404, "corral's own metrics: corral"},
		{gw.URL, "/metrics", 200, `app{exporter="app"} 1`},
		{shadowed.URL, "/proxy?module=corral", 200, "mine 1"},
	} {
		resp, err := http.Get(tc.base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: want %d with %q, have %d %q", tc.path, tc.wantStatus, tc.want, resp.StatusCode, trim(b))
		}
	}
	resp, err := http.Get(gw.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "corral_build_info") {
		t.Error("merge_self = false: corral's own metrics are in /metrics")
	}
}

func TestAcceptsText(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   bool
	}{
		{"text/plain", true},
		{"text/plain;version=0.0.4;q=0.5", true},
		{"text/plain;q=0", false},
		{"text/plain; q=0.0", false},
		{"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0", false},
		{"application/openmetrics-text;version=1.0.0,*/*;q=0", false},
		{"application/openmetrics-text;version=1.0.0,*/*;q=0.1", true},
	} {
		if have := acceptsText(tc.accept); have != tc.want {
			t.Errorf("Accept %q: want %v, have %v", tc.accept, tc.want, have)
		}
	}
}
