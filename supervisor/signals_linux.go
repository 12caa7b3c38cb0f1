package supervisor

import (
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// Forwarded are the signals HandleSignals passes on to the main process (or
// to every process without one).
func Forwarded() []os.Signal {
	return []os.Signal{unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGQUIT, unix.SIGALRM, unix.SIGTTIN, unix.SIGTTOU}
}

// HandleSignals returns the signal actor of corral, for its run group:
//
//   - SIGTERM or SIGINT: Stop (graceful shutdown); a second one: Kill.
//   - SIGHUP: reload, called on a goroutine of its own so that a slow reload
//     never delays a SIGTERM; HUPs arriving meanwhile coalesce into one more.
//   - the Forwarded signals: Signal.
//
// The signals are registered when HandleSignals is called, so that none is
// lost between building and running the group. execute does not return on
// SIGTERM: it keeps handling signals for the whole shutdown and returns on
// interrupt. SIGTERM and SIGINT are never unregistered (later ones are
// dropped), so corral never dies of Go's default handling with exit code 2.
func (s *Supervisor) HandleSignals(reload func()) (execute func() error, interrupt func(error)) {
	term := make(chan os.Signal, 4)
	signal.Notify(term, unix.SIGTERM, unix.SIGINT)
	other := make(chan os.Signal, 8)
	signal.Notify(other, append(Forwarded(), unix.SIGHUP)...)
	quit := make(chan struct{})
	var once sync.Once
	execute = func() error {
		defer signal.Stop(other)
		reloads := make(chan struct{}, 1)
		reloaded := make(chan struct{})
		go func() {
			defer close(reloaded)
			for range reloads {
				if reload != nil {
					reload()
				}
			}
		}()
		defer func() { close(reloads); <-reloaded }()
		terms := 0
		for {
			select {
			case sig := <-term:
				terms++
				if terms == 1 {
					s.logger.Info("shutting down", "signal", sig.String())
					s.Stop()
				} else {
					s.logger.Warn("second signal: killing every process now", "signal", sig.String())
					s.Kill()
				}
			case sig := <-other:
				if sig == unix.SIGHUP {
					select {
					case reloads <- struct{}{}:
					default: // one is already pending
					}
					continue
				}
				s.logger.Debug("forwarding signal", "signal", sig.String())
				s.Signal(sig)
			case <-quit:
				return nil
			}
		}
	}
	interrupt = func(error) { once.Do(func() { close(quit) }) }
	return execute, interrupt
}
