package gateway

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/internal/testkit"
)

// peakReserved is the most g's scrapes have reserved of the budget at once.
func peakReserved(g *Gateway) int64 {
	g.lim.mu.Lock()
	defer g.lim.mu.Unlock()
	return g.lim.peak
}

// awaitNothingReserved waits until every scrape of g has given back its
// reservation and its ticket.
func awaitNothingReserved(t *testing.T, g *Gateway, what string) {
	t.Helper()
	testkit.Eventually(t, what, func() bool {
		g.lim.mu.Lock()
		defer g.lim.mu.Unlock()
		return g.lim.bytes == 0 && len(g.lim.live) == 0
	})
}

// gatedCollector is a collector of corral's own registry whose Collect,
// once armed, counts its arrival and waits for open. A merged scrape with
// corral's own metrics gathers them once it has taken its share of the
// budget and before it merges, and a /proxy of them once admitted: the
// scrapes waiting there hold their memory all at once.
type gatedCollector struct {
	desc    *prometheus.Desc
	armed   atomic.Bool
	n       atomic.Int64 // arrivals while armed
	arrived chan struct{}
	open    chan struct{}
}

func newGatedCollector() *gatedCollector {
	return &gatedCollector{
		desc:    prometheus.NewDesc("test_gate", "A gauge whose Collect waits for the test.", nil, nil),
		arrived: make(chan struct{}, 256),
		open:    make(chan struct{}),
	}
}

func (c *gatedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *gatedCollector) Collect(ch chan<- prometheus.Metric) {
	if c.armed.Load() {
		c.n.Add(1)
		c.arrived <- struct{}{}
		<-c.open
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1)
}

// await waits for n more arrivals at the gate.
func (c *gatedCollector) await(t *testing.T, n int, what string) {
	t.Helper()
	for i := range n {
		select {
		case <-c.arrived:
		case <-time.After(testkit.Bound):
			t.Fatalf("%s: want %d at the gate, have %d", what, n, i)
		}
	}
}

// gatedUpstream serves body as text once start is closed; arrived tells
// of each request.
func gatedUpstream(t *testing.T, body []byte) (srv *httptest.Server, arrived chan struct{}, start chan struct{}) {
	t.Helper()
	arrived, start = make(chan struct{}, 16), make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-start:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", textContentType)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, arrived, start
}

// answered is a client's answer: its status and body, or the error in body.
type answered struct {
	status int
	body   string
}

