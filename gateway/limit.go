package gateway

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxConcurrentScrapes is [web] max_concurrent_scrapes when unset.
const DefaultMaxConcurrentScrapes = 64

// DefaultMaxInflightBytes is [web] max_inflight_bytes when unset: the
// memory budget of the bodies held for answers in flight.
const DefaultMaxInflightBytes = 128 << 20

// stallAfter is how long one write to a client may block before the
// request counts as stalled: waiting on its client, not working. A stalled
// request is cut (its write deadline set to now) when another needs its
// slot or its memory.
const stallAfter = time.Second

// minReservation is what a scrape reserves of the memory budget for a
// source that has not answered yet.
const minReservation = 64 << 10

// limits protect the appliance from its clients: a bounded number of
// scrapes (/metrics, /proxy) working at once, a memory budget for the bodies
// they hold, no request body, and a write deadline for every scrape. Nothing
// queues: what does not fit is refused with 503 at once, after stalled
// requests were cut to make room. One is made per Gateway.
type limits struct {
	refusals *prometheus.CounterVec
	cut      prometheus.Counter
	inflGa   prometheus.Gauge
	bytesGa  prometheus.Gauge
	stall    time.Duration // stallAfter; longer in tests

	mu     sync.Mutex
	slots  int              // slots taken
	bytes  int64            // bytes reserved
	peak   int64            // the most bytes reserved at once
	freed  chan struct{}    // closed (and made anew) when a slot or bytes are given back
	shares map[string]int   // coalescing key: the tickets sharing its slot
	per    map[string]int   // source: the slots its /proxy scrapes take
	perMem map[string]int64 // source: the bytes its /proxy scrapes reserve
	live   map[*ticket]bool // every ticket not yet released

	// onQuiet runs once no ticket has been live for quietAfter, with deep
	// false, and again after deepAfter, with deep true (see Gateway.trim);
	// nil: never. The timer is armed by the release that leaves no ticket
	// live, unless it is armed to fire sooner, and checks when it fires:
	// a busy gateway touches it once a quietAfter, not per scrape.
	onQuiet               func(deep bool)
	quietAfter, deepAfter time.Duration
	quiet                 *time.Timer
	armed                 bool // quiet will fire, at fireAt
	fireAt                time.Time
	lastIdle              time.Time // when the last ticket was released
	stage                 int       // of this quiet spell: 0 nothing done yet, 1 light trim done, 2 deep trim done
}

func newLimits(reg *prometheus.Registry) *limits {
	l := &limits{stall: stallAfter, quietAfter: quietAfter, deepAfter: deepAfter, freed: make(chan struct{}), shares: map[string]int{}, per: map[string]int{}, perMem: map[string]int64{}, live: map[*ticket]bool{}}
	l.refusals = registerOrExisting(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "corral_http_requests_refused_total",
		Help: "Requests refused before reaching an endpoint, by reason (busy: max_concurrent_scrapes reached; memory: max_inflight_bytes reached; body: a request body; forbidden: not in allow_networks; unauthorized: no valid bearer token).",
	}, []string{"reason"}))
	for _, r := range []string{"busy", "memory", "body", "forbidden", "unauthorized"} {
		l.refusals.WithLabelValues(r)
	}
	l.cut = registerOrExisting(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "corral_http_stalled_scrapes_cut_total",
		Help: "Scrapes cut because their client stopped reading while another scrape needed their slot or memory.",
	}))
	l.inflGa = registerOrExisting(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "corral_http_scrapes_in_flight",
		Help: "Slots of max_concurrent_scrapes taken now (coalesced scrapes, of a script or of a merged endpoint, share one).",
	}))
	l.bytesGa = registerOrExisting(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "corral_http_inflight_bytes",
		Help: "Bytes of max_inflight_bytes reserved now by scrapes in flight.",
	}))
	return l
}

func (l *limits) refused(reason string) { l.refusals.WithLabelValues(reason).Inc() }

// A ticket is one admitted scrape: its slot (or its share of a coalesced
// run's slot) and its reservation of the memory budget: what it was
// admitted with, grown as the bodies it reads need more (see hold). A
// merged fetch has one of its own, split from its runner's, with neither
// slot nor request (rc nil).
type ticket struct {
	l     *limits
	a     *access // the limits it was admitted under
	group string  // the source of a /proxy scrape; "": the merge
	key   string  // coalescing key; "": a slot of its own
	slot  bool    // holds its slot or share
	bytes int64   // reserved; guarded by l.mu, written with limit
	rc    *http.ResponseController
	mate  *ticket // split from it, or it from (see split); guarded by l.mu

	used  atomic.Int64 // what its readers hold (see hold)
	limit atomic.Int64 // bytes, for hold to read without l.mu

	// guarded by l.mu
	writing  time.Time // when the write in progress began; zero: none
	cut      bool
	released bool
}

