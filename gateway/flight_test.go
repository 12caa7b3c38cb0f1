package gateway

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/internal/testkit"
	"github.com/corral-metrics/corral/source"
)

// TestMergedScrapesShareOneFetch: 64 clients of /metrics waiting on a slow
// source share one request to it and one slot, in every round; each gets
// its own encoding; a /proxy of another source is served meanwhile.
func TestMergedScrapesShareOneFetch(t *testing.T) {
	const clients = 64
	var requests atomic.Int64
	release := make(chan struct{}, 2) // a token a round
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-release: // once every client is waiting on it: seconds
		case <-r.Context().Done():
		}
		w.Header().Set("Content-Type", textContentType)
		fmt.Fprintln(w, "# TYPE slow_total counter\nslow_total 7")
	}))
	defer slow.Close()
	g := New(Options{Registry: prometheus.NewRegistry(), ScrapeTimeout: 30 * time.Second})
	g.SetModules([]Module{
		exporterModule(t, "slow", slow.URL, true),
		{Name: "other", Kind: "file", Verify: true, Source: &fakeSource{body: "other 1\n"}},
	})
	_, base := newTestGatewayFor(t, g)

	for round := 1; round <= 2; round++ {
		type answer struct {
			accept, ct string
			status     int
			body       string
		}
		answers := make(chan answer, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", base+"/metrics", nil)
				if i%2 == 1 {
					req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					answers <- answer{accept: req.Header.Get("Accept"), body: err.Error()}
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answers <- answer{req.Header.Get("Accept"), resp.Header.Get("Content-Type"), resp.StatusCode, string(b)}
			})
		}
		// Every client admitted, sharing one slot, while the source is slow.
		testkit.Eventually(t, "every client admitted", func() bool { s, _, live := g.lim.held(); return s == 1 && live == clients })
		resp, err := http.Get(base + "/proxy?module=other")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "other 1\n" {
			t.Errorf("round %d: /proxy of another source: want 200 %q, have %d %q", round, "other 1\n", resp.StatusCode, b)
		}
		release <- struct{}{}
		wg.Wait()
		close(answers)
		for a := range answers {
			wantCT := "text/plain"
			if a.accept != "" {
				wantCT = "application/openmetrics-text"
			}
			if a.status != 200 || !strings.HasPrefix(a.ct, wantCT) || !strings.Contains(a.body, `slow_total{exporter="slow"} 7`) {
				t.Errorf("round %d, Accept %q: want 200 %s with slow_total, have %d %s\n%s", round, a.accept, wantCT, a.status, a.ct, a.body)
			}
		}
		if have := requests.Load(); have != int64(round) {
			t.Errorf("after round %d: want %d requests upstream, have %d", round, round, have)
		}
	}
	testkit.Eventually(t, "every slot given back", func() bool { s, b, live := g.lim.held(); return s == 0 && b == 0 && live == 0 })
}

// TestMergedFetchOutlivesItsClients: the clients of a shared fetch that
// leave cancel nothing: the source is asked once, and a client that comes
// while it runs gets its answer.
func TestMergedFetchOutlivesItsClients(t *testing.T) {
	var requests atomic.Int64
	arrived, release := make(chan struct{}, 4), make(chan struct{})
	var canceled atomic.Bool
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			canceled.Store(true)
			return
		}
		w.Header().Set("Content-Type", textContentType)
		fmt.Fprintln(w, "slow 1")
	}))
	defer slow.Close()
	g := New(Options{Registry: prometheus.NewRegistry(), ScrapeTimeout: 30 * time.Second})
	g.SetModules([]Module{exporterModule(t, "slow", slow.URL, true)})
	_, base := newTestGatewayFor(t, g)

	gone := nonReader(t, base, "/metrics", "")
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the first scrape never reached the source")
	}
	gone.Close()
	done := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	testkit.Eventually(t, "the second client joined", func() bool { _, _, live := g.lim.held(); return live == 2 })
	close(release)
	have := <-done
	if !strings.HasPrefix(have, "200 ") || !strings.Contains(have, `slow{exporter="slow"} 1`) {
		t.Errorf("the client that came later: want 200 with slow 1, have %s", have)
	}
	if n := requests.Load(); n != 1 || canceled.Load() {
		t.Errorf("upstream: want 1 request, not canceled; have %d, canceled %v", n, canceled.Load())
	}
}

