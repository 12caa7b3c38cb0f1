package gateway

import (
	"maps"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// quietAfter is how long no scrape (of /metrics, an [endpoint] or /proxy)
// must have been in flight before the gateway gives back the garbage of
// the scrapes and what it kept for more than one at once; deepAfter, before
// it gives back all it kept for the next scrape but the memos (see trim).
const (
	quietAfter = 5 * time.Second
	deepAfter  = 30 * time.Second
)

// trimSlack is how much the heap may grow past what the last trim left
// before a quiet spell trims again: the garbage of small sources' scrapes
// is not worth a collection.
const trimSlack = 4 << 20

// trimmer gives memory back once the scrapes stop: see Gateway.trim.
type trimmer struct {
	mu     sync.Mutex
	kept   uint64 // the heap's resident bytes right after the last trim
	slack  uint64 // trimSlack; 0 in tests: every quiet spell trims
	trims  *prometheus.CounterVec
	sample []metrics.Sample
}

func newTrimmer(reg *prometheus.Registry) *trimmer {
	t := &trimmer{
		slack: trimSlack,
		trims: registerOrExisting(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_memory_trims_total",
			Help: "What corral gave back to the OS once no scrape had been in flight for a while, by result: trimmed (after 5 s: the scrapes' garbage, pooled buffers, and what it kept for more than one scrape of a source at once), skipped (after 5 s, when its heap had grown by less than 4 MiB since the last trim), deep (after 30 s: all it kept for the next scrapes but the memos).",
		}, []string{"result"})),
		sample: []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/unused:bytes"},
			{Name: "/memory/classes/heap/free:bytes"},
		},
	}
	for _, r := range []string{"trimmed", "skipped", "deep"} {
		t.trims.WithLabelValues(r)
	}
	return t
}

// resident is the heap's bytes the OS holds for corral: objects (live or
// garbage not yet collected), their size classes' waste, and free pages
// not returned. t.mu is held.
func (t *trimmer) resident() uint64 {
	metrics.Read(t.sample)
	var sum uint64
	for _, s := range t.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			sum += s.Value.Uint64()
		}
	}
	return sum
}

// trim runs once no scrape has been in flight for quietAfter, and again,
// deep, after deepAfter. What a burst of scrapes leaves behind stays
// otherwise: the Go runtime collects only when the heap grows (or every two
// minutes), so the garbage of the last scrapes, the pools' buffers and
// encoders, the scanners and body buffers kept for the next scrapes would
// hold the burst's memory for good.
//
// The first trim keeps one scanner per source (exposition.Source.Trim),
// with its tables, and one spare body buffer: what a steady Prometheus
// scraping every 15 s reuses, at no cost. The deep one keeps only the
// memos. Each collects twice (the first moves sync.Pools to their victim
// caches, the second frees them) and returns every free page to the OS.
// The first is skipped when the heap has not grown by trimSlack since the
// last trim. Never on a scrape's path: a timer calls it.
func (g *Gateway) trim(deep bool) {
	t := g.trimmer
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.resident(); !deep && t.slack > 0 && r < t.kept+t.slack {
		t.trims.WithLabelValues("skipped").Inc()
		return
	}
	p := &g.bufs
	p.mu.Lock()
	for name, list := range p.spare {
		if deep {
			delete(p.spare, name)
		} else if len(list) > 1 {
			clear(list[1:])
			p.spare[name] = list[:1]
		}
	}
	sources := slices.Collect(maps.Values(p.sources))
	p.mu.Unlock()
	for _, s := range sources {
		s.Trim(deep)
	}
	runtime.GC()
	debug.FreeOSMemory()
	t.kept = t.resident()
	result := "trimmed"
	if deep {
		result = "deep"
	}
	t.trims.WithLabelValues(result).Inc()
}
