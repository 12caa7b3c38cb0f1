package supervisor

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/supervisor/tail"
)

// Process states, as Status reports them.
const (
	StateWaiting  = "waiting"  // for its dependencies
	StateStarting = "starting" // being started
	StateRunning  = "running"  // started; not (yet) ready if it has a check
	StateReady    = "ready"    // passed its readiness check
	StateBackoff  = "backoff"  // ended; restarts when the delay is over
	StateFailed   = "failed"   // gave up: failed with restart = never, or too many restarts
	StateExited   = "exited"   // ended and is not restarted
	StateStopped  = "stopped"  // stopped by corral
)

// Status is one process as the landing page and its JSON show it.
type Status struct {
	Name         string    `json:"name"`
	Main         bool      `json:"main,omitempty"`
	State        string    `json:"state"`
	PID          int       `json:"pid,omitempty"`
	Restarts     int       `json:"restarts"`
	StartTime    time.Time `json:"start_time,omitzero"`
	LastExitCode *int      `json:"last_exit_code,omitempty"`
	Check        string    `json:"check,omitempty"` // http, tcp, exec, notify or empty
	Ready        bool      `json:"ready"`
	// Reason says why it is in its state (how it last ended, a stop
	// through the control API, autostart = false); "" while it runs.
	Reason string `json:"reason,omitempty"`
}

// gate opens when a process named NAME is first up, and stays open across
// its restarts and reloads: depends_on waits on it until it is up or never
// will be (settled). The main process and the end of start-up wait for less
// (tried): until it was up or failed at least once, so that a process that
// is never ready, and restarts for ever, holds neither.
type gate struct {
	name                           string
	up, tried, settled             chan struct{}
	upOnce, triedOnce, settledOnce sync.Once
}

func newGate(name string) *gate {
	return &gate{name: name, up: make(chan struct{}), tried: make(chan struct{}), settled: make(chan struct{})}
}

// isUp reports whether the process was ever up.
func (g *gate) isUp() bool { return isClosed(g.up) }

// hasTried reports whether the process was ever up or failed at least once.
func (g *gate) hasTried() bool { return isClosed(g.tried) }

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// open: the process is ready (or started, without a check).
func (g *gate) open() {
	g.upOnce.Do(func() { close(g.up) })
	g.settle()
}

// fail: the process failed before it was ever up (an attempt, or a
// dependency's). It reports whether this is the first time.
func (g *gate) fail() (first bool) {
	g.triedOnce.Do(func() { close(g.tried); first = true })
	return first
}

// settle: the process is up, or will never be (failed, exited, removed).
func (g *gate) settle() {
	g.fail()
	g.settledOnce.Do(func() { close(g.settled) })
}

// process supervises one process: one goroutine (run) from its first start to
// its stop, restarting it by its policy.
type process struct {
	s       *Supervisor
	name    string
	cfg     ProcessConfig
	main    bool
	cred    *Credential
	stopSig unix.Signal
	gate    *gate
	deps    []*gate // wait for each before the first start (see await); fail if one never was up (main: start anyway)
	logger  *slog.Logger
	tail    *tail.Buffer // its recent output, kept across its restarts

	stopCh, killCh     chan struct{}
	stopOnce, killOnce sync.Once
	done               chan struct{} // closed when run returned: nothing of it runs any more

	mu          sync.Mutex
	st          Status
	stopTimeout time.Duration   // its own grace; 0: [supervisor] process_stop_timeout
	cur         *child          // the running child, if any
	sent        *child          // the child that was sent its stop signal
	release     <-chan struct{} // after its grace, SIGKILL waits for this (every process signalled)
}

// stop sends the stop signal to the running child now, if there is one,
// and makes run stop: a child started later is signalled by life. After its
// own grace, the group is killed once release is closed.
func (p *process) stop(release <-chan struct{}) {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.release = release
		c := p.cur
		if c != nil {
			p.sent = c
		}
		p.mu.Unlock()
		if c != nil {
			p.logger.Info("stopping process", "signal", unix.SignalName(p.stopSig), "pid", c.Pid, "grace", p.grace())
			if err := p.sendStop(c); err != nil {
				p.logger.Warn("cannot stop process", "err", err)
			}
		}
		close(p.stopCh)
	})
}