// TestShortTimeoutDoesNotCutJoiners: a client with a short
// X-Prometheus-Scrape-Timeout-Seconds opens a fetch of a slow source; a
// Prometheus with a long timeout that comes while it runs does not join it
// (the source would be cut off for it at the short deadline) but fetches
// on its own and gets the source up, and another client with the long
// timeout shares that fetch.
func TestShortTimeoutDoesNotCutJoiners(t *testing.T) {
	var requests atomic.Int64
	arrived, release := make(chan struct{}, 4), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", textContentType)
		fmt.Fprintln(w, "slow 1")
	}))
	defer slow.Close()
	g := New(Options{Registry: prometheus.NewRegistry(), ScrapeTimeout: 30 * time.Second})
	g.SetModules([]Module{exporterModule(t, "slow", slow.URL, true)})
	_, base := newTestGatewayFor(t, g)
	scrape := func(timeout string) <-chan string {
		done := make(chan string, 1)
		go func() {
			req, _ := http.NewRequest("GET", base+"/metrics", nil)
			req.Header.Set(TimeoutHeader, timeout)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- fmt.Sprintf("%d %s", resp.StatusCode, b)
		}()
		return done
	}
	wait := func(what string, c <-chan struct{}) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(testkit.Bound):
			t.Fatalf("timed out waiting for %s", what)
		}
	}

	short := scrape("2") // a fetch of 1.8 s
	wait("the short scrape's request upstream", arrived)
	long := scrape("10")
	select {
	case <-arrived:
	case have := <-long:
		t.Fatalf("the 10 s scrape: want a fetch of its own, have the short fetch's answer: %s", have)
	case <-time.After(testkit.Bound):
		t.Fatal("the 10 s scrape never reached the source")
	}
	if have, want := <-short, `corral_source_up{exporter="slow"} 0`; !strings.HasPrefix(have, "200 ") || !strings.Contains(have, want) {
		t.Errorf("the 2 s scrape: want 200 with %s, have %s", want, have)
	}
	again := scrape("10")
	testkit.Eventually(t, "the second 10 s scrape joined", func() bool { _, _, live := g.lim.held(); return live == 2 })
	close(release)
	for i, c := range []<-chan string{long, again} {
		have := <-c
		for _, want := range []string{`corral_source_up{exporter="slow"} 1`, `slow{exporter="slow"} 1`} {
			if !strings.HasPrefix(have, "200 ") || !strings.Contains(have, want) {
				t.Errorf("10 s scrape %d: want 200 with %s, have %s", i+1, want, have)
			}
		}
	}
	if have := requests.Load(); have != 2 {
		t.Errorf("upstream: want 2 requests (the short fetch, the long one shared), have %d", have)
	}
}

// dupSource answers, once released, a body with one series twice.
type dupSource struct{ gatedSource }

func (d *dupSource) Scrape(ctx context.Context, req source.Request) (*source.Response, error) {
	if _, err := d.gatedSource.Scrape(ctx, req); err != nil {
		return nil, err
	}
	return &source.Response{ContentType: textContentType, Body: io.NopCloser(strings.NewReader("a 1\na 1\n"))}, nil
}

