package gateway

import (
	"context"
	"errors"
	"fmt"
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
// nothing, and the runner holds its slot until the fetch is over. What the
// fetch holds (the bodies, their scans) is reserved on a ticket of the
// flight's own, split from the runner's at the start, and given back with
// the bodies by the last client out, whichever it is. A client
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
	held *ticket     // the fetch's reservation; set by the runner before it fetches

	// Set before done is closed, read-only after.
	inputs  []exposition.Input
	fetched []fetched

	// guarded by flights.mu
	refs     int
	finished bool
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

// leaveFlight gives up a client's hold on f; the last one out gives its
// bodies back, and the fetch's reservation.
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
		f.held.release()
	}
}

// inputsFor is the client's copy of the flight's inputs. The client that
// ran the fetch (scans set) merges from the scans made while the bodies
// arrived, which the fetch's reservation covers; the others scan the
// bodies again, since a merge writes to the scan it uses. When the runner's
// client left, nobody takes the scans.
func inputsFor(f *flight, extra int, scans bool) []exposition.Input {
	in := make([]exposition.Input, len(f.inputs), len(f.inputs)+extra)
	copy(in, f.inputs)
	if !scans {
		for i := range in {
			in[i].Received = nil
		}
	}
	return in
}

// fetchFlight scrapes every module of f in parallel under f's deadline and
// sets f's inputs: a source that has not answered by then is down, and so
// is one whose body does not fit the budget along with f.held's
// reservation, which holds what the bodies take as they are read.
func (g *Gateway) fetchFlight(ctx context.Context, f *flight) {
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
			ct, rc, err := g.fetch(ctx, f.held, m, source.Request{Accept: f.acc}, buf, func(ct string) *exposition.Receiver {
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
// sent. The fetch holds the bodies, their scans while they arrive, the
// copy each source's scan keeps of its last body, and the merge of the
// client that ran it, from those scans (see inputsFor): openerShare, what
// the client that opens a flight is admitted on, and what the fetch holds
// of each body read. Every other client scans the shared bodies again and
// encodes its own answer: its scan tables and encoder state peaked at up
// to 2.1 times the body (a 7.4 MB body, in every format, gzip or not; see
// BENCHMARKS.md, Memory): joinerShare, what a client that joins a flight
// is admitted on and what it holds of each body once the bodies are in.
const (
	openerShare = 3
	joinerShare = 2
)

// mergedReservation is what a merged scrape of mods is admitted on for its
// sources, besides its answer's (answerHeld): see openerShare and
// joinerShare.
func mergedReservation(g *Gateway, mods []Module, created bool) int64 {
	share := int64(joinerShare)
	if created {
		share = openerShare
	}
	var est int64
	g.mu.Lock()
	for _, m := range mods {
		est += share * max(g.last[m.Name].size, minReservation)
	}
	g.mu.Unlock()
	return est
}

// holdScans holds against t, a merged scrape's ticket, share times the
// body of each of in before the scrape scans them: joinerShare for the
// bodies of a fetch it did not run (see inputsFor), one more for its own
// (corral's metrics, gathered for it). An input that does not fit the
// budget is left out of the merge, its source down as when its body did
// not fit the fetch; the others are merged.
func holdScans(t *ticket, in []exposition.Input, share int64) {
	for i := range in {
		n := int64(len(in[i].Body))
		if in[i].Err != nil || n == 0 {
			continue
		}
		if !t.hold(share * n) {
			err := t.overBudget(fmt.Sprintf("to merge its body of %d bytes", n))
			in[i] = exposition.Input{Name: in[i].Name, Labels: in[i].Labels, Err: err, Duration: in[i].Duration}
		}
	}
}

// merged serves a merged endpoint (/metrics, an [endpoint]) of the modules
// pick selects, and corral's own metrics when self is set, as a scrape
// under the limits. Concurrent scrapes that ask the sources the same share
// one flight and one slot. Each is admitted on what it is likely to hold
// (its answer's buffers, and see mergedReservation): past the budget, a
// joiner is refused like any other scrape. Once the bodies are in, each
// holds what its merge of them takes (see holdScans) before it merges.
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
		format, gz := negotiateMerged(r.Header), gzipAccepted(r.Header)
		f, created := g.flights.join(endpoint, mods, mergeAccept(format), Deadline(r, g.opts.ScrapeTimeout))
		defer g.leaveFlight(f)
		answer := answerHeld(gz)
		t, sw := g.admit(w, r, "", f.key, answer+mergedReservation(g, mods, created))
		if t == nil {
			return
		}
		defer t.release()
		ran := f.run.CompareAndSwap(false, true)
		if ran {
			f.held = t.split(answer)
			g.fetchFlight(r.Context(), f)
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
		t.hold(answer) // within what it was admitted on: always there
		inputs := inputsFor(f, 1, ran)
		if !ran {
			holdScans(t, inputs, joinerShare)
		}
		if self && g.opts.Registry != nil {
			inputs = append(inputs, g.gatherSelf(format))
			holdScans(t, inputs[len(inputs)-1:], joinerShare+1)
		}
		g.writeMerged(sw, format, gz, inputs)
	})
}
