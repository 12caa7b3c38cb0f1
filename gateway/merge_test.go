package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corral-metrics/corral/exposition"
	"github.com/corral-metrics/corral/internal/testkit"
	"github.com/corral-metrics/corral/source"
)

// mergeUpstream serves a fixture of testdata/merge, or misbehaves.
func mergeUpstream(t testing.TB, kind string) string {
	t.Helper()
	var h http.HandlerFunc
	switch kind {
	case "garbage":
		h = func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			io.WriteString(w, "<html>Internal error</html>\n")
		}
	case "500":
		h = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "broken", http.StatusInternalServerError) }
	case "hang":
		h = func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	case "churn gauge", "churn counter":
		// A family renamed on every scrape (a textfile written under a
		// new name each time), of the type the kind names.
		var n atomic.Int64
		h = func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			i := n.Add(1)
			fmt.Fprintf(w, "# TYPE churn_%d %s\nchurn_%d 1\n", i, strings.TrimPrefix(kind, "churn "), i)
		}
	case "huge":
		h = func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			line := []byte("huge_metric 1\n")
			for range 1 << 16 {
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		}
	default:
		body, err := os.ReadFile("testdata/merge/" + kind)
		if err != nil {
			t.Fatal(err)
		}
		h = func(w http.ResponseWriter, r *http.Request) {
			ct := "text/plain; version=0.0.4; charset=utf-8"
			if strings.HasSuffix(kind, ".pb") {
				ct = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
			}
			w.Header().Set("Content-Type", ct)
			w.Write(body)
		}
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

func mergeGateway(t testing.TB, opts Options, mods ...Module) (*Gateway, string) {
	t.Helper()
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		opts.Metrics = NewMetrics(opts.Registry, BuildInfo{Version: "test", Revision: "abc"})
	}
	g := New(opts)
	g.SetModules(mods)
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return g, srv.URL + "/metrics"
}

func mergedScrape(t testing.TB, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept-Encoding", "identity")
	if header.Get("Accept-Encoding") != "" {
		req.Header.Set("Accept-Encoding", header.Get("Accept-Encoding"))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func withLabels(m Module, kv ...string) Module {
	m.Labels = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Labels[kv[i]] = kv[i+1]
	}
	return m
}

// parseText parses a merged text body strictly.
func parseText(t testing.TB, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("merged output does not parse: %v\n%s", err, body)
	}
	return fams
}

// gaugeBy reads a synthetic family's value per source.
func gaugeBy(mf *dto.MetricFamily, label string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// TestServeMerged: good, failing, garbage, oversized and hanging sources in
// one scrape. The answer is 200 within the deadline, valid, with every up.
func TestServeMerged(t *testing.T) {
	mods := []Module{
		withLabels(exporterModule(t, "node", mergeUpstream(t, "node.prom"), true), "role", "host"),
		exporterModule(t, "rpc", mergeUpstream(t, "summary.prom"), true),
		exporterModule(t, "garbage", mergeUpstream(t, "garbage"), true),
		exporterModule(t, "broken", mergeUpstream(t, "500"), true),
		exporterModule(t, "hangs", mergeUpstream(t, "hang"), true),
		exporterModule(t, "huge", mergeUpstream(t, "huge"), true),
		{Name: "not-merged", Kind: "exporter", Merge: false, Source: &fakeSource{body: "nope 1\n"}},
	}
	_, url := mergeGateway(t, Options{MergeLabel: "exporter", SelfSource: "corral", MergeSelf: true, MaxBodyBytes: 64 << 10, ScrapeTimeout: 30 * time.Second}, mods...)
	start := time.Now()
	resp, body := mergedScrape(t, url, http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"2"}})
	took := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("status: want 200, have %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type: want text 0.0.4, have %q", ct)
	}
	if took > 10*time.Second {
		t.Errorf("took %v: the hanging source was not cut off at the deadline", took)
	}
	fams := parseText(t, body)
	up := gaugeBy(fams["corral_source_up"], "exporter")
	want := map[string]float64{"node": 1, "rpc": 1, "corral": 1, "garbage": 0, "broken": 0, "hangs": 0, "huge": 0}
	for name, v := range want {
		if have, ok := up[name]; !ok || have != v {
			t.Errorf("corral_source_up{exporter=%q}: want %v, have %v (present %v)", name, v, have, ok)
		}
	}
	if _, ok := up["not-merged"]; ok || bytes.Contains(body, []byte("nope")) {
		t.Error("a source with merge = false is in the merge")
	}
	if n := bytes.Count(body, []byte("# TYPE go_goroutines ")); n != 1 {
		t.Errorf("TYPE go_goroutines: want once, have %d", n)
	}
	if !bytes.Contains(body, []byte(`node_boot_time_seconds{exporter="node",role="host"}`)) {
		t.Error("node's series lack their injected labels")
	}
	if !bytes.Contains(body, []byte(`go_goroutines{exporter="corral"}`)) {
		t.Error("corral's own metrics are not merged as source corral")
	}
	samples := gaugeBy(fams["corral_source_samples"], "exporter")
	if samples["node"] < 500 || samples["garbage"] != 0 {
		t.Errorf("corral_source_samples: %v", samples)
	}
}

