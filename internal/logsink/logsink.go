// Package logsink is where corral's own log lines go: a bounded queue in
// front of stderr, so that a log call (on the signal path, in a shutdown)
// never waits on a slow or blocked stderr. Lines beyond the bound are
// dropped and counted in corral_log_lines_dropped_total.
package logsink

import (
	"io"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sink is an io.Writer for a log handler: each Write is one line, queued.
// It is an actor: Run writes the queue out until Stop.
type Sink struct {
	w       io.Writer
	lines   chan []byte
	dropped prometheus.Counter

	quit chan struct{}
	once sync.Once
}

// New makes a Sink in front of w that holds at most lines lines.
func New(w io.Writer, lines int) *Sink {
	return &Sink{
		w:     w,
		lines: make(chan []byte, lines),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "corral_log_lines_dropped_total",
			Help: "corral's own log lines dropped because its stderr did not keep up.",
		}),
		quit: make(chan struct{}),
	}
}

// Dropped is the count of dropped lines, to register.
func (s *Sink) Dropped() prometheus.Counter { return s.dropped }

// Write queues a copy of p, or drops it when the queue is full. It never
// blocks and never fails.
func (s *Sink) Write(p []byte) (int, error) {
	select {
	case s.lines <- append([]byte(nil), p...):
	default:
		s.dropped.Inc()
	}
	return len(p), nil
}

// Run writes the queued lines out until Stop.
func (s *Sink) Run() error {
	for {
		select {
		case b := <-s.lines:
			s.w.Write(b) // nowhere to report a failing stderr
		case <-s.quit:
			return nil
		}
	}
}

// Stop ends Run. It is safe to call more than once, and before or after Run.
func (s *Sink) Stop() { s.once.Do(func() { close(s.quit) }) }

// Flush writes out what is queued, once Run has returned, for at most
// bound: a blocked stderr must not hold corral's exit.
func (s *Sink) Flush(bound time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case b := <-s.lines:
				s.w.Write(b)
			default:
				return
			}
		}
	}()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
