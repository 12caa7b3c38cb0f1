package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-metrics/corral/exposition"
	"github.com/corral-metrics/corral/source"
)

// A flight is one fetch of a merged endpoint's sources, shared by every
// scrape of that endpoint that asks the same of them while it runs: one
// request to each source and one scrape slot, however many clients wait on
// it. Each client merges and encodes the shared bodies in its own format.
//
// The first admitted client runs the fetch under the flight's own
// deadline, detached from its request: a client that leaves cancels
// nothing, and the runner holds its slot until the fetch is over. A client
// joins only a flight with the same wait as its own (the same
// X-Prometheus-Scrape-Timeout-Seconds, or none): opened when the client
// came or before, it gives every source as long as the client would have
// alone, and ends by the client's deadline. A flight with a shorter wait
// would cut off a source the client would have waited for (any client may
// send a short timeout), and one with a longer wait ends past the client's
// deadline: a client with another wait starts a flight of its own.
type flight struct {
	key  string    // the slot-sharing key: unique to the flight
	end  time.Time // the fetch's deadline
	wait time.Duration
	mods []Module
	acc  string // Accept presented upstream
	done chan struct{}
	run  atomic.Bool // taken by the client that runs the fetch

	// Set before done is closed, read-only after.
	inputs  []exposition.Input
	fetched []fetched

	// guarded by flights.mu
	refs     int
	finished bool
	claimed  bool // a client merges from the Receivers; the others rescan
}

// flights are the merged fetches in progress, by what they fetch.
type flights struct {
	mu   sync.Mutex
	seq  uint64
	open map[string]*flight
}

// join finds the open flight fetching what mods and accept ask with the
// same wait, or opens one; the caller leaves it when done with it.
// created tells whether it opened one.
func (fs *flights) join(endpoint string, mods []Module, accept string, wait time.Duration) (f *flight, created bool) {
	var what strings.Builder
	what.WriteString(endpoint)
	what.WriteString("\x00" + accept)
	what.WriteString("\x00" + strconv.FormatInt(int64(wait), 10))
	for _, m := range mods {
		what.WriteString("\x00" + m.Name)
	}
	end := time.Now().Add(wait)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.open[what.String()]; f != nil {
		f.refs++
		return f, false
	}
	if fs.open == nil {
		fs.open = map[string]*flight{}
	}
	fs.seq++
	f = &flight{
		key:  "merge\x00" + strconv.FormatUint(fs.seq, 10),
		end:  end,
		wait: wait,
		mods: mods,
		acc:  accept,
		done: make(chan struct{}),
		refs: 1,
	}
	fs.open[what.String()] = f
	return f, true
}

// forget closes f to newcomers; fs.mu is held.
func (fs *flights) forget(f *flight) {
	for k, o := range fs.open {
		if o == f {
			delete(fs.open, k)
		}
	}
}

// leave gives up a client's hold on f; the last one out gives its bodies
// back.
func (g *Gateway) leaveFlight(f *flight) {
	fs := &g.flights
	fs.mu.Lock()
	f.refs--
	last := f.refs == 0
	if last && !f.finished {
		fs.forget(f) // nobody ran it: every client was refused or left
	}
	release := last && f.finished
	fs.mu.Unlock()
	if release {
		for _, d := range f.fetched {
			d.rc.Release()
			g.putBuffer(f.mods[d.i].Name, d.buf)
		}
	}
}

// inputsFor is the client's copy of the flight's inputs. One client merges
// from the scans made while the bodies arrived; the others scan the bodies
// again, since a merge writes to the scan it uses.
func (g *Gateway) inputsFor(f *flight, extra int) []exposition.Input {
	g.flights.mu.Lock()
	first := !f.claimed
	f.claimed = true
	g.flights.mu.Unlock()
	in := make([]exposition.Input, len(f.inputs), len(f.inputs)+extra)
	copy(in, f.inputs)
	if !first {
		for i := range in {
			in[i].Received = nil
		}
	}
	return in
}

