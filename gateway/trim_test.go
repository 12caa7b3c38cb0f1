package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/exposition"
	"github.com/corral-metrics/corral/internal/testkit"
)

// rounds of a big exporter's body: the same series, new values each scrape.
func bigBodies(series int) [][]byte {
	bodies := make([][]byte, 4)
	for r := range bodies {
		var b bytes.Buffer
		for i := range series {
			if i%100 == 0 {
				fmt.Fprintf(&b, "# HELP big_%03d_total Requests served.\n# TYPE big_%03d_total counter\n", i/100, i/100)
			}
			fmt.Fprintf(&b, "big_%03d_total{instance=\"host-%04d.example\",path=\"/api/v1/items\"} %d\n", i/100, i%100, 1000000+i*7+r*13)
		}
		bodies[r] = b.Bytes()
	}
	return bodies
}

// liveHeap is the heap's live bytes after two full collections: the
// first moves what sync.Pools hold to their victim caches, the second
// frees it.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestMemoryComesBack: after a burst of concurrent scrapes of a big source,
// merged and through a verified /proxy, in every format, with gzip and
// without, the two trims of a quiet spell bring the heap back to what it was before the first
// scrape plus the two memos of the source (its merge's, its /proxy's),
// exposition.MemoBytes of its body each, as the README's formula says.
// And the scrapes after the trim still answer.
func TestMemoryComesBack(t *testing.T) {
	bodies := bigBodies(10000)
	var n atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textContentType)
		w.Write(bodies[n.Add(1)%int64(len(bodies))])
	}))
	defer up.Close()
	reg := prometheus.NewRegistry()
	g := New(Options{Registry: reg, Metrics: NewMetrics(reg, BuildInfo{}), ScrapeTimeout: time.Minute}) // trimmed by hand below
	g.trimmer.slack = 0
	g.SetModules([]Module{exporterModule(t, "big", up.URL, true)})
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}

	scrape := func(path, accept string, gzip bool) error {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Accept", accept)
		if gzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %q: %s", path, accept, resp.Status)
		}
		return nil
	}
	kinds := []struct {
		path, accept string
		gzip         bool
	}{
		{"/metrics", "", false},
		{"/metrics", "application/openmetrics-text;version=1.0.0", true},
		{"/metrics", "application/vnd.google.protobuf;proto=io.prometheus.client;encoding=delimited", false},
		{"/proxy?module=big", "", true},
		{"/proxy?module=big", "text/plain;version=0.0.4", false},
		{"/proxy?module=big", "application/openmetrics-text;version=1.0.0", false},
	}

	base := liveHeap()
	const clients, each = 4, 3
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				k := kinds[(c+i)%len(kinds)]
				if err := scrape(k.path, k.accept, k.gzip); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	client.CloseIdleConnections()
	held := liveHeap()

	g.trim(false)
	light := liveHeap()
	g.trim(true)
	for _, result := range []string{"trimmed", "deep"} {
		if have := testutil.ToFloat64(g.trimmer.trims.WithLabelValues(result)); have != 1 {
			t.Errorf("corral_memory_trims_total{result=%q}: want 1, have %v", result, have)
		}
	}
	trimmed := liveHeap()
	if light <= trimmed {
		t.Errorf("the first trim keeps the tables and a body buffer: want more than after the deep one (%d), have %d", trimmed, light)
	}
	memo := uint64(exposition.MemoBytes(bodies[0]))
	const slack = 2 << 20 // metrics' series, connections, the test's own
	t.Logf("body %d bytes, memo %d; live heap: %d before the burst, %d after it, %d after the first trim, %d after the deep one (+%d = %.2f memos)",
		len(bodies[0]), memo, base, held, light, trimmed, int64(trimmed)-int64(base), float64(int64(trimmed)-int64(base))/float64(memo))
	if trimmed > base+2*memo+slack {
		t.Errorf("trimmed: want at most the heap before the burst (%d) + two memos (%d) + %d, have %d", base, 2*memo, slack, trimmed)
	}
	// What the source's scan states keep, measured apart from the rest of
	// the process (other tests' leftovers move the baseline): its two
	// memos, and nothing much else.
	g.bufs.mu.Lock()
	g.bufs.sources = nil // the next scrapes make new ones
	g.bufs.mu.Unlock()
	without := liveHeap()
	if kept := int64(trimmed) - int64(without); kept < int64(2*memo) || kept > int64(2*memo+2*memo/8+256<<10) {
		t.Errorf("the scan states keep %d bytes: want the two memos, %d", kept, 2*memo)
	} else {
		t.Logf("the scan states keep %d bytes for two memos of %d", kept, memo)
	}
	for _, k := range kinds {
		if err := scrape(k.path, k.accept, k.gzip); err != nil {
			t.Errorf("after the trim: %v", err)
		}
	}
}

// TestTrimWhenQuiet: the gateway trims once no scrape has been in flight
// for quietAfter, deep after deepAfter, not while one is, and again after
// the next one.
func TestTrimWhenQuiet(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := New(Options{Registry: reg, ScrapeTimeout: time.Minute, TrimWhenQuiet: true})
	g.lim.quietAfter, g.lim.deepAfter = 20*time.Millisecond, 60*time.Millisecond
	g.trimmer.slack = 0
	slow := &fakeSource{body: "slow 1\n", started: make(chan struct{}), release: make(chan struct{})}
	g.SetModules([]Module{{Name: "slow", Kind: "file", Source: slow}, {Name: "fast", Kind: "file", Source: &fakeSource{body: "fast 1\n"}}})
	_, base := newTestGatewayFor(t, g)
	count := func(result string) float64 { return testutil.ToFloat64(g.trimmer.trims.WithLabelValues(result)) }
	trims := func() float64 { return count("trimmed") }
	get := func(module string) {
		resp, err := http.Get(base + "/proxy?module=" + module)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	get("fast")
	testkit.Eventually(t, "a trim, then a deep one, after the first scrape", func() bool { return trims() == 1 && count("deep") == 1 })

	done := make(chan struct{})
	go func() { defer close(done); get("slow") }()
	<-slow.started
	get("fast") // ends while slow is in flight: not quiet
	// Ten quiet spells' time with a scrape in flight: no trim.
	time.Sleep(10 * g.lim.quietAfter)
	if have, deep := trims(), count("deep"); have != 1 || deep != 1 {
		t.Errorf("with a scrape in flight: want no trim, have %v and %v deep in all", have, deep)
	}
	close(slow.release)
	<-done
	testkit.Eventually(t, "a trim and a deep one once the scrape in flight ended", func() bool { return trims() == 2 && count("deep") == 2 })
}
