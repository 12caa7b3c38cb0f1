package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/corral-metrics/corral/source"
)

// The memory budget held while bodies are read: a budgeted reader counts
// against its scrape's ticket what the body it reads takes, and the
// ticket's reservation grows past what it was admitted with, or the read
// fails (see limits for admission).

// budgetStep is the most a budgeted reader reads at once, and the most a
// ticket's reservation grows past what its readers hold (see ticket.hold).
const budgetStep = 1 << 20

// A budgeted reader is the outermost reader of a body that ReadFrom reads
// into buf: before every read, and once the body is read (done), it holds
// against its ticket what the scrape holds for the body, capHalves/2 times
// buf's capacity plus bodyHalves/2 times the body read so far. Its reads
// are at most budgetStep, and leave buf room enough that ReadFrom does not
// grow it before the next one; when a read may fill it, the capacity held
// is that ReadFrom grows it to next (twice as much): so memory is held
// before buf is grown, and the body read runs at most a read ahead of what
// its scan holds. When the ticket cannot hold more, the read fails with
// the ticket's overBudget error.
type budgeted struct {
	r          io.Reader
	buf        *bytes.Buffer
	t          *ticket
	capHalves  int64
	bodyHalves int64
	held       int64 // of t.used
}

func (b *budgeted) Read(p []byte) (int, error) {
	c, n := int64(b.buf.Cap()), int64(b.buf.Len())
	if free := c - n; free > 2*bytes.MinRead {
		p = p[:min(int64(len(p)), free-bytes.MinRead, budgetStep)]
	} else {
		c = 2*c + bytes.MinRead // bytes.Buffer's growth: ReadFrom grows buf after this read
		p = p[:min(len(p), budgetStep)]
	}
	if err := b.hold(c, n); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}

// done holds what the whole body, read, takes.
func (b *budgeted) done() error {
	return b.hold(int64(b.buf.Cap()), int64(b.buf.Len()))
}

func (b *budgeted) hold(capacity, read int64) error {
	want := (b.capHalves*capacity + b.bodyHalves*read) / 2
	if want <= b.held {
		return nil
	}
	if !b.t.hold(want - b.held) {
		return b.t.overBudget(fmt.Sprintf("with %d bytes of the body read", read))
	}
	b.held = want
	return nil
}

// hold counts n more bytes of what the ticket's scrape holds while it
// reads its bodies (see budgeted). What its reservation covers passes
// without l.mu. Past it, the reservation grows, by up to budgetStep more
// than needed (so that a growing body takes l.mu once a step, not once a
// read), when the budget has room as admit judges it (half of it for one
// source's /proxy scrapes, and the only scrape holding memory always fits).
// Without room, stalled scrapes are cut and hold waits, at most l.stall,
// for the memory of those cut to come back; then it gives up: false, and n
// is not counted.
func (t *ticket) hold(n int64) bool {
	if t.used.Add(n) <= t.limit.Load() {
		return true
	}
	l := t.l
	end := time.Now().Add(l.stall)
	l.mu.Lock()
	defer l.mu.Unlock()
	for !t.released {
		used := t.used.Load()
		need := used - t.bytes
		if need <= 0 { // another reader of the ticket grew it
			return true
		}
		if l.roomFor(t, need) {
			if more := need + min(used, budgetStep); l.roomFor(t, more) {
				need = more
			}
			t.bytes += need
			t.limit.Store(t.bytes)
			l.bytes += need
			l.peak = max(l.peak, l.bytes)
			l.perMem[t.group] += need
			l.gauges()
			return true
		}
		now := time.Now()
		if l.cutStalled(now) {
			continue
		}
		if !l.cutHolding() || !now.Before(end) {
			t.used.Add(-n)
			return false
		}
		freed := l.freed
		l.mu.Unlock()
		timer := time.NewTimer(end.Sub(now))
		select {
		case <-freed:
		case <-timer.C:
		}
		timer.Stop()
		l.mu.Lock()
	}
	return true // released (a merged fetch's source that answered past the deadline): nothing left to count
}

// roomFor tells whether t's reservation may grow by more bytes; the
// rules of fits, for a scrape already admitted: a ticket and its mate (a
// merged fetch and the scrape that runs it) hold memory as one scrape.
// l.mu is held.
func (l *limits) roomFor(t *ticket, more int64) bool {
	budget := t.a.budget
	if budget < 0 {
		return true
	}
	own := t.bytes
	if t.mate != nil && !t.mate.released {
		own += t.mate.bytes
	}
	if l.bytes > own && l.bytes+more > budget {
		return false
	}
	return t.group == "" || l.perMem[t.group] <= t.bytes || l.perMem[t.group]+more <= budget/2
}

// split moves what t reserves beyond keep bytes to a ticket of its own,
// without a slot, for memory that outlives t's request: a merged fetch's,
// which the flight gives back once its last client has merged the bodies
// (see flight). Nothing is reserved anew. The two are mates: while both
// are live they hold memory as one scrape (see roomFor).
func (t *ticket) split(keep int64) *ticket {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	n := max(t.bytes-keep, 0)
	s := &ticket{l: l, a: t.a, group: t.group, bytes: n, mate: t}
	s.limit.Store(n)
	t.bytes -= n
	t.limit.Store(t.bytes)
	t.mate = s
	l.live[s] = true
	return s
}

// cutHolding tells whether a scrape that was cut still holds memory, which
// comes back once its handler has failed its write. l.mu is held.
func (l *limits) cutHolding() bool {
	for t := range l.live {
		if t.cut && t.bytes > 0 {
			return true
		}
	}
	return false
}

// errOverBudget is what fails a scrape whose body needs more memory than
// max_inflight_bytes has left (see ticket.hold).
var errOverBudget = errors.New("the memory for answers in flight is taken")

// overBudget is the error of a scrape whose reservation could not grow
// for a body, which what tells of ("with 1024 bytes of the body read"):
// 503 for a /proxy, the source down in a merge.
func (t *ticket) overBudget(what string) error {
	half := ""
	if t.group != "" {
		half = ", half of it for one source's /proxy scrapes"
	}
	return source.Fail(source.ReasonBusy, fmt.Errorf("%w (max_inflight_bytes = %s%s) %s: try again later", errOverBudget, formatSize(t.a.budget), half, what))
}
