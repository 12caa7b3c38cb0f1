package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
	"github.com/corral-metrics/corral/source"
	"github.com/corral-metrics/corral/source/exporter"
)

// bigText is a valid text body of family big, of about size bytes.
func bigText(size int) []byte {
	var b bytes.Buffer
	b.WriteString("# TYPE big gauge\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "big{i=\"%08d\",pad=\"%s\"} %d\n", i, strings.Repeat("x", 40), i)
	}
	return b.Bytes()
}

// bigUpstream serves a valid text body of about size bytes.
func bigUpstream(t *testing.T, size int) *httptest.Server {
	t.Helper()
	body := bigText(size)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textContentType)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// nonReader sends a GET for path and never reads the answer. Its receive
// buffer is small, so the server's writes block soon.
func nonReader(t *testing.T, base, path string, header string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: corral\r\n%s\r\n", path, header)
	return conn
}

// stalled counts the scrapes whose write has blocked for at least d.
func (l *limits) stalled(d time.Duration) (n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for t := range l.live {
		if !t.writing.IsZero() && time.Since(t.writing) >= d {
			n++
		}
	}
	return n
}

// stalledSlots counts the scrapes holding a slot whose write has blocked
// for at least d.
func (l *limits) stalledSlots(d time.Duration) (n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for t := range l.live {
		if t.slot && !t.writing.IsZero() && time.Since(t.writing) >= d {
			n++
		}
	}
	return n
}

// held is what l holds now: slots taken, bytes reserved, and scrapes live
// (a merged fetch's ticket is not one).
func (l *limits) held() (slots int, bytes int64, live int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for t := range l.live {
		if t.rc != nil { // a scrape's, not a merged fetch's
			live++
		}
	}
	return l.slots, l.bytes, live
}

// TestSlowReadersLoseTheirSlots: clients that ask for a big body and never
// read take every slot, yet a normal scrape still answers 200 at once: the
// stalled ones are cut to make room.
func TestSlowReadersLoseTheirSlots(t *testing.T) {
	const slots = 4
	big := bigUpstream(t, 8<<20)
	reg := prometheus.NewRegistry()
	g := New(Options{Registry: reg, MaxConcurrentScrapes: slots, MaxInflightBytes: -1, ScrapeTimeout: 30 * time.Second})
	g.SetModules([]Module{exporterModule(t, "big", big.URL, true), {Name: "small", Kind: "file", Merge: true, Verify: true, Source: &fakeSource{body: "small 1\n"}}})
	_, base := newTestGatewayFor(t, g)

	// On /metrics the merge writes as it goes: each holds its slot. On
	// /proxy the source's first body is read whole first: a slot is not
	// held to write it; the bodies after it, big and valid before, are
	// streamed as they are checked and hold their slots like the merge.
	for range slots { // one at a time: one source's scrapes take half the slots
		nonReader(t, base, "/proxy?module=big", "X-Prometheus-Scrape-Timeout-Seconds: 60\r\n")
		testkit.Eventually(t, "/proxy done working or stalled", func() bool {
			s, _, live := g.lim.held()
			return live > 0 && s == g.lim.stalledSlots(stallAfter)
		})
	}
	// Then /metrics clients that never read take the slots left, one at a
	// time, each once the last one holds its slot and its fetch is over:
	// none joins another's (see flight.go), so each holds a slot of its
	// own. A /proxy above may still let go of its slot meanwhile, so the
	// slots are topped up until every one is held by a stalled client.
	var sent time.Time
	var sentWith int
	testkit.Within(t, 90*time.Second, "every slot held by a stalled non-reader", func() (bool, string) {
		s, _, live := g.lim.held()
		st := g.lim.stalledSlots(stallAfter)
		g.lim.mu.Lock()
		merged := g.lim.per[""]
		g.lim.mu.Unlock()
		settled := sent.IsZero() || merged > sentWith || time.Since(sent) > 10*time.Second
		if s < slots && settled && g.flights.idle() {
			sent, sentWith = time.Now(), merged
			nonReader(t, base, "/metrics", "X-Prometheus-Scrape-Timeout-Seconds: 60\r\n")
		}
		return s == slots && st == slots, fmt.Sprintf("slots %d, stalled %d, live %d, /metrics %d; want %d", s, st, live, merged, slots)
	})
	for _, path := range []string{"/metrics", "/proxy?module=small"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set(TimeoutHeader, "20") // merging 8 MB under -race on a busy machine
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if took := time.Since(start); resp.StatusCode != 200 || took > 20*time.Second {
			t.Errorf("%s with %d clients not reading: want 200 within its 20 s timeout, have %d after %s", path, slots, resp.StatusCode, took)
		}
	}
	if have := testutil.ToFloat64(g.lim.cut); have < 1 {
		t.Errorf("corral_http_stalled_scrapes_cut_total: want at least 1, have %v", have)
	}
}

