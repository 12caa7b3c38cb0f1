package scripts

import "time"

// A Limiter caps how many script runs are in progress at once. A run waits
// for a slot no longer than its deadline (Acquire), so two runs of one
// script with different parameters take turns instead of failing; what
// bounds the waiting is the gateway's own scrape slots and the deadline.
type Limiter struct {
	slots chan struct{}
}

// NewLimiter allows n runs at once; n <= 0 means no limit.
func NewLimiter(n int) *Limiter {
	if n <= 0 {
		return &Limiter{}
	}
	return &Limiter{slots: make(chan struct{}, n)}
}

// TryAcquire takes a slot if one is free and reports whether it did.
// A nil Limiter has no limit.
func (l *Limiter) TryAcquire() bool {
	if l == nil || l.slots == nil {
		return true
	}
	select {
	case l.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Acquire takes a slot, waiting for one until deadline, and reports whether
// it did. Waiters are served about in the order they came.
func (l *Limiter) Acquire(deadline time.Time) bool {
	if l.TryAcquire() {
		return true
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

// Release gives back a slot taken by TryAcquire or Acquire.
func (l *Limiter) Release() {
	if l == nil || l.slots == nil {
		return
	}
	<-l.slots
}

// Cap is the number of runs allowed at once, 0 for no limit.
func (l *Limiter) Cap() int {
	if l == nil {
		return 0
	}
	return cap(l.slots)
}