func TestServeMergedAllDown(t *testing.T) {
	_, url := mergeGateway(t, Options{MergeLabel: "src", MergeSelf: false},
		exporterModule(t, "a", mergeUpstream(t, "500"), true),
		exporterModule(t, "b", mergeUpstream(t, "garbage"), true))
	resp, body := mergedScrape(t, url, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status: want 200, have %d", resp.StatusCode)
	}
	fams := parseText(t, body)
	up := gaugeBy(fams["corral_source_up"], "src")
	if len(up) != 2 || up["a"] != 0 || up["b"] != 0 {
		t.Errorf("corral_source_up: want a and b at 0, have %v", up)
	}
	if len(fams) != 3 {
		t.Errorf("families: want the 3 synthetic ones, have %d", len(fams))
	}
}

// blockingSource ignores its context: the merge must not wait for it.
type blockingSource struct{ release chan struct{} }

func (b blockingSource) Scrape(context.Context, source.Request) (*source.Response, error) {
	<-b.release
	return nil, io.ErrUnexpectedEOF
}

func TestServeMergedCutsOffSourceIgnoringDeadline(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	_, url := mergeGateway(t, Options{MergeSelf: false, ScrapeTimeout: 300 * time.Millisecond},
		Module{Name: "stuck", Merge: true, Source: blockingSource{release}},
		exporterModule(t, "rpc", mergeUpstream(t, "summary.prom"), true))
	start := time.Now()
	resp, body := mergedScrape(t, url, nil)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
	up := gaugeBy(parseText(t, body)["corral_source_up"], "exporter")
	if resp.StatusCode != 200 || up["stuck"] != 0 || up["rpc"] != 1 {
		t.Errorf("want 200 with stuck down and rpc up, have %d %v", resp.StatusCode, up)
	}
}

// TestServeMergedNegotiation: the output format follows Accept, the
// Content-Type says which, gzip when accepted.
func TestServeMergedNegotiation(t *testing.T) {
	_, url := mergeGateway(t, Options{MergeSelf: true},
		exporterModule(t, "native", mergeUpstream(t, "native.pb"), true),
		exporterModule(t, "rpc", mergeUpstream(t, "summary.prom"), true))
	prometheus2 := "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
	protoAccept := "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3"
	for _, tc := range []struct {
		name, accept, encoding, wantType, wantEncoding string
	}{
		{"none", "", "", "text/plain; version=0.0.4", ""},
		{"prometheus default", prometheus2, "", "text/plain; version=0.0.4", ""},
		{"protobuf", protoAccept, "", "application/vnd.google.protobuf", ""},
		{"openmetrics only", "application/openmetrics-text;version=1.0.0", "", "application/openmetrics-text; version=1.0.0", ""},
		{"gzip", "", "gzip", "text/plain; version=0.0.4", "gzip"},
		{"gzip refused", "", "gzip;q=0", "text/plain; version=0.0.4", ""},
	} {
		h := http.Header{}
		if tc.accept != "" {
			h.Set("Accept", tc.accept)
		}
		if tc.encoding != "" {
			h.Set("Accept-Encoding", tc.encoding)
		}
		resp, body := mergedScrape(t, url, h)
		ct, enc := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding")
		if resp.StatusCode != 200 || !strings.HasPrefix(ct, tc.wantType) || enc != tc.wantEncoding {
			t.Errorf("%s: want 200 %q %q, have %d %q %q", tc.name, tc.wantType, tc.wantEncoding, resp.StatusCode, ct, enc)
			continue
		}
		if enc == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if strings.HasPrefix(ct, "application/openmetrics-text") {
			if err := exposition.Validate(ct, body); err != nil {
				t.Errorf("%s: invalid OpenMetrics: %v", tc.name, err)
			}
			continue
		}
		dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.Format(ct))
		var names []string
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				if err != io.EOF {
					t.Errorf("%s: decode: %v", tc.name, err)
				}
				break
			}
			names = append(names, mf.GetName())
			if mf.GetName() == "native_latency_seconds" && strings.Contains(ct, "protobuf") && mf.GetMetric()[0].GetHistogram().GetSchema() == 0 && len(mf.GetMetric()[0].GetHistogram().GetPositiveSpan()) == 0 {
				t.Errorf("%s: native histogram lost", tc.name)
			}
		}
		if len(names) < 5 {
			t.Errorf("%s: families %v", tc.name, names)
		}
	}
}

