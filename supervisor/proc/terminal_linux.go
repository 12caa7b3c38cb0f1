package proc

import (
	"os/signal"

	"golang.org/x/sys/unix"
)

// forking prepares the fork of a child (foreground: one that takes corral's
// controlling terminal, Cmd.Foreground) and returns what to call once the
// child has exec'd, or failed to. r.mu is held from one to the other, so
// forks never overlap.
//
// A child that takes the terminal leaves corral in a background group of
// it. From that fork on corral ignores SIGTTIN and SIGTTOU, as tini does:
// with `stty tostop` each line it writes to the terminal (its log, a
// process's prefixed output) raises SIGTTOU otherwise, and the kernel
// retries a write whose SIGTTOU is caught, raising it again, for as long as
// it is caught (or fails it with EIO when corral's group is orphaned, as in
// a container, where corral leads its session). Nor does the signal actor
// get them to forward any more: a SIGTTOU forwarded to the main process
// would stop it.
//
// But exec keeps an ignored signal ignored, and a program must start with
// SIGTTIN and SIGTTOU at their default action (a background job reading
// the terminal stops; it does not get EIO). tini resets them between fork
// and exec. Go has no hook there: its runtime resets in the child only the
// signals it catches (os/signal.Notify), and keeps the ignored ones
// ignored. So, once corral is in the background, each fork runs with the
// two caught, on a channel nobody reads (not the signal actor's), and they
// are ignored again once the child has exec'd: every child, the main
// process first, starts with them at their default. Without a terminal
// none of this happens.
//
// The cost: catching and ignoring them again takes some 50-100 µs (a
// round trip to the runtime's signal thread; measured on a busy 2-core
// machine where the fork and exec of /bin/true took 6-15 ms). And while a
// fork runs, a line corral writes to the terminal under tostop waits in
// that retry loop, a CPU busy, until the child has exec'd; it fails with
// EIO, and is lost, when corral's group is orphaned.
//
// Weighed and left: a trampoline (corral exec'd again to reset them and
// exec the command) costs a second exec of a Go program per child, on
// every scrape of a script; blocking SIGTTOU instead of ignoring it (the
// kernel lets a thread that blocks it write too) holds per thread, while
// Go writes from any, and a child forked from such a thread would start
// with it blocked; clone3's CLONE_CLEAR_SIGHAND resets caught signals
// only, not ignored ones.
func (r *Reaper) forking(foreground bool) (forked func()) {
	if foreground && !r.background {
		// The hand-over: SIGTTIN and SIGTTOU are the signal actor's no more.
		signal.Ignore(unix.SIGTTIN, unix.SIGTTOU)
		r.background = true
	}
	if !r.background {
		return func() {}
	}
	signal.Notify(r.tty, unix.SIGTTIN, unix.SIGTTOU)
	return func() { signal.Ignore(unix.SIGTTIN, unix.SIGTTOU) }
}
