package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/source"
	"github.com/corral-metrics/corral/source/exporter"
	"github.com/corral-metrics/corral/source/file"
)

var update = flag.Bool("update", false, "rewrite the .golden files")

func TestDeadline(t *testing.T) {
	for _, tc := range []struct {
		header  string
		timeout time.Duration
		want    time.Duration
	}{
		{"", 10 * time.Second, 10 * time.Second},
		{"", 0, 0},
		{"10", 30 * time.Second, 9500 * time.Millisecond},
		{"10", 5 * time.Second, 5 * time.Second},
		{"1", 10 * time.Second, 900 * time.Millisecond},
		{"2.5", 0, 2250 * time.Millisecond},
		{"120", 0, 119500 * time.Millisecond},
		{"junk", 3 * time.Second, 3 * time.Second},
		{"-1", 3 * time.Second, 3 * time.Second},
		{"0", 3 * time.Second, 3 * time.Second},
		{"NaN", 3 * time.Second, 3 * time.Second},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set(TimeoutHeader, tc.header)
		}
		if have := Deadline(r, tc.timeout); have != tc.want {
			t.Errorf("header %q, timeout %s: want %s, have %s", tc.header, tc.timeout, tc.want, have)
		}
	}
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.prom")
	os.WriteFile(good, []byte("# TYPE app_jobs gauge\napp_jobs 3\n"), 0o644)
	half := filepath.Join(dir, "half.prom")
	os.WriteFile(half, []byte("# TYPE app_jobs gauge\napp_jobs{state=\"ru"), 0o644)
	fifo := filepath.Join(dir, "fifo.prom")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	os.Chtimes(good, mtime, mtime)

	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, BuildInfo{})
	var mods []Module
	for name, path := range map[string]string{"good": good, "half": half, "fifo": fifo, "missing": filepath.Join(dir, "nope.prom"), "dir": dir} {
		mods = append(mods, Module{Name: name, Kind: "file", Verify: true, Source: file.New(file.Config{Path: path}, func(t time.Time) { m.FileMtime(name, t) })})
	}
	_, gw := newTestGateway(t, Options{Registry: reg, Metrics: m}, mods...)
	for _, tc := range []struct {
		module     string
		wantStatus int
		wantBody   string
	}{
		{"good", 200, "app_jobs 3\n"},
		{"half", 502, "invalid exposition"},
		{"fifo", 502, "not a regular file"},
		{"dir", 502, "not a regular file"},
		{"missing", 502, "no such file or directory"},
	} {
		resp, err := http.Get(gw.URL + "/proxy?module=" + tc.module)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
			t.Errorf("%s: want %d %q, have %d %q", tc.module, tc.wantStatus, tc.wantBody, resp.StatusCode, body)
		}
	}
	if have, want := testutil.ToFloat64(m.mtime.WithLabelValues("good")), float64(mtime.Unix()); have != want {
		t.Errorf("corral_file_mtime_seconds{source=good}: want %v, have %v", want, have)
	}
}

// fakeSource answers from a channel, to hold a scrape in flight.
type fakeSource struct {
	body    string
	started chan struct{}
	release chan struct{}
}

func (f *fakeSource) Scrape(ctx context.Context, _ source.Request) (*source.Response, error) {
	if f.started != nil {
		close(f.started)
		<-f.release
	}
	return &source.Response{Body: io.NopCloser(strings.NewReader(f.body))}, nil
}