// TestServeMergedConflicts: a conflicting family is counted on the
// gateway's registry, once per scrape, under the merge label.
func TestServeMergedConflicts(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, url := mergeGateway(t, Options{Registry: reg, MergeLabel: "job_source", MergeSelf: false},
		exporterModule(t, "a", mergeUpstream(t, "conflict_a.prom"), true),
		exporterModule(t, "b", mergeUpstream(t, "conflict_b.prom"), true))
	for range 2 {
		_, body := mergedScrape(t, url, nil)
		parseText(t, body)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var have string
	for _, mf := range mfs {
		if mf.GetName() == "corral_merge_conflicts_total" {
			for _, m := range mf.GetMetric() {
				have += m.String() // labels and value
				if m.GetCounter().GetValue() != 2 {
					t.Errorf("conflicts: want 2 after two scrapes, have %v", m.GetCounter().GetValue())
				}
			}
		}
	}
	if !strings.Contains(have, `"job_source"`) || !strings.Contains(have, `"shared_metric"`) || !strings.Contains(have, `"b"`) {
		t.Errorf("corral_merge_conflicts_total: want {job_source=b,family=shared_metric}, have %s", have)
	}
}

// TestMergeConflictFamiliesBounded: a source whose family in conflict is
// renamed on every scrape has at most maxConflictFamilies series of
// corral_merge_conflicts_total and one of family="(other)", which counts
// the rest: no conflict goes uncounted. A source that leaves the
// configuration loses them, and added again starts afresh.
func TestMergeConflictFamiliesBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := exporterModule(t, "a", mergeUpstream(t, "churn gauge"), true)
	b := exporterModule(t, "b", mergeUpstream(t, "churn counter"), true)
	g, url := mergeGateway(t, Options{Registry: reg, MergeSelf: false}, a, b)
	conflicts := func() map[string]float64 { // family: count, of source b
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() != "corral_merge_conflicts_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["exporter"] != "b" {
					t.Errorf("a conflict counted for %v", labels)
				}
				have[labels["family"]] = m.GetCounter().GetValue()
			}
		}
		return have
	}
	const scrapes = 30
	for range scrapes {
		mergedScrape(t, url, nil)
	}
	have := conflicts()
	total := 0.0
	for _, v := range have {
		total += v
	}
	if len(have) != maxConflictFamilies+1 || have["churn_1"] != 1 || have["(other)"] != scrapes-maxConflictFamilies || total != scrapes {
		t.Errorf("after %d scrapes: want %d families with 1 each and (other) %d, have %v", scrapes, maxConflictFamilies, scrapes-maxConflictFamilies, have)
	}

	g.SetModules([]Module{a})
	if have := conflicts(); len(have) != 0 {
		t.Errorf("b removed: want no series, have %v", have)
	}
	g.SetModules([]Module{a, b})
	mergedScrape(t, url, nil)
	if have := conflicts(); len(have) != 1 || have["(other)"] != 0 {
		t.Errorf("b added again: want one family of its own, have %v", have)
	}
}