// TestSlowReaderDeadline: a client that does not read loses its slot and its
// buffers at its scrape deadline, with nobody else asking for them.
func TestSlowReaderDeadline(t *testing.T) {
	big := bigUpstream(t, 8<<20)
	g := New(Options{Registry: prometheus.NewRegistry()})
	g.SetModules([]Module{exporterModule(t, "big", big.URL, true)})
	_, base := newTestGatewayFor(t, g)

	for _, tc := range []struct{ path, header string }{
		{"/proxy?module=big", "X-Prometheus-Scrape-Timeout-Seconds: 1\r\n"},
		{"/metrics", "X-Prometheus-Scrape-Timeout-Seconds: 1\r\n"},
	} {
		start := time.Now()
		conn := nonReader(t, base, tc.path, tc.header)
		testkit.Eventually(t, tc.path+" admitted", func() bool { _, _, live := g.lim.held(); return live > 0 })
		testkit.Eventually(t, tc.path+" released", func() bool { _, _, live := g.lim.held(); return live == 0 })
		slots, bytes, _ := g.lim.held()
		if took := time.Since(start); took > 5*time.Second || slots != 0 || bytes != 0 {
			t.Errorf("%s, 1 s timeout, never read: want released within 5s, have after %s, %d slots and %d bytes held", tc.path, took, slots, bytes)
		}
		conn.Close()
	}
}

// bigSource answers a body of size bytes, after release when gated.
type bigSource struct {
	gatedSource
	body  []byte
	gated bool
}

func (b *bigSource) Scrape(ctx context.Context, req source.Request) (*source.Response, error) {
	if b.gated {
		if _, err := b.gatedSource.Scrape(ctx, req); err != nil {
			return nil, err
		}
	}
	return &source.Response{ContentType: textContentType, Body: io.NopCloser(bytes.NewReader(b.body))}, nil
}

// TestMemoryBudget: past max_inflight_bytes a scrape is refused with 503 at
// once; one that fits still passes.
func TestMemoryBudget(t *testing.T) {
	body := []byte(strings.Repeat("big 1\n", 1<<20)) // 6 MiB
	big := &bigSource{gatedSource: gatedSource{arrived: make(chan struct{}, 1), release: make(chan struct{})}, body: body}
	reg := prometheus.NewRegistry()
	g := New(Options{Registry: reg, MaxInflightBytes: 10 << 20})
	g.SetModules([]Module{
		{Name: "big", Kind: "exporter", Verify: true, Source: big},
		{Name: "small", Kind: "file", Verify: true, Source: &fakeSource{body: "small 1\n"}},
	})
	_, base := newTestGatewayFor(t, g)
	get := func(path string) (int, string, time.Duration) {
		start := time.Now()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b), time.Since(start)
	}
	if status, _, _ := get("/proxy?module=big"); status != 200 {
		t.Fatalf("first scrape of big: want 200, have %d", status)
	}
	// The next scrape of big reserves what it sent last: 6 MiB, held while
	// the source is slow to answer.
	big.gated = true
	held := make(chan int, 1)
	go func() { status, _, _ := get("/proxy?module=big"); held <- status }()
	<-big.arrived

	for _, tc := range []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/proxy?module=big", 503, "max_inflight_bytes"},
		{"/proxy?module=small", 200, "small 1"},
	} {
		status, body, took := get(tc.path)
		if status != tc.wantStatus || !strings.Contains(body, tc.wantBody) || took > 5*time.Second {
			t.Errorf("%s with 6 MiB of 10 MiB held: want %d %q at once, have %d %q after %s", tc.path, tc.wantStatus, tc.wantBody, status, body, took)
		}
	}
	if have := testutil.ToFloat64(g.lim.refusals.WithLabelValues("memory")); have != 1 {
		t.Errorf("corral_http_requests_refused_total{reason=memory}: want 1, have %v", have)
	}
	close(big.release)
	if status := <-held; status != 200 {
		t.Errorf("the scrape holding the memory: want 200, have %d", status)
	}
}

// coalescer is a gated source whose scrapes all share one run.
type coalescer struct{ gatedSource }

func (c *coalescer) CoalesceKey(source.Request) (string, bool) { return "", true }