// sendStop sends the stop signal to c's group, then SIGCONT, as s6, runit
// and systemd do: a stopped group (SIGTSTP, SIGSTOP) acts on its stop
// signal instead of waiting out its grace for SIGKILL.
func (p *process) sendStop(c *child) error {
	if err := c.Signal(p.stopSig); err != nil {
		return err
	}
	if p.stopSig == unix.SIGCONT || p.stopSig == unix.SIGKILL {
		return nil
	}
	return c.Signal(unix.SIGCONT)
}

// grace is the process's own time between its stop signal and SIGKILL.
func (p *process) grace() time.Duration {
	p.mu.Lock()
	own := p.stopTimeout
	p.mu.Unlock()
	if own > 0 {
		return own
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.s.cfg.ProcessStopTimeout.Std()
}

func (p *process) setStopTimeout(d time.Duration) {
	p.mu.Lock()
	p.stopTimeout = d
	p.mu.Unlock()
}

// signal sends sig to the running child's group, if there is one.
func (p *process) signal(sig unix.Signal) error {
	p.mu.Lock()
	c := p.cur
	p.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Signal(sig)
}

func (p *process) kill() {
	p.stop(nil)
	p.killOnce.Do(func() { close(p.killCh) })
}

func (p *process) status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *process) setState(state string) {
	p.mu.Lock()
	p.st.State = state
	p.mu.Unlock()
}

func (p *process) setReady(state string) {
	p.mu.Lock()
	p.st.State, p.st.Ready = state, true
	p.mu.Unlock()
	p.s.metrics.ready.WithLabelValues(p.name).Set(1)
	p.gate.open()
}

func (p *process) started(c *child) {
	p.mu.Lock()
	p.st.State, p.st.PID, p.st.StartTime, p.st.Ready, p.st.Reason = StateRunning, c.Pid, c.Start, false, ""
	p.cur = c
	p.mu.Unlock()
	p.s.metrics.up.WithLabelValues(p.name).Set(1)
	p.s.metrics.startTime.WithLabelValues(p.name).Set(float64(c.Start.UnixNano()) / 1e9)
}

func (p *process) ended(code int) {
	p.mu.Lock()
	p.st.PID, p.st.Ready, p.st.LastExitCode = 0, false, &code
	p.cur = nil
	p.mu.Unlock()
	p.s.metrics.up.WithLabelValues(p.name).Set(0)
	p.s.metrics.ready.WithLabelValues(p.name).Set(0)
	p.s.metrics.lastExit.WithLabelValues(p.name).Set(float64(code))
}

