package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/scripts"
	"github.com/corral-metrics/corral/source/exporter"
	"github.com/corral-metrics/corral/source/file"
	"github.com/corral-metrics/corral/supervisor/proc"
)

// hostileMaxBody is max_body_bytes in the hostile tests: small, so that an
// endless or huge source hits it fast.
const hostileMaxBody = 4 << 20

// appliance is a real corral gateway on a real port with real sources: a
// good exporter, an endless one, one with invalid UTF-8 labels, two
// textfiles and a script with a parameter.
type appliance struct {
	base     string
	textfile string // the [file] source "text"
	runs     string // the script appends one line per run here
	good     *httptest.Server
}

func startAppliance(t *testing.T) *appliance {
	t.Helper()
	dir := t.TempDir()
	a := &appliance{textfile: filepath.Join(dir, "app.prom"), runs: filepath.Join(dir, "runs")}
	node, err := os.ReadFile("testdata/node_exporter.prom")
	if err != nil {
		t.Fatal(err)
	}
	a.good = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(node)
	}))
	t.Cleanup(a.good.Close)
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		line := []byte(strings.Repeat("# a comment that never ends the body, sent in chunks forever\n", 1000))
		rc := http.NewResponseController(w)
		for r.Context().Err() == nil {
			if _, err := w.Write(line); err != nil {
				return
			}
			rc.Flush()
		}
	}))
	t.Cleanup(endless.Close)
	badUTF8 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		io.WriteString(w, "# TYPE app_info gauge\napp_info{name=\"caf\xc3\x28\xff\xfe\"} 1\n")
	}))
	t.Cleanup(badUTF8.Close)

	if err := os.WriteFile(a.textfile, []byte("# TYPE app_jobs gauge\napp_jobs 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.prom")
	if err := os.WriteFile(big, []byte("app_big 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(dir, "probe.sh")
	script := fmt.Sprintf("#!/bin/sh\necho run >> %s\necho \"# TYPE probe_ok gauge\"\necho \"probe_ok 1\"\n", a.runs)
	if err := os.WriteFile(probe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	reaper := proc.NewReaper(slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	reaped := make(chan struct{})
	go func() { reaper.Run(); close(reaped) }()
	t.Cleanup(func() { reaper.Stop(); <-reaped })

	reg := prometheus.NewRegistry()
	metrics := gateway.NewMetrics(reg, gateway.BuildInfo{})
	g := gateway.New(gateway.Options{Registry: reg, Metrics: metrics, MaxBodyBytes: hostileMaxBody, ScrapeTimeout: 30 * time.Second})
	exporterModule := func(name, url string) gateway.Module {
		src, err := exporter.New(exporter.Config{URL: url, Timeout: duration.Of(30 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		return gateway.Module{Name: name, Kind: "exporter", Merge: true, Verify: true, Source: src}
	}
	scriptCfg := scripts.Config{Command: []string{probe}, Params: []string{"host"}, MaxConcurrent: 4, Timeout: duration.Of(5 * time.Second)}
	scriptCfg.Defaults()
	g.SetModules([]gateway.Module{
		exporterModule("good", a.good.URL),
		exporterModule("endless", endless.URL),
		exporterModule("utf8", badUTF8.URL),
		{Name: "text", Kind: "file", Merge: true, Verify: true, Source: file.New(file.Config{Path: a.textfile}, func(t time.Time) { metrics.FileMtime("text", t) })},
		{Name: "big", Kind: "file", Merge: true, Verify: true, Source: file.New(file.Config{Path: big}, func(t time.Time) { metrics.FileMtime("big", t) })},
		{Name: "probe", Kind: "script", Merge: true, Verify: true, Source: scripts.New("probe", scriptCfg, scripts.Deps{
			Reaper: reaper, Metrics: scripts.NewMetrics(reg), Limiter: scripts.NewLimiter(8), MaxOutputBytes: hostileMaxBody,
		})},
	})
	if err := os.Truncate(big, 2<<30); err != nil { // 2 GiB, sparse
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.NewServer(g, gateway.ServerOptions{ReadHeaderTimeout: time.Second, ShutdownTimeout: 5 * time.Second})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	a.base = "http://" + l.Addr().String()
	return a
}

// get fetches path with extra headers, reading the whole body.
func (a *appliance) get(t *testing.T, path string, header map[string]string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// healthy fails t unless corral answers /-/healthy and still serves a good
// source, alone and merged.
func (a *appliance) healthy(t *testing.T, after string) {
	t.Helper()
	for _, tc := range []struct{ path, want string }{
		{"/-/healthy", "healthy"},
		{"/proxy?module=good", "node_load1"},
		{"/proxy?module=text", "app_jobs 3"},
		{"/metrics", `corral_source_up{exporter="good"} 1`},
	} {
		status, body, err := a.get(t, tc.path, nil)
		if err != nil || status != 200 || !strings.Contains(body, tc.want) {
			t.Errorf("after %s: %s: want 200 with %q, have %d %.200q %v", after, tc.path, tc.want, status, body, err)
		}
	}
}

// rawRequest writes req to a fresh connection while reading the answer,
// and returns the status line (empty when the server closed without one)
// and how long the server took to answer or close.
func rawRequest(t *testing.T, base string, write func(net.Conn)) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	go write(conn)
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), time.Since(start)
}

func TestHostileInput(t *testing.T) {
	a := startAppliance(t)
	a.healthy(t, "start")

	accept1000 := make([]string, 1000)
	for i := range accept1000 {
		accept1000[i] = fmt.Sprintf("application/x-%d;q=0.%03d", i, i%1000)
	}
	accept1000[999] = "text/plain;version=0.0.4;q=0.5"

	for _, tc := range []struct {
		name       string
		before     func(t *testing.T)
		path       string
		header     map[string]string
		raw        func(net.Conn) // instead of path: a raw request
		wantStatus int            // 0: the server closes without an answer
		wantBody   string
		within     time.Duration
	}{
		{
			name: "slowloris header trickle",
			raw: func(c net.Conn) {
				io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: corral\r\n")
				for i := 0; i < 100; i++ { // up to 20 s, far past ReadHeaderTimeout
					time.Sleep(200 * time.Millisecond)
					if _, err := fmt.Fprintf(c, "X-Trickle-%d: a\r\n", i); err != nil {
						return
					}
				}
			},
			wantStatus: 0, within: 10 * time.Second,
		},
		{
			name: "1 MB header",
			raw: func(c net.Conn) {
				io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: corral\r\nX-Big: ")
				c.Write([]byte(strings.Repeat("a", 1<<20)))
				io.WriteString(c, "\r\n\r\n")
			},
			wantStatus: 431, within: 10 * time.Second,
		},
		{
			name: "body on GET",
			raw: func(c net.Conn) {
				io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: corral\r\nContent-Length: 5\r\n\r\nhello")
			},
			wantStatus: 413, within: 10 * time.Second,
		},
		{
			name: "chunked body on GET",
			raw: func(c net.Conn) {
				io.WriteString(c, "GET /proxy?module=good HTTP/1.1\r\nHost: corral\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
			},
			wantStatus: 413, within: 10 * time.Second,
		},
		{
			name: "textfile replaced by a FIFO",
			before: func(t *testing.T) {
				os.Remove(a.textfile)
				if err := syscall.Mkfifo(a.textfile, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					os.Remove(a.textfile)
					os.WriteFile(a.textfile, []byte("# TYPE app_jobs gauge\napp_jobs 3\n"), 0o644)
				})
			},
			path: "/proxy?module=text", wantStatus: 502, wantBody: "not a regular file", within: 5 * time.Second,
		},
		{
			name: "textfile replaced by a FIFO, merged", path: "/metrics",
			before: func(t *testing.T) {
				os.Remove(a.textfile)
				syscall.Mkfifo(a.textfile, 0o644)
				t.Cleanup(func() {
					os.Remove(a.textfile)
					os.WriteFile(a.textfile, []byte("# TYPE app_jobs gauge\napp_jobs 3\n"), 0o644)
				})
			},
			wantStatus: 200, wantBody: `corral_source_up{exporter="text"} 0`, within: 10 * time.Second,
		},
		{
			name: "2 GB sparse textfile", path: "/proxy?module=big",
			wantStatus: 502, wantBody: "larger than max_body_bytes", within: 20 * time.Second,
		},
		{
			name: "2 GB sparse textfile, merged", path: "/metrics",
			wantStatus: 200, wantBody: `corral_source_up{exporter="big"} 0`, within: 20 * time.Second,
		},
		{
			name: "endless chunked upstream", path: "/proxy?module=endless",
			wantStatus: 502, wantBody: "larger than max_body_bytes", within: 20 * time.Second,
		},
		{
			name: "endless chunked upstream, merged", path: "/metrics",
			wantStatus: 200, wantBody: `corral_source_up{exporter="endless"} 0`, within: 20 * time.Second,
		},
		{
			name: "invalid UTF-8 in label values", path: "/proxy?module=utf8",
			wantStatus: 502, wantBody: "invalid", within: 5 * time.Second,
		},
		{
			name: "invalid UTF-8 in label values, merged", path: "/metrics",
			wantStatus: 200, wantBody: `corral_source_up{exporter="utf8"} 0`, within: 10 * time.Second,
		},
		{
			name: "Accept with 1,000 entries", path: "/metrics",
			header:     map[string]string{"Accept": strings.Join(accept1000, ",")},
			wantStatus: 200, wantBody: `corral_source_up{exporter="good"} 1`, within: 10 * time.Second,
		},
		{
			name: "Accept with 1,000 entries, proxied", path: "/proxy?module=good",
			header:     map[string]string{"Accept": strings.Join(accept1000, ",")},
			wantStatus: 200, wantBody: "node_load1", within: 10 * time.Second,
		},
		{
			name: "script parameter with control characters", path: "/proxy?module=probe&host=a%0Ab",
			wantStatus: 400, wantBody: "control character", within: 5 * time.Second,
		},
		{
			name: "script parameter of 10 KB", path: "/proxy?module=probe&host=" + strings.Repeat("x", 10<<10),
			wantStatus: 400, wantBody: "longer than", within: 5 * time.Second,
		},
		{
			name: "script parameter of 100 KB", path: "/proxy?module=probe&host=" + strings.Repeat("x", 100<<10),
			wantStatus: 431, within: 5 * time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			var status int
			var body string
			var took time.Duration
			if tc.raw != nil {
				var line string
				line, took = rawRequest(t, a.base, tc.raw)
				if f := strings.Fields(line); len(f) >= 2 {
					fmt.Sscan(f[1], &status)
				}
				body = line
			} else {
				start := time.Now()
				var err error
				status, body, err = a.get(t, tc.path, tc.header)
				took = time.Since(start)
				if err != nil {
					t.Fatalf("want %d, have error %v", tc.wantStatus, err)
				}
			}
			if status != tc.wantStatus || !strings.Contains(body, tc.wantBody) || took > tc.within {
				t.Errorf("want %d with %q within %s, have %d %.300q after %s", tc.wantStatus, tc.wantBody, tc.within, status, body, took)
			}
		})
		a.healthy(t, tc.name)
	}
}

// TestHostileScriptParams sends 10,000 distinct parameter values to a
// script at once from 16 clients: every request gets a quick 200 or 503
// (max_concurrent), never more runs than requests, and corral stays healthy.
func TestHostileScriptParams(t *testing.T) {
	a := startAppliance(t)
	n := 10000
	if testing.Short() {
		n = 1000
	}
	const clients = 16
	var (
		next     atomic.Int64
		mu       sync.Mutex
		byStatus = map[int]int{}
		slowest  time.Duration
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/proxy?module=probe&host=host-%d.example", a.base, i), nil)
				t0 := time.Now()
				status := 0
				if resp, err := c.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				d := time.Since(t0)
				mu.Lock()
				byStatus[status]++
				slowest = max(slowest, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	runs := 0
	if b, err := os.ReadFile(a.runs); err == nil {
		runs = strings.Count(string(b), "\n")
	}
	t.Logf("%d requests in %s: by status %v, slowest %s, %d script runs", n, took, byStatus, slowest, runs)
	if byStatus[200]+byStatus[503] != n || byStatus[200] == 0 {
		t.Errorf("want %d answers, each 200 or 503 (some 200), have %v", n, byStatus)
	}
	if runs > byStatus[200] {
		t.Errorf("script runs: want at most one per 200 (%d), have %d", byStatus[200], runs)
	}
	if slowest > 10*time.Second {
		t.Errorf("slowest answer: want within 10s, have %s", slowest)
	}
	a.healthy(t, "10,000 parameter values")
}

// TestOversizedSourceUnderLoad scrapes an endless source from many clients
// at once: each scrape is cut at max_body_bytes (502 alone, up 0 merged),
// or, a /proxy scrape whose growing body no longer fits the memory budget,
// refused with 503 as it reads; the heap stays bounded by the concurrent
// scrapes, not by the source.
func TestOversizedSourceUnderLoad(t *testing.T) {
	a := startAppliance(t)
	const clients = 8
	var wg sync.WaitGroup
	results := make(chan string, 2*clients)
	var cut atomic.Int32
	for i := range 2 * clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/proxy?module=endless"
			if i%2 == 1 {
				path = "/metrics"
			}
			status, body, err := a.get(t, path, nil)
			switch {
			case err != nil:
				results <- fmt.Sprintf("%s: %v", path, err)
			case path == "/metrics" && (status != 200 || !strings.Contains(body, `corral_source_up{exporter="endless"} 0`)):
				results <- fmt.Sprintf("%s: want 200 with the source down, have %d %.200q", path, status, body)
			case path == "/metrics":
			case status == 502 && strings.Contains(body, "larger than max_body_bytes"):
				cut.Add(1)
			case status != 503 || !strings.Contains(body, "memory for answers in flight is taken"):
				results <- fmt.Sprintf("%s: want 502 (larger than max_body_bytes) or 503 (memory taken), have %d %.200q", path, status, body)
			}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		t.Error(r)
	}
	// The one scrape left holding memory always fits: it reaches the bound.
	if cut.Load() == 0 {
		t.Error("/proxy?module=endless: want at least one 502 at max_body_bytes, have none")
	}
	a.healthy(t, "concurrent oversized scrapes")
}

// TestManyScrapersOneScript: 100 Prometheus servers scraping one slow
// script at once, with the default limits (64 scrape slots, max_concurrent
// = 1), all get 200 from one run: coalesced scrapes share one slot.
func TestManyScrapersOneScript(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	probe := filepath.Join(dir, "slow.sh")
	script := fmt.Sprintf("#!/bin/sh\necho run >> %s\nsleep 2\necho \"# TYPE slow_ok gauge\"\necho \"slow_ok 1\"\n", runs)
	if err := os.WriteFile(probe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	reaper := proc.NewReaper(slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	reaped := make(chan struct{})
	go func() { reaper.Run(); close(reaped) }()
	t.Cleanup(func() { reaper.Stop(); <-reaped })
	reg := prometheus.NewRegistry()
	g := gateway.New(gateway.Options{Registry: reg, Metrics: gateway.NewMetrics(reg, gateway.BuildInfo{})})
	cfg := scripts.Config{Command: []string{probe}}
	cfg.Defaults()
	g.SetModules([]gateway.Module{{Name: "slow", Kind: "script", Merge: true, Verify: true,
		Source: scripts.New("slow", cfg, scripts.Deps{Reaper: reaper, Metrics: scripts.NewMetrics(reg), Limiter: scripts.NewLimiter(8)})}})
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)

	const clients = 100
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		byStatus = map[int]int{}
		start    = make(chan struct{})
	)
	for range clients {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/proxy?module=slow", nil)
			req.Header.Set(gateway.TimeoutHeader, "10")
			status := 0
			if resp, err := c.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			mu.Lock()
			byStatus[status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	b, _ := os.ReadFile(runs)
	if n := strings.Count(string(b), "\n"); byStatus[200] != clients || n != 1 {
		t.Errorf("%d scrapes of a 2 s script at once: want %d × 200 from 1 run, have %v from %d runs", clients, clients, byStatus, n)
	}
}