// TestReloadInFlight: a scrape started before SetModules finishes on the
// old source; the next one sees the new set.
func TestReloadInFlight(t *testing.T) {
	old := &fakeSource{body: "version 1\n", started: make(chan struct{}), release: make(chan struct{})}
	g, gw := newTestGateway(t, Options{}, Module{Name: "app", Kind: "file", Verify: true, Source: old})
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(gw.URL + "/proxy?module=app")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{body: string(b)}
	}()
	select {
	case <-old.started:
	case <-time.After(20 * time.Second):
		t.Fatal("the scrape never started")
	}
	g.SetModules([]Module{{Name: "app2", Kind: "file", Verify: true, Source: &fakeSource{body: "version 2\n"}}})
	close(old.release)
	r := <-done
	if r.err != nil || r.body != "version 1\n" {
		t.Errorf("in-flight scrape: want %q, have %q (%v)", "version 1\n", r.body, r.err)
	}
	// The scrape that ended after app left brings back none of its state.
	if have := testutil.CollectAndCount(g.opts.Metrics.duration); have != 0 {
		t.Errorf("corral_scrape_duration_seconds series after app left: want 0, have %d", have)
	}
	for _, s := range g.Landing().Sources {
		if s.Name == "app" {
			t.Errorf("landing page after app left: want no app, have %+v", s)
		}
	}
	g.mu.Lock()
	_, kept := g.last["app"]
	g.mu.Unlock()
	if kept {
		t.Error("last-scrape state of app kept after it left")
	}
	for _, tc := range []struct {
		module     string
		wantStatus int
	}{{"app", 404}, {"app2", 200}} {
		resp, err := http.Get(gw.URL + "/proxy?module=" + tc.module)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("after reload, %s: want %d, have %d", tc.module, tc.wantStatus, resp.StatusCode)
		}
	}
}

func landingFixture(t *testing.T) (*Gateway, string) {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("hunter2"), 0o600)
	exp := exporterModule(t, "node", "http://prom:hunter2@127.0.0.1:9100/metrics?token=hunter2", true, func(c *exporter.Config) {
		c.Headers = map[string]string{"X-Api-Key": "hunter2"}
		c.BasicAuth = exporter.BasicAuth{Username: "prom", PasswordFile: pw}
		c.Process = "node"
	})
	exp.Process = "node"
	exp.Labels = map[string]string{"role": "host"}
	started := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	g, _ := newTestGateway(t, Options{
		Version: "1.2.3",
		Processes: func() []ProcessStatus {
			return []ProcessStatus{{Name: "node", State: "running", PID: 42, Restarts: 1, Started: started, LastExitCode: ptr(137), Check: "http", Ready: true}}
		},
	}, exp, Module{Name: "textfile", Kind: "file", Merge: true, Verify: true, Source: file.New(file.Config{Path: "/var/lib/app/metrics.prom"}, nil)})
	return g, "hunter2"
}

func TestLandingJSON(t *testing.T) {
	g, secret := landingFixture(t)
	srv := newServer(t, g)
	req, _ := http.NewRequest("GET", srv+"/", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	have, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: want application/json, have %q", ct)
	}
	golden := "testdata/landing.golden.json"
	if *update {
		os.WriteFile(golden, have, 0o644)
	}
	want := readTestdata(t, "landing.golden.json")
	if string(have) != string(want) {
		t.Errorf("landing JSON differs from %s (run go test -update):\nwant:\n%s\nhave:\n%s", golden, want, have)
	}
	if strings.Contains(string(have), secret) {
		t.Errorf("a secret shows in the landing JSON:\n%s", have)
	}
	var l Landing
	if err := json.Unmarshal(have, &l); err != nil {
		t.Fatal(err)
	}
}

func TestLandingHTML(t *testing.T) {
	g, secret := landingFixture(t)
	srv := newServer(t, g)
	// One scrape, failed, so the last-scrape columns are filled.
	if resp, err := http.Get(srv + "/proxy?module=textfile"); err == nil {
		resp.Body.Close()
	}
	resp, err := http.Get(srv + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type: want text/html, have %q", ct)
	}
	for _, want := range []string{`<a href="proxy?module=node">node</a>`, `<a href="metrics">`, "http://127.0.0.1:9100/metrics", "running", "no such file or directory"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("want %q in the landing page:\n%s", want, body)
		}
	}
	if strings.Contains(string(body), secret) {
		t.Errorf("a secret shows in the landing page:\n%s", body)
	}
}

func newServer(t *testing.T, g *Gateway) string {
	t.Helper()
	_, srv := newTestGatewayFor(t, g)
	return srv
}

func newTestGatewayFor(t *testing.T, g *Gateway) (*Gateway, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return g, "http://" + l.Addr().String()
}

