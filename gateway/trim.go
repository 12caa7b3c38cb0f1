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
// must have been in flight before the gateway gives back what it keeps for
// the next one (see trim).
const quietAfter = 5 * time.Second

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
			Help: "Quiet spells after scrapes (5 s with none in flight), by what corral did: trimmed (gave back to the OS what it kept for the next scrapes and the garbage they left), or skipped (its heap had grown by less than 4 MiB since the last trim).",
		}, []string{"result"})),
		sample: []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/unused:bytes"},
			{Name: "/memory/classes/heap/free:bytes"},
		},
	}
	t.trims.WithLabelValues("trimmed")
	t.trims.WithLabelValues("skipped")
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

// trim runs once no scrape has been in flight for quietAfter. What a burst
// of scrapes leaves behind stays otherwise: the Go runtime collects only
// when the heap grows (or every two minutes), so the garbage of the last
// scrapes, the pools' buffers and encoders, and the idle scanners' tables
// and spare body buffers kept for the next scrape would hold the burst's
// memory for good. trim lets go of every spare body buffer, keeps one
// scanner and its memo per source (exposition.Source.Trim), collects twice
// (the first moves sync.Pools to their victim caches, the second frees
// them) and returns every free page to the OS. The next scrape grows what
// it needs again. It is skipped when the heap has not grown by trimSlack
// since the last trim. Never on a scrape's path: a timer calls it.
func (g *Gateway) trim() {
	t := g.trimmer
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.resident(); t.slack > 0 && r < t.kept+t.slack {
		t.trims.WithLabelValues("skipped").Inc()
		return
	}
	p := &g.bufs
	p.mu.Lock()
	p.spare = nil
	sources := slices.Collect(maps.Values(p.sources))
	p.mu.Unlock()
	for _, s := range sources {
		s.Trim()
	}
	runtime.GC()
	debug.FreeOSMemory()
	t.kept = t.resident()
	t.trims.WithLabelValues("trimmed").Inc()
}
