package supervisor

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/sigcatch"
)

// Signals is corral's hold on every catchable signal. sigcatch takes it
// before main runs, before the configuration is read, so that no
// signal meets Go's default handling (exit 2, or a goroutine dump); the
// signals queue until the signal actor of HandleSignals runs.
type Signals struct {
	ch chan os.Signal
}

// What corral does with each signal.
const (
	actStop    = "stop"    // graceful shutdown; a second one: kill
	actReload  = "reload"  // reload the configuration
	actForward = "forward" // to the main process's group, or every process's
	actIgnore  = "ignore"  // a fault signal sent from outside, and the like
)

// action is what corral does on sig: signals 1 to 31 (but KILL and STOP,
// which cannot be caught; CHLD is the reaper's, URG and PROF the Go
// runtime's own) and the real-time signals 35 to 64 (32 to 34 cannot be
// caught; see sigcatch.Catchable).
func action(sig unix.Signal) string {
	if sig >= 35 && sig <= 64 {
		// SIGRTMIN+n, as tini and dumb-init forward them: a systemd-style
		// image's STOPSIGNAL SIGRTMIN+3, `docker kill --signal=SIGRTMIN+n`.
		return actForward
	}
	switch sig {
	case unix.SIGTERM, unix.SIGINT:
		return actStop
	case unix.SIGHUP:
		return actReload
	case unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGQUIT, unix.SIGALRM, unix.SIGTTIN, unix.SIGTTOU,
		unix.SIGCONT, unix.SIGTSTP, unix.SIGVTALRM, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGPWR, unix.SIGIO:
		return actForward
	}
	// ILL, TRAP, ABRT, BUS, FPE, SEGV, SYS, STKFLT sent with kill(2):
	// forwarding a fault signal would kill the main process, and corral has
	// no fault; PIPE: a write to a closed pipe returns EPIPE instead.
	return actIgnore
}

// CatchSignals hands corral every catchable signal (sigcatch.Catchable),
// taken by sigcatch while the packages were initialised, with the ones that
// arrived since queued; see Signals.
func CatchSignals() *Signals {
	return &Signals{ch: sigcatch.Caught()}
}

// HandleSignals returns the signal actor of corral, for its run group. For
// each signal (see action):
//
//   - SIGTERM or SIGINT: Stop (graceful shutdown); a second one: Kill.
//   - SIGHUP: reload, called on a goroutine of its own so that a slow reload
//     never delays a SIGTERM; HUPs arriving meanwhile coalesce into one more.
//     No reload starts once a stop has begun.
//   - USR1, USR2, WINCH, QUIT, ALRM, TTIN, TTOU, CONT, TSTP, VTALRM, XCPU,
//     XFSZ, PWR, IO: Signal (forwarded); TTIN and TTOU are ignored once the
//     main process has the terminal (see proc.Cmd.Foreground); and the
//     real-time signals 35 to 64 (SIGRTMIN+1 to SIGRTMAX).
//   - the rest (fault signals sent from outside, PIPE): ignored.
//
// The signals that queued while corral started up (sigcatch took them
// before main) are acted on here, when the actor is made, before the run
// group runs: a SIGTERM that came while the configuration was read stops the
// supervisor before it has started anything.
//
// execute does not return on SIGTERM: it keeps handling signals for the
// whole shutdown and returns on interrupt, after the reload in progress, if
// any, has ended or reloadWait has passed (a reload may hang reading its
// configuration; the shutdown does not wait on it). The signals are never
// released, so corral never dies of one: later ones are dropped.
func (s *Supervisor) HandleSignals(sigs *Signals, reload func()) (execute func() error, interrupt func(error)) {
	quit := make(chan struct{})
	var once sync.Once
	reloads := make(chan struct{}, 1)
	terms := 0
	handle := func(got os.Signal) {
		sig, _ := got.(unix.Signal)
		switch action(sig) {
		case actStop:
			terms++
			if terms == 1 {
				s.logger.Info("shutting down", "signal", sig.String())
				s.Stop()
			} else {
				s.logger.Warn("second signal: killing every process now", "signal", sig.String())
				s.Kill()
			}
		case actReload:
			select {
			case reloads <- struct{}{}:
			default: // one is already pending
			}
		case actForward:
			s.logger.Debug("forwarding signal", "signal", sig.String())
			s.Signal(sig)
		default:
			s.logger.Debug("ignoring signal", "signal", sig.String())
		}
	}
	for queued := true; queued; {
		select {
		case got := <-sigs.ch:
			handle(got)
		default:
			queued = false
		}
	}
	execute = func() error {
		reloaded := make(chan struct{})
		go func() {
			defer close(reloaded)
			for {
				select {
				case <-reloads:
					if reload != nil && !s.stopping() {
						reload()
					}
				case <-quit:
					return
				}
			}
		}()
		for {
			select {
			case got := <-sigs.ch:
				handle(got)
			case <-quit:
				select {
				case <-reloaded:
				case <-time.After(reloadWait):
					s.logger.Warn("a reload is still running at exit; not waiting for it", "waited", reloadWait)
				}
				return nil
			}
		}
	}
	interrupt = func(error) { once.Do(func() { close(quit) }) }
	return execute, interrupt
}

// reloadWait bounds how long the signal actor waits, at exit, for a reload
// in progress.
const reloadWait = 2 * time.Second
