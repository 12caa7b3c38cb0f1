package scripts

import (
	"sync"
	"sync/atomic"
	"time"
)

// A call is one run in progress for a parameter set, shared by the
// scrapes that wait for it. Its deadline is the latest of theirs, never
// past its limit (the first scrape's arrival plus the script's timeout):
// a scrape that joins with a later deadline than the run's extends it, so
// that joining never fails a scrape that would have succeeded alone. A
// run cut at its deadline takes no more scrapes.
//
// singleflight cannot carry the deadline its joiners move, hence this.
type call struct {
	done chan struct{}
	// Set before done is closed, read-only after.
	body []byte
	err  error

	started atomic.Bool // the run has its slots: a scrape that leaves now is not refused as busy

	mu    sync.Mutex
	end   time.Time // the run's deadline
	limit time.Time // end never passes it
	cut   bool      // end passed: the run is being cut or is over
}

func newCall(deadline, limit time.Time) *call {
	if deadline.After(limit) {
		deadline = limit
	}
	return &call{done: make(chan struct{}), end: deadline, limit: limit}
}

// join moves the run's deadline to deadline if that is later, within its
// limit, and tells whether the run takes the scrape: not once it is cut.
func (c *call) join(deadline time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut || !time.Now().Before(c.end) {
		c.cut = true
		return false
	}
	if deadline.After(c.limit) {
		deadline = c.limit
	}
	if deadline.After(c.end) {
		c.end = deadline
	}
	return true
}

// deadline is the run's deadline now; a scrape that joins may move it on.
func (c *call) deadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.end
}

// left is the time to the run's deadline; once it is 0 the run is cut and
// its deadline moves no more.
func (c *call) left() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := time.Until(c.end)
	if d <= 0 {
		c.cut = true
		return 0
	}
	return d
}

// acquire takes a slot of l, waiting for one until the run's deadline,
// moved on or not, and reports whether it did.
func (c *call) acquire(l *Limiter) bool {
	for {
		if l.Acquire(c.deadline()) {
			return true
		}
		if c.left() == 0 {
			return false
		}
	}
}
