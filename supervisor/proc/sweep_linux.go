package proc

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sweepRecheck is how often Sweep looks again without a SIGCHLD: a process
// reaped by a parent of its own, not by corral, sends corral nothing.
const sweepRecheck = 50 * time.Millisecond

// Sweep is the last stage of a shutdown (s6's stage 3): every process still
// alive in corral's PID namespace (as PID 1) or below it (as a subreaper)
// gets SIGTERM (and SIGCONT), and SIGKILL once grace has passed. It returns how many were
// found, once none is left or half a second after the SIGKILL. Run keeps reaping
// until Sweep returns, even after Stop.
func (r *Reaper) Sweep(grace time.Duration) int {
	defer r.Hold()()
	// Reap first: a process of a group that is Gone may still be a zombie
	// of corral's, and as PID 1 kill(-1) counts a zombie as left.
	r.reap()
	n := r.signalRest(unix.SIGTERM)
	if n == 0 {
		return 0
	}
	r.signalRest(unix.SIGCONT) // a stopped process acts on its SIGTERM too
	r.logger.Warn("final sweep: processes left after every process was stopped; sending SIGTERM", "processes", n, "grace", grace)
	tick := time.NewTicker(sweepRecheck)
	defer tick.Stop()
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	killed := false
	for r.signalRest(0) > 0 {
		select {
		case <-r.passed():
		case <-tick.C:
		case <-deadline.C:
			if killed {
				r.logger.Error("final sweep: processes still left after SIGKILL")
				return n
			}
			r.logger.Warn("final sweep: grace over; sending SIGKILL", "processes", r.signalRest(unix.SIGKILL))
			killed = true
			deadline.Reset(500 * time.Millisecond)
		}
	}
	return n
}

// signalRest sends sig (0: none, a check) to every process left: all of the
// PID namespace but corral when it is PID 1, else its descendants. It
// returns how many there are (as PID 1: 1 for any).
func (r *Reaper) signalRest(sig unix.Signal) int {
	if r.pid1 {
		if errors.Is(unix.Kill(-1, sig), unix.ESRCH) {
			return 0
		}
		return 1
	}
	// The lock keeps the reaper from reaping, so no child's pid is
	// recycled between the scan and the signal.
	r.mu.Lock()
	defer r.mu.Unlock()
	pids := descendants(os.Getpid())
	for _, pid := range pids {
		unix.Kill(pid, sig)
	}
	return len(pids)
}

// descendants lists the live (not zombie) processes below pid, from /proc.
func descendants(pid int) []int {
	procs := readProcs()
	parent := make(map[int]int, len(procs))
	for _, e := range procs {
		parent[e.pid] = e.ppid
	}
	var out []int
	for _, e := range procs {
		if !e.live() {
			continue
		}
		for q, hops := e.ppid, 0; q > 0 && hops < len(parent); q, hops = parent[q], hops+1 {
			if q == pid {
				out = append(out, e.pid)
				break
			}
		}
	}
	return out
}