// run is the process's life: wait for its dependencies, start it, restart it
// by its policy with backoff, until stopped or given up.
func (p *process) run() {
	defer close(p.done)
	p.setState(StateWaiting)
	for _, g := range p.deps {
		if !p.await(g) {
			p.setState(StateStopped)
			return
		}
		if !p.main && !g.isUp() {
			p.giveUp(StateFailed, fmt.Sprintf("failed: its dependency %q ended before it was up", g.name))
			return
		}
	}
	if p.main {
		var notUp []string
		for _, g := range p.deps {
			if !g.isUp() {
				notUp = append(notUp, g.name)
			}
		}
		if len(notUp) > 0 {
			slices.Sort(notUp)
			p.logger.Warn("starting the main process although some processes are not up: each failed before it was up, or waits for one that did; they go on by their restart policy", "not_up", notUp)
		}
	}
	if !p.main && p.s.stopping() {
		// What it waited for came up during the shutdown: start nothing.
		p.setReason("its dependencies came up during the shutdown; not started")
		p.setState(StateStopped)
		return
	}
	attempt := 0           // backoff exponent; reset after a stable run
	var recent []time.Time // restarts within restart_window
	for {
		code, stopped, cause := p.life(&attempt)
		if !stopped && p.s.stopping() {
			// The appliance is stopping: this exit is final. No restart,
			// and no failure that would override the main process's code.
			p.setReason(fmt.Sprintf("ended with exit code %d during the shutdown", code))
			stopped = true
		}
		if stopped {
			p.setState(StateStopped)
			return
		}
		p.missed("it ended before it was ever up")
		failure := !p.cfg.success(code)
		why := "" // why it ended, when corral ended it: not ready in time
		if cause != "" {
			why = cause + ", so stopped: "
		}
		if p.cfg.Restart == RestartNever || (p.cfg.Restart == RestartOnFailure && !failure) || p.main {
			state := StateExited
			if failure {
				state = StateFailed
			}
			p.giveUp(state, fmt.Sprintf("%s%s with exit code %d and is not restarted (restart = %q)", why, state, code, p.cfg.Restart))
			return
		}
		p.setReason(fmt.Sprintf("%sended with exit code %d; restarting (restart = %q)", why, code, p.cfg.Restart))
		if p.cfg.MaxRestarts > 0 {
			now := time.Now()
			for len(recent) > 0 && now.Sub(recent[0]) > p.cfg.RestartWindow.Std() {
				recent = recent[1:]
			}
			if len(recent) >= p.cfg.MaxRestarts {
				last := ""
				if why != "" {
					last = fmt.Sprintf("; the last time %sended with exit code %d", why, code)
				}
				p.giveUp(StateFailed, fmt.Sprintf("failed: restarted %d times within %s (max_restarts)%s", len(recent), p.cfg.RestartWindow, last))
				return
			}
			recent = append(recent, now)
		}
		delay := backoff(p.cfg.Backoff, attempt)
		attempt++
		p.setState(StateBackoff)
		p.logger.Info("restarting after backoff", "exit_code", code, "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-p.stopCh:
			t.Stop()
			p.setState(StateStopped)
			return
		case <-p.s.stopCh: // no restart during the shutdown
			t.Stop()
			p.setState(StateStopped)
			return
		}
		p.mu.Lock()
		p.st.Restarts++
		p.mu.Unlock()
		p.s.metrics.restarts.WithLabelValues(p.name).Inc()
	}
}

// await waits for the dependency g before p's first start: the main
// process until g was up or failed at least once, another process until g
// is up or never will be. While it waits, a failure of g before it was up
// counts as p's own (missed), so that the main process, waiting for p, does
// not wait for ever on a chain. It reports false if p was stopped meanwhile.
func (p *process) await(g *gate) bool {
	end, tried := g.settled, g.tried
	if p.main {
		end, tried = g.tried, nil
	}
	for {
		select {
		case <-end:
			return true
		case <-tried:
			tried = nil
			if g.isUp() || isClosed(end) {
				continue // up, or about to fail p for good
			}
			p.missed(fmt.Sprintf("its dependency %q failed before it was up; it waits until that one is", g.name))
		case <-p.stopCh:
			return false
		}
	}
}

// missed records that p failed before it was ever up (why): from now on the
// main process and the end of start-up no longer wait for it, while the
// processes that depend on it wait until it is up or gives up. It logs the
// first time only.
func (p *process) missed(why string) {
	if !p.main && !p.gate.isUp() && p.gate.fail() {
		p.logger.Warn("process not up: "+why+"; the main process and start-up no longer wait for it", "restart", p.cfg.Restart)
	}
}

func (p *process) setReason(why string) {
	p.mu.Lock()
	p.st.Reason = why
	p.mu.Unlock()
}

// giveUp ends a process for good; a critical one stops the appliance.
func (p *process) giveUp(state, why string) {
	p.mu.Lock()
	p.st.State, p.st.Reason = state, why
	p.mu.Unlock()
	p.gate.settle()
	if p.main {
		return // its exit code is the appliance's, see mainExited
	}
	if p.cfg.Critical && (state == StateFailed || p.cfg.Restart == RestartNever) {
		p.logger.Error("critical process "+why+"; stopping the appliance", "state", state)
		p.s.finish(&ExitError{Code: 1, Reason: fmt.Sprintf("critical process %q %s", p.name, why)})
		return
	}
	p.logger.Warn("process " + why)
}

// backoff is the delay before restart number attempt (from 0): initial
// doubled each time, at most max, plus up to 20% jitter (still at most max).
func backoff(b Backoff, attempt int) time.Duration {
	d, most := b.Initial.Std(), b.Max.Std()
	for i := 0; i < attempt && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	if j := int64(d / 5); j > 0 {
		d += time.Duration(rand.Int64N(j))
	}
	return min(d, most)
}
