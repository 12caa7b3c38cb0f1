package proc

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// Reaper is the one owner of wait4 in corral. It reaps every child and every
// orphan re-parented to corral, hands each exit to whoever started that pid
// through Start, and keeps track of each started process group until no
// live member is left in it, so that Child.Signal never reaches a recycled group.
type Reaper struct {
	logger  *slog.Logger
	orphans prometheus.Counter
	pid1    bool

	// mu is held across fork and registration in Start, across each reap
	// pass, and across every group signal: a pid is always registered
	// before it is reaped, and a group is never signalled once the reaper
	// has seen it empty.
	mu       sync.Mutex
	leaders  map[int]*Child // by pid: started, not yet reaped
	groups   map[int]*Child // by group id: leader reaped, members may be left
	stopping bool           // Stop was called: Start refuses new children
	holds    int            // Hold calls not yet released: Run keeps reaping for them
	drained  chan struct{}  // closed once stopping, not held, and every leader reaped
	pass     chan struct{}  // closed (and replaced) after every reap pass
	// background: a child of Start took corral's controlling terminal
	// (Cmd.Foreground); corral ignores SIGTTIN and SIGTTOU from then on,
	// but while Start forks, when they are caught on tty (see forking).
	background bool

	tty  chan os.Signal // never read
	sigs chan os.Signal
	once sync.Once
}

// groupRecheck is how often Run looks at the tracked groups without a
// SIGCHLD: a group's last live member may end, or turn into a zombie, with
// its parent outside corral, and that sends corral nothing.
const groupRecheck = 250 * time.Millisecond

// ErrStopped is Start's error once Stop has been called.
var ErrStopped = errors.New("reaper: stopping, no new processes")

// NewReaper makes the reaper; Run makes it work. Build it before anything
// can start a process: when corral is not PID 1 it makes corral a child
// subreaper here, so that orphans of its children come to it from the
// first one on. It registers corral_orphans_reaped_total on reg.
func NewReaper(logger *slog.Logger, reg prometheus.Registerer) *Reaper {
	r := &Reaper{
		logger: logger,
		orphans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "corral_orphans_reaped_total",
			Help: "Processes reaped that corral did not start itself (re-parented orphans).",
		}),
		pid1:    os.Getpid() == 1,
		leaders: make(map[int]*Child),
		groups:  make(map[int]*Child),
		drained: make(chan struct{}),
		pass:    make(chan struct{}),
		tty:     make(chan os.Signal, 1),
		sigs:    make(chan os.Signal, 1),
	}
	if !r.pid1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			logger.Warn("cannot become a child subreaper; orphans may escape", "err", err)
		}
	}
	// Registered now, so that no SIGCHLD between here and Run is lost.
	signal.Notify(r.sigs, unix.SIGCHLD)
	if reg != nil {
		reg.MustRegister(r.orphans)
	}
	return r
}

// Orphans is the count of reaped processes that corral did not start.
func (r *Reaper) Orphans() prometheus.Counter { return r.orphans }

// Run reaps until Stop, and after Stop until every process started through
// Start has been reaped and handed to its owner (and any Sweep is over): in
// a run group the reaper may be interrupted before the supervisor has
// finished stopping its children, and their exits must still be delivered.
func (r *Reaper) Run() error {
	defer signal.Stop(r.sigs)
	recheck := time.NewTimer(groupRecheck)
	defer recheck.Stop()
	for {
		var tick <-chan time.Time // only while a group is tracked
		if r.reap() {
			recheck.Reset(groupRecheck)
			tick = recheck.C
		}
		select {
		case <-r.sigs:
		case <-tick:
		case <-r.drained:
			r.reap() // orphans that went with the last child
			r.mu.Lock()
			for pgid, c := range r.groups { // no one may signal them any more
				delete(r.groups, pgid)
				close(c.gone)
			}
			r.mu.Unlock()
			return nil
		}
	}
}

// Hold keeps Run reaping, even after Stop, until the returned release is
// called: the supervisor holds the reaper for its whole run, so that its
// shutdown and final sweep are reaped however the run group ends. Call it
// before Stop; release is safe to call more than once.
func (r *Reaper) Hold() (release func()) {
	r.mu.Lock()
	r.holds++
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			r.holds--
			r.checkDrained()
			r.mu.Unlock()
		})
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

// checkDrained closes drained once nothing keeps Run going; mu is held.
func (r *Reaper) checkDrained() {
	if r.stopping && r.holds == 0 && len(r.leaders) == 0 {
		select {
		case <-r.drained:
		default:
			close(r.drained)
		}
	}
}

// passed is closed after the next reap pass.
func (r *Reaper) passed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pass
}

// reap collects every child that has exited, and reports whether a group
// is still tracked. SIGCHLDs coalesce, so one signal may stand for many
// exits: loop until nothing more has exited.
func (r *Reaper) reap() (tracked bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		pid, ok := peek()
		if !ok {
			break
		}
		var ws unix.WaitStatus
		if !wait4(pid, &ws) {
			break
		}
		if c, ok := r.leaders[pid]; ok {
			delete(r.leaders, pid)
			// The pid is gone: close os/exec's pidfd now rather than when
			// the garbage collector finds the Cmd, so open files stay exact.
			c.proc.Release()
			c.exited <- Exit{Pid: pid, Status: ws}
			r.groups[pid] = c
			continue
		}
		r.orphans.Inc()
	}
	// A group's last member may have died (here, or reaped by a parent of
	// its own elsewhere), left it (setsid), or be a zombie no one reaps.
	r.closeEmpty()
	r.checkDrained()
	close(r.pass)
	r.pass = make(chan struct{})
	return len(r.groups) > 0
}

// closeEmpty closes the Gone of every tracked group with no live process
// left in it; mu is held. A zombie does not count: one whose parent lives
// in another session (a daemon that never waits) is never reaped by
// corral, yet it keeps its group id, so the group would never be empty.
// While it lasts, its pid, and so the group id, cannot be reused; once
// Gone is closed nothing signals the group.
func (r *Reaper) closeEmpty() {
	var live map[int]bool // read from /proc once, if a group is not plainly empty
	for pgid, c := range r.groups {
		if !errors.Is(unix.Kill(-pgid, 0), unix.ESRCH) {
			if live == nil {
				live = liveGroups()
			}
			if live[pgid] {
				continue
			}
		}
		delete(r.groups, pgid)
		close(c.gone)
	}
}

// peek returns the pid of a child that has exited, leaving it a zombie.
func peek() (int, bool) {
	for {
		var info childInfo
		_, _, errno := unix.Syscall6(unix.SYS_WAITID, unix.P_ALL, 0, uintptr(unsafe.Pointer(&info)),
			unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0: // ECHILD: no children at all
			return 0, false
		}
		return int(info.Pid), info.Pid > 0 // 0: none has exited yet
	}
}

// wait4 reaps pid, which has exited.
func wait4(pid int, ws *unix.WaitStatus) bool {
	for {
		got, err := unix.Wait4(pid, ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && got == pid
	}
}

// childInfo is the head of siginfo_t as waitid fills it for a child, on
// 64-bit Linux (si_pid follows three ints and the union's alignment).
type childInfo struct {
	Signo, Errno, Code, _ int32
	Pid                   int32
	UID                   uint32
	Status                int32
	_                     [100]byte
}
