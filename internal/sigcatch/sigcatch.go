// Package sigcatch takes every catchable signal while the program's
// packages are still being initialised.
//
// The Go runtime installs its own signal handlers before any package is
// initialised, and until os/signal is told otherwise they end the program:
// exit 2 for SIGTERM, SIGINT or SIGHUP, a goroutine dump for SIGQUIT. For
// PID 1, whose signals the kernel drops while no handler is installed, that
// is the one way a signal can end it. This package imports nothing but
// os/signal and syscall, so it is initialised among the first packages (Go
// initialises packages in import path order, each once its imports are),
// well before main and the heavy dependencies: the window left is the
// runtime's own start-up. This is corral's one init(), against STYLE.md's
// rule 3 on purpose: taking the signals on main's first line (rule 4) left
// a window twice as long (BENCHMARKS.md, "a SIGTERM at start-up"), and the
// only state it holds is the channel it hands to supervisor.CatchSignals.
package sigcatch

import (
	"os"
	"os/signal"
	"syscall"
)

var caught = make(chan os.Signal, 64)

func init() { signal.Notify(caught, Catchable()...) }

// Catchable lists the signals taken: 1 to 31 but KILL and STOP (which cannot
// be caught), CHLD (the reaper's), URG and PROF (the Go runtime's own); and
// the real-time signals 35 to 64 (glibc's SIGRTMIN+1 to SIGRTMAX).
//
// 32 to 34 cannot be taken: os/signal delivers none of them (the runtime's
// sigtab for linux gives them no _SigNotify). The runtime handles 33 itself
// (its per-thread syscalls) and drops one sent from outside; 32 (glibc's
// SIGCANCEL) and 34 (musl's SIGSYNCCALL, glibc's and Docker's SIGRTMIN)
// keep their default action, which ends a program that is not PID 1 (PID 1
// of a namespace: the kernel drops them).
func Catchable() []os.Signal {
	var out []os.Signal
	for sig := syscall.Signal(1); sig <= 64; sig++ {
		switch sig {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD, syscall.SIGURG, syscall.SIGPROF, 32, 33, 34:
			continue
		}
		out = append(out, sig)
	}
	return out
}

// Caught is the channel every caught signal queues on (64 deep; later ones
// are dropped until it is read).
func Caught() chan os.Signal { return caught }

// Release gives the catch up, for a program that imports corral's packages
// but is not corral (the supervisor's test binary, run as a supervised
// child): the signals caught so far are raised again, so they meet the
// handlers installed since or their default action, as if nothing had
// caught them. Call it first thing; corral never does.
func Release() {
	signal.Stop(caught)
	for {
		select {
		case s := <-caught:
			syscall.Kill(syscall.Getpid(), s.(syscall.Signal))
		default:
			return
		}
	}
}