// admit takes a slot (or joins the slot of key, when a scrape with that
// coalescing key is in flight) and reserves bytes of the budget. The
// /proxy scrapes of one source (group) take at most half the slots and half
// the budget: clients of one source, slow or not reading, do not lock out
// the others or the merged /metrics. What does
// not fit waits, at most l.stall and not past ctx, for room: a scrape that
// ends, or one whose client stopped reading and is cut. Then it is refused:
// reason says why. Nothing waits longer, so nothing queues.
func (l *limits) admit(ctx context.Context, a *access, group, key string, bytes int64, rc *http.ResponseController) (*ticket, string) {
	end := time.Now().Add(l.stall)
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		now := time.Now()
		reason := l.fits(a, group, key, bytes)
		if reason != "" && l.cutStalled(now) {
			reason = l.fits(a, group, key, bytes)
		}
		if reason == "" {
			break
		}
		if !now.Before(end) {
			return nil, reason
		}
		freed, wait := l.freed, min(l.nextStall(now), end.Sub(now))
		l.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-freed:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		l.mu.Lock()
		if ctx.Err() != nil {
			return nil, reason
		}
	}
	t := &ticket{l: l, a: a, group: group, key: key, slot: true, bytes: bytes, rc: rc}
	t.limit.Store(bytes)
	if key == "" || l.shares[key] == 0 {
		l.slots++
		l.per[group]++
	}
	if key != "" {
		l.shares[key]++
	}
	l.bytes += bytes
	l.peak = max(l.peak, l.bytes)
	l.perMem[group] += bytes
	l.live[t] = true
	l.gauges()
	return t, ""
}

// fits tells why a scrape with key and bytes does not fit now, or "".
// l.mu is held.
func (l *limits) fits(a *access, group, key string, bytes int64) string {
	if (key == "" || l.shares[key] == 0) && a.maxScrapes >= 0 {
		if l.slots >= a.maxScrapes || group != "" && l.per[group] >= (a.maxScrapes+1)/2 {
			return "busy"
		}
	}
	// One scrape always fits, however big: max_body_bytes bounds it.
	if a.budget >= 0 && l.bytes > 0 && l.bytes+bytes > a.budget {
		return "memory"
	}
	if a.budget >= 0 && group != "" && l.perMem[group] > 0 && l.perMem[group]+bytes > a.budget/2 {
		return "memory"
	}
	return ""
}

// nextStall is how long until the first scrape writing now counts as
// stalled, or l.stall when none is writing. l.mu is held.
func (l *limits) nextStall(now time.Time) time.Duration {
	wait := l.stall
	for t := range l.live {
		if !t.writing.IsZero() {
			wait = min(wait, t.writing.Add(l.stall).Sub(now))
		}
	}
	return max(wait, time.Millisecond)
}

// cutStalled cuts every scrape whose write has blocked for l.stall: its
// client is not reading. Its write deadline is set to now, so its handler
// fails its write at once and lets go of its memory, which counts as held
// until it has; its slot is free at once. It tells whether any was cut.
// l.mu is held.
func (l *limits) cutStalled(now time.Time) bool {
	any := false
	for t := range l.live {
		if t.cut || t.writing.IsZero() || now.Sub(t.writing) < l.stall {
			continue
		}
		t.cut = true
		t.rc.SetWriteDeadline(now) // goroutine-safe: the connection's deadline
		l.idleLocked(t)
		l.cut.Inc()
		any = true
	}
	return any
}

// idle gives back the ticket's slot, keeping its memory: its work is done
// and what is left is writing to the client.
func (t *ticket) idle() {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	t.l.idleLocked(t)
	t.l.gauges()
}

func (l *limits) idleLocked(t *ticket) {
	if !t.slot {
		return
	}
	t.slot = false
	if t.key != "" {
		if l.shares[t.key]--; l.shares[t.key] > 0 {
			return
		}
		delete(l.shares, t.key)
	}
	l.slots--
	if l.per[t.group]--; l.per[t.group] == 0 {
		delete(l.per, t.group)
	}
	l.wake()
}