// TestMergedScrapeDuringReload: a merged scrape in flight when a reload
// removes one of its sources counts nothing of it: the counters the
// reload forgot stay forgotten.
func TestMergedScrapeDuringReload(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := New(Options{Registry: reg, ScrapeTimeout: 30 * time.Second})
	kept := &fakeSource{body: "b 1\nb 1\n"}
	src := &dupSource{gatedSource{arrived: make(chan struct{}, 1), release: make(chan struct{})}}
	g.SetModules([]Module{
		{Name: "gone", Kind: "file", Merge: true, Source: src},
		{Name: "kept", Kind: "file", Merge: true, Source: kept},
	})
	_, base := newTestGatewayFor(t, g)
	status := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			status <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	select {
	case <-src.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the merged scrape never reached the source")
	}
	g.SetModules([]Module{{Name: "kept", Kind: "file", Merge: true, Source: kept}})
	close(src.release)
	if have := <-status; have != 200 {
		t.Fatalf("the scrape in flight: want 200, have %d", have)
	}
	counted := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "corral_merge_duplicate_series_total" {
			for _, m := range mf.GetMetric() {
				counted[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if want := map[string]float64{"kept": 1}; !maps.Equal(counted, want) {
		t.Errorf("corral_merge_duplicate_series_total: want %v, have %v", want, counted)
	}
}

// TestJoinedScrapesReserveTheirShare: concurrent merged scrapes of a big
// source share one fetch, but each scans and encodes the bodies itself,
// so each reserves its share of the budget (the opener openerShare times
// the body, a joiner joinerShare times): with room for the opener and two
// joiners, of 8 clients 3 are served and 5 get 503, and the reservations
// never pass the budget. Before, a joiner reserved 64 KiB and all 8 were
// let in to hold their scans at once.
func TestJoinedScrapesReserveTheirShare(t *testing.T) {
	const clients = 8
	gate := make(chan struct{})
	var gated atomic.Bool
	big := bigUpstream(t, 2<<20)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gated.Load() {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
		resp, err := http.Get(big.URL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", textContentType)
		io.Copy(w, resp.Body)
	}))
	defer up.Close()

	reg := prometheus.NewRegistry()
	g := New(Options{Registry: reg, ScrapeTimeout: 30 * time.Second, MaxInflightBytes: 1 << 40})
	g.SetModules([]Module{exporterModule(t, "big", up.URL, true)})
	_, base := newTestGatewayFor(t, g)
	get := func() (int, string) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get(); status != 200 { // g learns the body's size
		t.Fatalf("first scrape: want 200, have %d %.200s", status, body)
	}
	g.mu.Lock()
	size := g.last["big"].Bytes
	g.mu.Unlock()
	if size < 2<<20 {
		t.Fatalf("the source's last body: want at least %d bytes, have %d", 2<<20, size)
	}
	mods := g.modules()
	opener := answerHeld(true) + mergedReservation(g, mods, true) // Go's client takes gzip
	joiner := answerHeld(true) + mergedReservation(g, mods, false)
	budget := opener + 2*joiner + minReservation // the opener and two joiners, not three joiners more
	g.SetAccess(Options{MaxInflightBytes: budget})
	g.lim.mu.Lock()
	g.lim.peak = 0
	g.lim.mu.Unlock()
	gated.Store(true)

	type answer struct {
		status int
		body   string
	}
	answers := make(chan answer, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			status, body := get()
			answers <- answer{status, body}
		})
	}
	memory := func() float64 {
		return testutil.ToFloat64(g.lim.refusals.WithLabelValues("memory"))
	}
	refusedBefore := memory()
	testkit.Eventually(t, "3 admitted, 5 refused, while the source is held", func() bool {
		_, _, live := g.lim.held()
		return live == 3 && memory()-refusedBefore == clients-3
	})
	close(gate)
	wg.Wait()
	close(answers)
	var ok, refused int
	for a := range answers {
		switch {
		case a.status == 200 && strings.Contains(a.body, `big{i="00000000",pad="`) && strings.Contains(a.body, `exporter="big"`):
			ok++
		case a.status == 503 && strings.Contains(a.body, "max_inflight_bytes"):
			refused++
		default:
			t.Errorf("unexpected answer: %d %.200s", a.status, a.body)
		}
	}
	if ok != 3 || refused != clients-3 {
		t.Errorf("want 3 × 200 and %d × 503, have %d × 200 and %d × 503", clients-3, ok, refused)
	}
	peak := peakReserved(g)
	if peak > budget || peak < opener+2*joiner {
		t.Errorf("the most reserved at once: want %d (the opener and two joiners), at most the budget %d; have %d", opener+2*joiner, budget, peak)
	}
	if _, bytes, live := g.lim.held(); bytes != 0 || live != 0 {
		t.Errorf("after the scrapes: want nothing reserved, have %d bytes for %d scrapes", bytes, live)
	}
}