// getAnswer asks url with Go's client: gzip accepted, and taken off.
func getAnswer(url string) answered {
	resp, err := http.Get(url)
	if err != nil {
		return answered{body: err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answered{body: err.Error()}
	}
	return answered{resp.StatusCode, string(b)}
}

// reservedBy is what the scrapes in flight reserve (the tickets of their
// requests) and what is reserved in all (with the merged fetches').
func (l *limits) reservedBy() (scrapes, all int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for t := range l.live {
		if t.rc != nil {
			scrapes += t.bytes
		}
	}
	return scrapes, l.bytes
}

// TestJoinedMergesHoldWhatTheyScan: 10 clients of /metrics share one fetch
// of a source never scraped before, so each is admitted on 64 KiB for it.
// Once its 2 MiB body is in, every client but the one that ran the fetch
// (which merges from the fetch's own scans) scans it again: each holds
// twice the body for that (joinerShare) before it scans. With every client holding at once (all
// wait in the gather of corral's own metrics, after their hold and before
// their merge), the source is merged for as many as fit the 24 MiB budget
// beside the fetch's three times the body, and down (corral_source_up 0,
// the reason logged) for the others, whose answers are still 200 with the
// small source. The reservation then covers what the merges hold, never
// passes the budget, and is all given back. Before, every client merged
// the source on its 64 KiB: 10 scans of 2 MiB held at once on 9 MiB
// reserved.
func TestJoinedMergesHoldWhatTheyScan(t *testing.T) {
	const clients, budget = 10, 24 << 20
	body := bigText(2 << 20)
	big, arrived, start := gatedUpstream(t, body)
	gate := newGatedCollector()
	reg := prometheus.NewRegistry()
	reg.MustRegister(gate)
	var logs testkit.Buffer
	g := New(Options{Registry: reg, MergeSelf: true, MaxInflightBytes: budget, ScrapeTimeout: time.Minute, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	g.SetModules([]Module{exporterModule(t, "big", big.URL, true), exporterModule(t, "small", upstream(t, "good").URL, true)})
	_, base := newTestGatewayFor(t, g)
	gate.armed.Store(true)

	answers := make(chan answered, clients)
	for range clients {
		go func() { answers <- getAnswer(base + "/metrics") }()
	}
	select {
	case <-arrived:
	case <-time.After(testkit.Bound):
		t.Fatal("the fetch never reached the source")
	}
	testkit.Eventually(t, "every client admitted to the one fetch", func() bool {
		s, _, live := g.lim.held()
		return s == 1 && live == clients
	})
	close(start)
	gate.await(t, clients, "merges about to merge")
	_, atGate := g.lim.reservedBy()
	close(gate.open)

	var merged, down int
	for range clients {
		a := <-answers
		switch {
		case a.status != 200 || !strings.Contains(a.body, `corral_source_up{exporter="small"} 1`):
			t.Errorf("want 200 with the small source up, have %d %.300q", a.status, a.body)
		case strings.Contains(a.body, `corral_source_up{exporter="big"} 1`) && strings.Contains(a.body, `big{i="00000000",pad="`):
			merged++
		case strings.Contains(a.body, `corral_source_up{exporter="big"} 0`) && !strings.Contains(a.body, `big{i="`):
			down++
		default:
			t.Errorf("want big merged or down, have %.300q", a.body)
		}
	}
	fetch, scan := int64(openerShare*len(body)), int64(joinerShare*len(body))
	most := 1 + (budget-fetch)/scan // the runner's merge from the fetch's scans, and the rescans that fit beside the fetch
	if merged < 1 || merged > int(most) || merged+down != clients {
		t.Errorf("big merged: want 1 to %d of %d (the fetch holds %d, a rescan %d, of %d), the others down; have %d merged, %d down", most, clients, fetch, scan, budget, merged, down)
	}
	if want := fetch + int64(merged-1)*scan; atGate < want {
		t.Errorf("reserved while %d merges held the body (the runner's from the fetch's scans): want at least %d (the fetch and %d rescans), have %d", merged, want, merged-1, atGate)
	}
	if want := `source left out of the merged /metrics" component=gateway source=big err="the memory for answers in flight is taken (max_inflight_bytes = 24MiB)`; down > 0 && !strings.Contains(logs.String(), want) {
		t.Errorf("logs: want %q, have %s", want, logs.String())
	}
	peak := peakReserved(g)
	if peak > budget {
		t.Errorf("the most reserved at once: want at most the budget %d, have %d", budget, peak)
	}
	awaitNothingReserved(t, g, "nothing reserved after the scrapes")
	t.Logf("big merged for %d, down for %d; reserved %.1f MiB at the gate, peak %.1f MiB of %d MiB", merged, down, float64(atGate)/(1<<20), float64(peak)/(1<<20), budget>>20)
}

// TestFetchHeldWhileItsBodiesAre: the client that runs a merged fetch
// leaves while the source is slow; the fetch goes on for the client that
// joined it, which holds the bodies and their scans until it has merged
// them. What the fetch reserved (three times the body) stays reserved until
// then, not only until the fetch's own client is gone; then all of it is
// given back. Before, it left with the client that ran the fetch: while
// the joiner merged, its 2 MiB body and scan counted for nothing.
func TestFetchHeldWhileItsBodiesAre(t *testing.T) {
	body := bigText(2 << 20)
	big, arrived, start := gatedUpstream(t, body)
	gate := newGatedCollector()
	reg := prometheus.NewRegistry()
	reg.MustRegister(gate)
	g := New(Options{Registry: reg, MergeSelf: true, ScrapeTimeout: time.Minute, MaxInflightBytes: 1 << 40})
	g.SetModules([]Module{exporterModule(t, "big", big.URL, true)})
	h := g.Handler()
	openerGone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Client") == "opener" {
			go func() { <-r.Context().Done(); close(openerGone) }()
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	gate.armed.Store(true)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opener := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/metrics", nil)
		req.Header.Set("X-Test-Client", "opener")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		opener <- err
	}()
	select {
	case <-arrived:
	case <-time.After(testkit.Bound):
		t.Fatal("the fetch never reached the source")
	}
	joiner := make(chan answered, 1)
	go func() { joiner <- getAnswer(srv.URL + "/metrics") }()
	testkit.Eventually(t, "the second client joined", func() bool { _, _, live := g.lim.held(); return live == 2 })
	cancel()
	select {
	case <-openerGone:
	case <-time.After(testkit.Bound):
		t.Fatal("the server never saw the first client leave")
	}
	if err := <-opener; err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("the first client: want its request canceled, have %v", err)
	}
	close(start)
	gate.await(t, 1, "the joiner about to merge")
	testkit.Eventually(t, "the first client's scrape over", func() bool { _, _, live := g.lim.held(); return live == 1 })
	scrapes, all := g.lim.reservedBy()
	if want := int64(openerShare * len(body)); all-scrapes < want {
		t.Errorf("while the joiner holds the fetched body: want the fetch's %d bytes reserved beside the joiner's %d, have %d in all", want, scrapes, all)
	}
	close(gate.open)
	if a := <-joiner; a.status != 200 || !strings.Contains(a.body, `corral_source_up{exporter="big"} 1`) {
		t.Errorf("the joiner: want 200 with big up, have %d %.300q", a.status, a.body)
	}
	awaitNothingReserved(t, g, "nothing reserved once the joiner is done")
}

// gzipWriterBytes is what a gzip.Writer at level allocates to compress a
// byte: the least of a few tries, since allocations elsewhere only add.
func gzipWriterBytes(level int) int64 {
	least := int64(math.MaxInt64)
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		zw, _ := gzip.NewWriterLevel(io.Discard, level)
		zw.Write([]byte("x"))
		zw.Close()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(zw)
		least = min(least, int64(after.TotalAlloc-before.TotalAlloc))
	}
	return least
}

