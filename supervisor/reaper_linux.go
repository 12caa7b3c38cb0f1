package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// Exit is how a child ended, as wait4 reported it.
type Exit struct {
	Pid    int
	Status unix.WaitStatus
}

// Code is the exit code in tini's terms: the child's own code, or
// 128+signal when a signal killed it.
func (e Exit) Code() int {
	if e.Status.Signaled() {
		return 128 + int(e.Status.Signal())
	}
	return e.Status.ExitStatus()
}

// Success reports a zero exit.
func (e Exit) Success() bool { return e.Status.Exited() && e.Status.ExitStatus() == 0 }

func (e Exit) String() string {
	if e.Status.Signaled() {
		return fmt.Sprintf("killed by %s", e.Status.Signal())
	}
	return fmt.Sprintf("exit status %d", e.Status.ExitStatus())
}

// Reaper is the one owner of wait4 in corral. It reaps every child and every
// orphan re-parented to corral, and hands each exit to whoever started that
// pid through Start. Everything that runs a process goes through Start; no
// code calls exec.Cmd.Wait, Run or Output.
type Reaper struct {
	logger  *slog.Logger
	orphans prometheus.Counter

	// mu is held across fork and registration in Start and across each
	// wait4 pass in reap, so a pid is always registered before it is reaped.
	mu       sync.Mutex
	waiters  map[int]waiter
	stopping bool          // Stop was called: Start refuses new children
	drained  chan struct{} // closed by reap once stopping and no waiter is left

	sigs chan os.Signal
	once sync.Once
}

// ErrReaperStopped is Start's error once Stop has been called.
var ErrReaperStopped = errors.New("reaper: stopping, no new processes")

// NewReaper makes a reaper; Run makes it work. It registers
// corral_orphans_reaped_total on reg.
func NewReaper(logger *slog.Logger, reg prometheus.Registerer) *Reaper {
	r := &Reaper{
		logger: logger,
		orphans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "corral_orphans_reaped_total",
			Help: "Processes reaped that corral did not start itself (re-parented orphans).",
		}),
		waiters: make(map[int]waiter),
		drained: make(chan struct{}),
		sigs:    make(chan os.Signal, 1),
	}
	if reg != nil {
		reg.MustRegister(r.orphans)
	}
	return r
}

// Start starts cmd in a process group of its own and returns a channel that
// receives its exit exactly once. Do not use cmd.Process after Start: the
// reaper releases it (and its pidfd) when it reaps the child; use the pid
// from StartPid instead. Signal the child's group with
// unix.Kill(-pid, sig) only until its exit is received (after that, the pid
// may be recycled). cmd's Stdin, Stdout and Stderr must be nil
// or *os.File: anything else makes os/exec start copying goroutines that only
// Wait would end.
func (r *Reaper) Start(cmd *exec.Cmd) (<-chan Exit, error) {
	_, exited, err := r.StartPid(cmd)
	return exited, err
}

// StartPid is Start that also returns the child's pid, which is its process
// group id.
func (r *Reaper) StartPid(cmd *exec.Cmd) (int, <-chan Exit, error) {
	for _, f := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		switch f.(type) {
		case nil, *os.File:
		default:
			return 0, nil, errors.New("reaper: child stdio must be nil or *os.File")
		}
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	done := make(chan Exit, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return 0, nil, ErrReaperStopped
	}
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	pid := cmd.Process.Pid
	r.waiters[pid] = waiter{done: done, proc: cmd.Process}
	return pid, done, nil
}

type waiter struct {
	done chan Exit
	proc *os.Process
}

// Run reaps until Stop, and after Stop until every process started through
// Start has been reaped and handed to its owner: in a run group the reaper
// may be interrupted before the supervisor has finished stopping its
// children, and their exits must still be delivered. When corral is not
// PID 1 it first makes itself a child subreaper, so orphans of its children
// still come to it.
func (r *Reaper) Run() error {
	if os.Getpid() != 1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			r.logger.Warn("cannot become a child subreaper; orphans may escape", "err", err)
		}
	}
	signal.Notify(r.sigs, unix.SIGCHLD)
	defer signal.Stop(r.sigs)
	for {
		r.reap()
		select {
		case <-r.sigs:
		case <-r.drained:
			r.reap() // orphans that went with the last child
			return nil
		}
	}
}

// Stop makes Start refuse new processes and lets Run return once every
// process already started has been reaped. It is safe to call more than
// once, and before or after Run.
func (r *Reaper) Stop() {
	r.once.Do(func() {
		r.mu.Lock()
		r.stopping = true
		r.checkDrained()
		r.mu.Unlock()
	})
}

// checkDrained closes drained once stopping with no waiter left; mu is held.
func (r *Reaper) checkDrained() {
	if r.stopping && len(r.waiters) == 0 {
		select {
		case <-r.drained:
		default:
			close(r.drained)
		}
	}
}

// reap collects every child that has exited. SIGCHLDs coalesce, so one
// signal may stand for many exits: loop until wait4 has nothing more.
func (r *Reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return // ECHILD: no children; 0: none exited yet
		}
		if w, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			// The pid is gone: close os/exec's pidfd now rather than when
			// the garbage collector finds the Cmd, so open files stay exact.
			w.proc.Release()
			w.done <- Exit{Pid: pid, Status: ws}
			r.checkDrained()
			continue
		}
		r.orphans.Inc()
		r.logger.Debug("reaped orphan", "pid", pid, "status", Exit{Pid: pid, Status: ws}.String())
	}
}