func TestEndpoints(t *testing.T) {
	ready := false
	reloads := 0
	tok := "t0ken"
	g := New(Options{
		Ready:  func() bool { return ready },
		Reload: func() error { reloads++; return nil },
	})
	_, plain := newTestGatewayFor(t, g)
	guarded := New(Options{BearerToken: tok, AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	_, withToken := newTestGatewayFor(t, guarded)
	denied := New(Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	_, deniedURL := newTestGatewayFor(t, denied)

	for _, tc := range []struct {
		name, method, url, token string
		before                   func()
		wantStatus               int
		wantType                 string
	}{
		{"healthy", "GET", plain + "/-/healthy", "", nil, 200, "text/plain"},
		{"not ready", "GET", plain + "/-/ready", "", nil, 503, "text/plain"},
		{"ready", "GET", plain + "/-/ready", "", func() { ready = true }, 200, "text/plain"},
		{"reload GET", "GET", plain + "/-/reload", "", nil, 405, ""},
		{"reload POST", "POST", plain + "/-/reload", "", nil, 200, "text/plain"},
		{"own metrics", "GET", plain + "/metrics", "", nil, 200, "text/plain; version=0.0.4"},
		{"unknown path", "GET", plain + "/nope", "", nil, 404, ""},
		{"token missing", "GET", withToken + "/metrics", "", nil, 401, ""},
		{"token wrong", "GET", withToken + "/metrics", "nope", nil, 401, ""},
		{"token right", "GET", withToken + "/metrics", tok, nil, 200, "text/plain"},
		{"healthy needs no token", "GET", withToken + "/-/healthy", "", nil, 200, "text/plain"},
		{"network denied", "GET", deniedURL + "/metrics", "", nil, 403, ""},
		{"healthy needs no allowed network", "GET", deniedURL + "/-/healthy", "", nil, 200, "text/plain"},
		{"shutting down", "GET", plain + "/-/ready", "", func() { g.Stopping() }, 503, "text/plain"},
	} {
		if tc.before != nil {
			tc.before()
		}
		req, _ := http.NewRequest(tc.method, tc.url, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) {
			t.Errorf("%s: want %d %q, have %d %q", tc.name, tc.wantStatus, tc.wantType, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if reloads != 1 {
		t.Errorf("reloads: want 1, have %d", reloads)
	}
}

// TestSlowHeader: a client that dribbles its request header is cut off by
// the server's ReadHeaderTimeout, and the server keeps serving others.
func TestSlowHeader(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	g := New(Options{})
	s := NewServer(g, ServerOptions{ListenAddresses: []string{addr}, ReadHeaderTimeout: 500 * time.Millisecond})
	errc := make(chan error, 1)
	go func() { errc <- s.Run() }()
	defer func() {
		s.Stop()
		s.Stop() // twice is safe
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var conn net.Conn
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err = net.Dial("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.Write([]byte("GET /-/healthy HTTP/1.1\r\nHost: x\r\n"))
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	// The server gives up on the header: it closes the connection (possibly after a 408).
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("slow header: want 408 or a closed connection, have %d", resp.StatusCode)
		}
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("slow header held the connection %s", d)
	}
	resp, err = http.Get("http://" + addr + "/-/healthy")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after a slow client: want 200, have %d", resp.StatusCode)
	}
}

// TestMergeCountersForgotten: the merge's counters of a source that left the
// configuration go with it.
func TestMergeCountersForgotten(t *testing.T) {
	g, _ := newTestGateway(t, Options{}, Module{Name: "a", Merge: true, Source: &fakeSource{}}, Module{Name: "b", Merge: true, Source: &fakeSource{}})
	g.merge.init(g)
	g.merge.conflicts.WithLabelValues("a", "x").Inc()
	g.merge.conflicts.WithLabelValues("b", "x").Inc()
	g.merge.dups.WithLabelValues("a").Inc()
	g.SetModules([]Module{{Name: "b", Merge: true, Source: &fakeSource{}}})
	for _, tc := range []struct {
		what string
		c    prometheus.Collector
		want int
	}{{"corral_merge_conflicts_total", g.merge.conflicts, 1}, {"corral_merge_duplicate_series_total", g.merge.dups, 0}} {
		if have := testutil.CollectAndCount(tc.c); have != tc.want {
			t.Errorf("%s series after a left: want %d, have %d", tc.what, tc.want, have)
		}
	}
}