// TestServeMergedNothing is /metrics with nothing to merge: no modules, with
// and without the self source, and with no registry at all (a bare
// New(Options{}) whose registry is gone): 200 and a valid, possibly empty,
// exposition, never a panic.
func TestServeMergedNothing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		self     bool
		registry bool
		want     []string // families
	}{
		{"no modules", false, true, nil},
		{"only self", true, true, []string{"corral_source_samples", "corral_source_scrape_duration_seconds", "corral_source_up"}},
		{"self without registry", true, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(Options{MergeSelf: tc.self})
			if !tc.registry {
				g.opts.Registry = nil
			}
			srv := httptest.NewServer(g.Handler())
			defer srv.Close()
			resp, body := mergedScrape(t, srv.URL+"/metrics", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status: want 200, have %d: %s", resp.StatusCode, body)
			}
			fams := parseText(t, body)
			var have []string
			for name := range fams {
				if exposition.Synthetic(name) {
					have = append(have, name)
				}
			}
			slices.Sort(have)
			if !slices.Equal(have, tc.want) {
				t.Errorf("synthetic families: want %v, have %v\n%s", tc.want, have, body)
			}
		})
	}
}

// TestServeMergedClientGone: a client that gives up on /metrics while a
// source is slow is not the source's fault: nothing is logged at warn and
// the landing page does not show the source down.
func TestServeMergedClientGone(t *testing.T) {
	var logs testkit.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	g, url := mergeGateway(t, Options{Logger: logger, MergeSelf: false},
		exporterModule(t, "slow", slow.URL, true),
		exporterModule(t, "good", mergeUpstream(t, "node.prom"), true))
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("want the client's own timeout, have status %d", resp.StatusCode)
		}
		cancel()
	}
	// The gateway sees the connection close a moment later.
	deadline := time.Now().Add(2 * time.Second)
	for {
		g.mu.Lock()
		st, scraped := g.last["slow"]
		g.mu.Unlock()
		if scraped && st.Err != "" {
			t.Fatalf("slow: want no error on the landing page, have %q", st.Err)
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if have := logs.String(); strings.Contains(have, "level=WARN") {
		t.Errorf("want no warning for a client that went away, have:\n%s", have)
	}
}

// TestMergeAccountLogInterval: a source's going down and back up is logged
// once per change, at most once per sourceLogInterval, and the last state
// is caught up with after the interval.
func TestMergeAccountLogInterval(t *testing.T) {
	var logs testkit.Buffer
	g := New(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	st := &g.merge
	st.init(g)
	down := exposition.Report{Sources: []exposition.SourceReport{{Name: "a", Err: errors.New("no answer within the scrape deadline")}}}
	up := exposition.Report{Sources: []exposition.SourceReport{{Name: "a"}}}
	t0 := time.Unix(1000, 0)
	for _, step := range []struct {
		at   time.Duration
		rep  exposition.Report
		want string // the log line's message, or "" for none
	}{
		{0, up, ""},
		{time.Second, down, "source left out"},
		{2 * time.Second, down, ""},
		{3 * time.Second, up, ""}, // flapping: within the interval
		{4 * time.Second, down, ""},
		{5 * time.Second, up, ""},
		{12 * time.Second, up, "source back in"}, // caught up
		{13 * time.Second, up, ""},
		{14 * time.Second, down, ""},
		{15 * time.Second, up, ""}, // back to what was logged: nothing to say
		{30 * time.Second, up, ""},
		{31 * time.Second, down, "source left out"},
	} {
		before := len(logs.String())
		st.account(g.logger, step.rep, "text", t0.Add(step.at), func(string) bool { return true })
		have := logs.String()[before:]
		if step.want == "" && have != "" || step.want != "" && (!strings.Contains(have, step.want) || strings.Count(have, "\n") != 1) {
			t.Errorf("at %v: want %q, have %q", step.at, step.want, have)
		}
	}
}

// TestMergeAccountFamilyBack: a family left out is logged back only by a
// scrape in the same format (a conflict may be one format's only) whose
// report has its source up and the conflict gone: a source down reports
// no conflicts, and its families are not back for that.
func TestMergeAccountFamilyBack(t *testing.T) {
	var logs testkit.Buffer
	g := New(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	st := &g.merge
	st.init(g)
	conflict := exposition.Report{Sources: []exposition.SourceReport{{Name: "a"}},
		Conflicts: []exposition.Conflict{{Source: "a", Family: "h", Reason: "count 0.5 is not a whole number: OpenMetrics 1.0 has no float histograms"}}}
	clean := exposition.Report{Sources: []exposition.SourceReport{{Name: "a"}}}
	down := exposition.Report{Sources: []exposition.SourceReport{{Name: "a", Err: errors.New("refused")}}}
	t0 := time.Unix(1000, 0)
	for i, step := range []struct {
		format string
		rep    exposition.Report
		want   string // the family log line's message, or "" for none
	}{
		{"openmetrics", conflict, "family left out"},
		{"text", clean, ""}, // the text output carries it: not back in OpenMetrics
		{"openmetrics", conflict, ""},
		{"openmetrics", down, ""}, // its source down: not back
		{"openmetrics", clean, "family back in"},
		{"openmetrics", clean, ""},
	} {
		before := len(logs.String())
		// One step a minute: the source's own up and down logs are not
		// held back by sourceLogInterval.
		st.account(g.logger, step.rep, step.format, t0.Add(time.Duration(i)*time.Minute), func(string) bool { return true })
		var have []string
		for _, line := range strings.Split(logs.String()[before:], "\n") {
			if strings.Contains(line, "family") {
				have = append(have, line)
			}
		}
		if step.want == "" && len(have) > 0 || step.want != "" && (len(have) != 1 || !strings.Contains(have[0], step.want)) {
			t.Errorf("step %d (%s): want %q, have %q", i, step.format, step.want, have)
		}
	}
}

// TestBodyBuffers: a source gets its own buffer back, however the small
// ones are shared; one much larger than the source's body (it shrank) or
// past maxSpareBuffer is let go; sources that left the module set lose
// theirs.
func TestBodyBuffers(t *testing.T) {
	g := New(Options{})
	g.SetModules([]Module{{Name: "big"}, {Name: "small"}})
	fill := func(b *bytes.Buffer, n int) *bytes.Buffer { b.Write(make([]byte, n)); return b }

	big := fill(g.getBuffer("big"), 8<<20)
	small := fill(g.getBuffer("small"), 1000)
	g.putBuffer("small", small)
	g.putBuffer("big", big)
	if have := g.getBuffer("big"); have != big || have.Len() != 0 {
		t.Errorf("big: want its own buffer back, empty; have another (cap %d, len %d)", have.Cap(), have.Len())
	}
	if have := g.getBuffer("small"); have != small {
		t.Errorf("small: want its own buffer back, have another (cap %d)", have.Cap())
	}

	// big now sends 1 KB: its 8 MiB buffer is not kept for it.
	big.Write(make([]byte, 1000))
	g.putBuffer("big", big)
	if have := g.getBuffer("big"); have == big {
		t.Errorf("big after shrinking: want its 8 MiB buffer let go, have it back")
	}

	// At most spareBuffers per source.
	var bufs []*bytes.Buffer
	for range spareBuffers + 2 {
		bufs = append(bufs, fill(g.getBuffer("small"), 1000))
	}
	for _, b := range bufs {
		g.putBuffer("small", b)
	}
	if have := len(g.bufs.spare["small"]); have != spareBuffers {
		t.Errorf("small: want %d spare buffers, have %d", spareBuffers, have)
	}

	// Sources gone from the module set are swept when another comes.
	g.putBuffer("gone", fill(new(bytes.Buffer), 1000))
	g.SetModules([]Module{{Name: "small"}})
	g.putBuffer("new", fill(new(bytes.Buffer), 1000))
	if _, found := g.bufs.spare["gone"]; found {
		t.Errorf("gone: want its buffers dropped once it left the module set")
	}
}

// TestBufferRoom: a body buffer is made room for the largest of its
// source's last bodies (a source asked for text and protobuf sends both
// sizes), and is never doubled to make it: a spare buffer a little too
// small is made anew at that size, and the body read into it fits.
func TestBufferRoom(t *testing.T) {
	g := New(Options{MaxBodyBytes: 64 << 20})
	g.SetModules([]Module{{Name: "big"}})
	const text, proto = 8 << 20, 7 << 20
	g.record("big", time.Now(), text, nil)
	g.record("big", time.Now(), proto, nil) // the smaller format last
	buf := bytes.NewBuffer(make([]byte, 0, proto+proto/8))
	g.sizeBuffer("big", buf)
	room := buf.Cap()
	if room < text+text/16 || room > text+text/4 {
		t.Fatalf("want room for the largest body, %d bytes, and a little more (not doubled); have %d", text, room)
	}
	if _, err := buf.ReadFrom(bytes.NewReader(make([]byte, text))); err != nil || buf.Cap() != room {
		t.Errorf("reading the larger body: want it in the room made (%d), have cap %d (%v)", room, buf.Cap(), err)
	}
	// A source that shrank is made room for less, slowly.
	for range 100 {
		g.record("big", time.Now(), 1<<20, nil)
	}
	small := new(bytes.Buffer)
	g.sizeBuffer("big", small)
	if have := small.Cap(); have > 2<<20 {
		t.Errorf("after 100 bodies of 1 MiB: want room for about 1 MiB, have %d", have)
	}
}

// TestScanStates: a source keeps one exposition.Source, its own, and
// sources that left the module set lose theirs.
func TestScanStates(t *testing.T) {
	g := New(Options{})
	g.SetModules([]Module{{Name: "big"}, {Name: "small"}})
	big, small := g.scanState("big"), g.scanState("small")
	if big == small {
		t.Fatalf("want a scan state per source, have one for both")
	}
	if have := g.scanState("big"); have != big {
		t.Errorf("big: want its own scan state back, have another")
	}
	if have := g.scanState("small"); have != small {
		t.Errorf("small: want its own scan state back, have another")
	}
	g.scanState("gone")
	g.SetModules([]Module{{Name: "small"}})
	g.scanState("new")
	if _, found := g.bufs.sources["gone"]; found {
		t.Errorf("gone: want its scan state dropped once it left the module set")
	}
}

// TestServeMergedScrapeAfterScrape: the gateway keeps each source's scanner,
// and its memo of the last body, from one merged scrape to the next. Scrape
// after scrape, as the sources' values, series and types change, /metrics
// is what merging the same bodies from scratch gives (durations aside).
func TestServeMergedScrapeAfterScrape(t *testing.T) {
	node := readTestdata(t, "merge/node.prom")
	moved := scrapes(node, 3)
	versions := [][]byte{
		node, node, moved[1], moved[2], // the same series, new values
		append(bytes.Clone(moved[1]), "# TYPE extra gauge\nextra{n=\"1\"} 1\n"...),                   // a family added
		append(bytes.Clone(moved[2]), "# TYPE extra gauge\nextra{n=\"1\"} 2\nextra{n=\"2\"} 3\n"...), // a series added
		bytes.Replace(moved[2], []byte("# TYPE go_goroutines gauge"), []byte("# TYPE go_goroutines counter"), 1),
		append(bytes.Clone(moved[1]), "go_threads 1\n"...), // a duplicate series
		node[:len(node)/2], // truncated: down
		node,
	}
	var at atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textContentType)
		w.Write(versions[at.Load()])
	}))
	defer up.Close()
	summary := readTestdata(t, "merge/summary.prom")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textContentType)
		w.Write(summary)
	}))
	defer other.Close()
	_, url := mergeGateway(t, Options{MergeSelf: false}, exporterModule(t, "node", up.URL, true), exporterModule(t, "app", other.URL, true))
	durations := regexp.MustCompile(`(?m)^corral_source_scrape_duration_seconds\{.*\n`)
	for i := range versions {
		at.Store(int64(i))
		_, have := mergedScrape(t, url, nil)
		var want bytes.Buffer
		ins := []exposition.Input{
			{Name: "app", ContentType: textContentType, Body: summary},
			{Name: "node", ContentType: textContentType, Body: versions[i]},
		}
		if _, err := exposition.Merge(&want, exposition.Options{Label: "exporter", Format: expfmt.FmtText}, ins); err != nil {
			t.Fatal(err)
		}
		if h, w := durations.ReplaceAll(have, nil), durations.ReplaceAll(want.Bytes(), nil); !bytes.Equal(h, w) {
			t.Fatalf("scrape %d: want the merge from scratch\n%.2000s\nhave\n%.2000s", i, w, h)
		}
	}
}