// TestCoalescedScrapesShareASlot: scrapes that share one run of a source
// share one slot, however many.
func TestCoalescedScrapesShareASlot(t *testing.T) {
	const slots, clients = 2, 20
	run := &coalescer{gatedSource{arrived: make(chan struct{}, clients), release: make(chan struct{})}}
	other := &gatedSource{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	g := New(Options{Registry: prometheus.NewRegistry(), MaxConcurrentScrapes: slots})
	g.SetModules([]Module{
		{Name: "script", Kind: "script", Verify: true, Source: run},
		{Name: "other", Kind: "exporter", Verify: true, Source: other},
	})
	_, base := newTestGatewayFor(t, g)

	var wg sync.WaitGroup
	statuses := make(chan int, clients+1)
	get := func(path string) {
		defer wg.Done()
		resp, err := http.Get(base + path)
		if err != nil {
			statuses <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses <- resp.StatusCode
	}
	wg.Add(clients + 1)
	for range clients {
		go get("/proxy?module=script")
	}
	for range clients {
		select {
		case <-run.arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("not every coalesced scrape was admitted")
		}
	}
	go get("/proxy?module=other") // the one slot left
	select {
	case <-other.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("a scrape of another source was refused with one slot left")
	}
	if s, _, _ := g.lim.held(); s != 2 {
		t.Errorf("slots taken by %d coalesced scrapes and one other: want 2, have %d", clients, s)
	}
	close(run.release)
	close(other.release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("a scrape: want 200, have %d", s)
		}
	}
}

// TestClientLeavesStreamedProxy: a client that goes away from /proxy of a
// source with verify = false is not the source's failure.
func TestClientLeavesStreamedProxy(t *testing.T) {
	src := &gatedSource{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(src.release)
	g, gw := newTestGateway(t, Options{}, Module{Name: "app", Kind: "exporter", Verify: false, Source: src})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", gw.URL+"/proxy?module=app", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-src.arrived
	cancel()
	<-errc
	testkit.Eventually(t, "the scrape to end", func() bool { _, _, live := g.lim.held(); return live == 0 })
	if have := testutil.CollectAndCount(g.opts.Metrics.errors); have != 0 {
		t.Errorf("corral_scrape_errors_total series after the client left: want 0, have %d", have)
	}
	if l := g.Landing(); l.Sources[0].LastScrape != nil {
		t.Errorf("landing page after the client left: want no last scrape, have %+v", *l.Sources[0].LastScrape)
	}
}

// TestOneSourceTakesHalfTheSlots: many clients of one slow source take at
// most half the slots, so Prometheus scraping /metrics still gets in.
func TestOneSourceTakesHalfTheSlots(t *testing.T) {
	const slots, clients = 4, 6
	slow := &gatedSource{arrived: make(chan struct{}, clients), release: make(chan struct{})}
	g := New(Options{Registry: prometheus.NewRegistry(), MaxConcurrentScrapes: slots})
	g.SetModules([]Module{
		{Name: "slow", Kind: "exporter", Verify: true, Source: slow},
		{Name: "fast", Kind: "file", Merge: true, Verify: true, Source: &fakeSource{body: "fast 1\n"}},
	})
	_, base := newTestGatewayFor(t, g)
	statuses := make(chan int, clients)
	for range clients {
		go func() {
			resp, err := http.Get(base + "/proxy?module=slow")
			if err != nil {
				statuses <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	for range slots / 2 {
		<-slow.arrived
	}
	// The others are refused once they waited their second for room.
	for range clients - slots/2 {
		if s := <-statuses; s != 503 {
			t.Errorf("a scrape of slow past half the slots: want 503, have %d", s)
		}
	}
	for _, path := range []string{"/metrics", "/proxy?module=fast"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s while slow holds half the slots: want 200, have %d", path, resp.StatusCode)
		}
	}
	close(slow.release)
	for range slots / 2 {
		if s := <-statuses; s != 200 {
			t.Errorf("a scrape of slow within half the slots: want 200, have %d", s)
		}
	}
}

// idle tells whether no merged fetch is in progress.
func (fs *flights) idle() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.open) == 0
}

// TestSlowReaderDeadlineCapped: a client's timeout header counts as a
// write deadline up to the longest a scrape works (scrape_timeout, every
// source's timeout) and a second: one that names 11 days and never reads
// loses its buffers (and its write fails) seconds after its scrape's work.
func TestSlowReaderDeadlineCapped(t *testing.T) {
	big := bigUpstream(t, 8<<20)
	g := New(Options{Registry: prometheus.NewRegistry(), ScrapeTimeout: time.Second})
	g.SetModules([]Module{exporterModule(t, "big", big.URL, true, func(c *exporter.Config) { c.Timeout = duration.Of(2 * time.Second) })})
	_, base := newTestGatewayFor(t, g)

	for _, path := range []string{"/proxy?module=big", "/metrics"} {
		start := time.Now()
		conn := nonReader(t, base, path, "X-Prometheus-Scrape-Timeout-Seconds: 1000000\r\n")
		testkit.Eventually(t, path+" admitted", func() bool { _, _, live := g.lim.held(); return live > 0 })
		testkit.Eventually(t, path+" released", func() bool { _, _, live := g.lim.held(); return live == 0 })
		if took := time.Since(start); took > 15*time.Second {
			t.Errorf("%s, a 1e6 s timeout header, never read: want released within 15 s (2 s work, 1 s to write), have after %s", path, took)
		}
		conn.Close()
	}
}