// wake tells the scrapes waiting in admit that room was given back. l.mu
// is held.
func (l *limits) wake() {
	close(l.freed)
	l.freed = make(chan struct{})
}

// release gives everything back; safe to call twice and after a cut.
func (t *ticket) release() {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	t.l.releaseLocked(t)
	t.l.gauges()
}

func (l *limits) releaseLocked(t *ticket) {
	if t.released {
		return
	}
	l.idleLocked(t)
	l.bytes -= t.bytes
	if l.perMem[t.group] -= t.bytes; l.perMem[t.group] == 0 {
		delete(l.perMem, t.group)
	}
	t.released = true
	delete(l.live, t)
	l.wake()
	if len(l.live) == 0 && l.onQuiet != nil {
		l.lastIdle, l.stage = time.Now(), 0
		l.arm(l.lastIdle, l.quietAfter)
	}
}

// arm has the quiet timer fire d after now, unless it fires sooner. l.mu
// is held.
func (l *limits) arm(now time.Time, d time.Duration) {
	at := now.Add(d)
	if l.armed && !l.fireAt.After(at) {
		return
	}
	l.armed, l.fireAt = true, at
	if l.quiet == nil {
		l.quiet = time.AfterFunc(d, l.quietCheck)
		return
	}
	l.quiet.Reset(d)
}

// quietCheck runs when the quiet timer fires. With no ticket live since
// quietAfter ago, onQuiet(false); since deepAfter ago, onQuiet(true); each
// once a quiet spell. With none live but not for so long, the timer again
// for what is left; with one live, nothing until the release that leaves
// none.
func (l *limits) quietCheck() {
	l.mu.Lock()
	now := time.Now()
	if l.armed && now.Before(l.fireAt) {
		l.mu.Unlock() // a Reset raced this run: the timer fires again
		return
	}
	l.armed = false
	if len(l.live) > 0 || l.stage == 2 {
		l.mu.Unlock()
		return
	}
	idle := now.Sub(l.lastIdle)
	deep := l.stage == 1
	wait := l.quietAfter
	if deep {
		wait = l.deepAfter
	}
	if idle < wait {
		l.arm(now, wait-idle)
		l.mu.Unlock()
		return
	}
	l.stage++
	if !deep {
		l.arm(now, l.deepAfter-idle)
	}
	l.mu.Unlock()
	l.onQuiet(deep)
}

// writeStart and writeEnd bracket one write to the client; writeStart
// reports false when the scrape was cut.
func (t *ticket) writeStart() bool {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	t.writing = time.Now()
	return !t.cut
}

func (t *ticket) writeEnd() {
	t.l.mu.Lock()
	t.writing = time.Time{}
	t.l.mu.Unlock()
}

func (l *limits) gauges() {
	l.inflGa.Set(float64(l.slots))
	l.bytesGa.Set(float64(l.bytes))
}

// admit admits a scrape of r (see limits.admit), sets its write deadline and
// hands back the writer to answer it with; the caller releases the ticket.
// Refused, it has answered 503 and returns a nil ticket.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, group, key string, bytes int64) (*ticket, http.ResponseWriter) {
	a := g.access.Load()
	rc := http.NewResponseController(w)
	t, reason := g.lim.admit(r.Context(), a, group, key, bytes, rc)
	if t == nil {
		g.lim.refused(reason)
		w.Header().Set("Retry-After", "1")
		msg := fmt.Sprintf("too many scrapes in flight (max_concurrent_scrapes = %d, half of them for one source): try again later", a.maxScrapes)
		if reason == "memory" {
			msg = fmt.Sprintf("the memory for answers in flight is taken (max_inflight_bytes = %s): try again later", formatSize(a.budget))
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
		return nil, nil
	}
	deadline, extend := writeDeadline(r, g.opts.ScrapeTimeout, time.Duration(g.longest.Load()))
	rc.SetWriteDeadline(deadline)
	return t, &scrapeWriter{ResponseWriter: w, t: t, deadline: deadline, extend: extend}
}

// noBody refuses a request that carries a body (413) and closes its
// connection at once (refuse): no endpoint reads one, and one that is not
// read would keep the connection busy.
func (l *limits) noBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			l.refused("body")
			refuse(w, http.StatusRequestEntityTooLarge, "request body not allowed: corral's endpoints take none")
			return
		}
		next.ServeHTTP(w, r)
	})
}
