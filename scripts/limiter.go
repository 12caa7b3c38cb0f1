package scripts

// A Limiter caps how many script runs are in progress at once. It never
// queues: TryAcquire answers at once, so a flood of distinct parameter values
// is refused (503) instead of piling up forks or goroutines.
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

// Release gives back a slot taken by TryAcquire.
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