// TestCompressedAnswersReserveTheirCompressor: 16 clients that accept gzip
// (as Prometheus does) ask for /metrics, or for corral's own metrics on
// /proxy, at once; each answer admitted holds a gzip compressor (about
// 800 KiB) besides its buffers while it is written. With every admitted
// one holding it (all wait in the gather of corral's own metrics), those
// compressors fit the budget (half of it for one source's /proxy); the
// others get 503 at admission, and everything is given back. Before, a
// merged scrape of a small source was admitted on 192 KiB and a /proxy of
// corral's metrics on 64 KiB: all 16 were let in, 13 MB of compressors on
// a 4 MiB budget.
func TestCompressedAnswersReserveTheirCompressor(t *testing.T) {
	const clients, budget = 16, 4 << 20
	for _, tc := range []struct {
		path  string
		room  int64
		level int
	}{
		{"/metrics", budget, gzipLevel},
		{"/proxy?module=corral", budget / 2, gzip.DefaultCompression}, // promhttp's; one source's /proxy take half
	} {
		t.Run(tc.path, func(t *testing.T) {
			gz := gzipWriterBytes(tc.level)
			if gz > gzipHeld {
				t.Errorf("a gzip compressor at level %d: want at most gzipHeld, %d bytes, have %d", tc.level, gzipHeld, gz)
			}
			gate := newGatedCollector()
			reg := prometheus.NewRegistry()
			reg.MustRegister(gate)
			g := New(Options{Registry: reg, SelfSource: "corral", MergeSelf: true, MaxInflightBytes: budget, ScrapeTimeout: time.Minute})
			g.SetModules([]Module{exporterModule(t, "small", upstream(t, "good").URL, true)})
			_, base := newTestGatewayFor(t, g)
			gate.armed.Store(true)
			memory := func() int64 { return int64(testutil.ToFloat64(g.lim.refusals.WithLabelValues("memory"))) }

			answers := make(chan answered, clients)
			for range clients {
				go func() { answers <- getAnswer(base + tc.path) }()
			}
			testkit.Eventually(t, "every client admitted or refused", func() bool { return gate.n.Load()+memory() == clients })
			admitted := gate.n.Load()
			if admitted < 1 || admitted*gz > tc.room {
				t.Errorf("answers held at once, each with a gzip compressor of %d bytes: want 1 to %d (%d bytes of the budget for them), have %d", gz, tc.room/gz, tc.room, admitted)
			}
			close(gate.open)
			var ok, refused int64
			for range clients {
				switch a := <-answers; {
				case a.status == 200 && strings.Contains(a.body, "test_gate"):
					ok++
				case a.status == 503 && strings.Contains(a.body, "max_inflight_bytes = 4MiB"):
					refused++
				default:
					t.Errorf("want 200 with corral's metrics or 503 for max_inflight_bytes, have %d %.200q", a.status, a.body)
				}
			}
			if ok != admitted || refused != clients-admitted {
				t.Errorf("want %d × 200 and %d × 503, have %d and %d", admitted, clients-admitted, ok, refused)
			}
			awaitNothingReserved(t, g, "nothing reserved after the scrapes")
			t.Logf("%d admitted, %d refused; a gzip compressor %d bytes", admitted, refused, gz)
		})
	}
}