// fetchFlight scrapes every module of f in parallel under f's deadline and
// sets f's inputs: a source that has not answered by then is down, and so
// is one whose body does not fit the budget along with t's reservation.
func (g *Gateway) fetchFlight(ctx context.Context, f *flight, t *ticket) {
	defer func() {
		g.flights.mu.Lock()
		f.finished = true
		g.flights.forget(f)
		g.flights.mu.Unlock()
		close(f.done)
	}()
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), f.end)
	defer cancel()
	inputs := make([]exposition.Input, len(f.mods))
	results := make(chan fetched, len(f.mods)) // late scrapes never block
	for i, m := range f.mods {
		inputs[i] = exposition.Input{Name: m.Name, Labels: m.Labels}
		in := inputs[i] // a copy: the goroutine may outlive this call
		buf := g.getBuffer(m.Name)
		src := g.scanState(m.Name)
		go func() {
			start := time.Now()
			// Text is scanned while it arrives, the rest as soon as it has.
			ct, rc, err := g.fetch(ctx, t, m, source.Request{Accept: f.acc}, buf, func(ct string) *exposition.Receiver {
				return src.Receive(ct, g.opts.MergeLabel, &in)
			})
			d := time.Since(start)
			if err == nil {
				rc.Finish(buf.Bytes())
			}
			results <- fetched{i: i, ct: ct, buf: buf, rc: rc, err: err, d: d}
		}()
	}
	got := make([]bool, len(f.mods))
	for pending := len(f.mods); pending > 0; pending-- {
		select {
		case d := <-results:
			in := &inputs[d.i]
			in.ContentType, in.Body, in.Err, in.Duration, in.Received = d.ct, d.buf.Bytes(), d.err, d.d, d.rc
			got[d.i] = true
			f.fetched = append(f.fetched, d)
		case <-ctx.Done():
			// Cut off: whatever has not answered is down. Its goroutine
			// still owns its buffer and its Receiver's scanner, which are
			// left to the garbage collector.
			for i := range f.mods {
				if !got[i] {
					inputs[i].Err = source.Fail(source.ReasonTimeout, errors.New("no answer within the scrape deadline"))
					inputs[i].Duration = f.wait
				}
			}
			pending = 0
		}
	}
	f.inputs = inputs
}

// Reservations of a merged scrape, in multiples of what its sources last
// sent. The client that opens a flight holds the bodies, their scan while
// they arrive, and the copy each source's scan keeps of its last body. A
// client that joins it scans the shared bodies again and encodes its own
// answer: its scan tables and encoder state peaked at up to 2.1 times the
// body (a 7.4 MB body, in every format, gzip or not; see BENCHMARKS.md,
// Memory), where it used to reserve 64 KiB.
const (
	openerShare = 3
	joinerShare = 2
)

// mergedReservation is what a merged scrape of mods reserves of the
// budget: see openerShare and joinerShare.
func mergedReservation(g *Gateway, mods []Module, created bool) int64 {
	share := int64(joinerShare)
	if created {
		share = openerShare
	}
	est := int64(minReservation)
	g.mu.Lock()
	for _, m := range mods {
		est += share * max(g.last[m.Name].size, minReservation)
	}
	g.mu.Unlock()
	return est
}

// merged serves a merged endpoint (/metrics, an [endpoint]) of the modules
// pick selects, and corral's own metrics when self is set, as a scrape
// under the limits. Concurrent scrapes that ask the sources the same share
// one flight and one slot, and each reserves of the budget what it holds
// (see mergedReservation): past the budget, a joiner is refused like any
// other scrape.
func (g *Gateway) merged(endpoint string, pick func(Module) bool, self bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var mods []Module
		self := self
		for _, m := range g.modules() {
			if pick(m) {
				mods = append(mods, m)
			}
			if m.Name == g.opts.SelfSource {
				self = false // a module of that name wins
			}
		}
		format := negotiateMerged(r.Header)
		f, created := g.flights.join(endpoint, mods, mergeAccept(format), Deadline(r, g.opts.ScrapeTimeout))
		defer g.leaveFlight(f)
		est := mergedReservation(g, mods, created)
		t, sw := g.admit(w, r, "", f.key, est)
		if t == nil {
			return
		}
		defer t.release()
		if f.run.CompareAndSwap(false, true) {
			g.fetchFlight(r.Context(), f, t)
		}
		select {
		case <-f.done:
		case <-r.Context().Done():
		}
		if r.Context().Err() != nil {
			// Nobody to answer: no merge, and nothing the sources did wrong.
			g.logger.Debug("merged scrape abandoned: the client went away")
			return
		}
		g.writeMerged(sw, r, format, g.inputsFor(f, 1), self)
	})
}
