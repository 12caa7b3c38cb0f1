package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/sys/unix"
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
	Check        string    `json:"check,omitempty"` // http, tcp, exec or empty
	Ready        bool      `json:"ready"`
}

// gate opens when a process named NAME is first up, and stays open across
// its restarts and reloads: depends_on waits on it.
type gate struct {
	up, settled         chan struct{}
	upOnce, settledOnce sync.Once
}

func newGate() *gate { return &gate{up: make(chan struct{}), settled: make(chan struct{})} }

// open: the process is ready (or started, without a check).
func (g *gate) open() {
	g.upOnce.Do(func() { close(g.up) })
	g.settle()
}

// settle: the process is up, or will never be (failed, exited, removed).
func (g *gate) settle() { g.settledOnce.Do(func() { close(g.settled) }) }

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
	deps    []*gate // wait for each to be up (main: settled) before the first start
	logger  *slog.Logger

	stopCh, killCh     chan struct{}
	stopOnce, killOnce sync.Once
	done               chan struct{} // closed when run returned: nothing of it runs any more

	mu  sync.Mutex
	st  Status
	cur *child // the running child, if any
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

func (p *process) stop() { p.stopOnce.Do(func() { close(p.stopCh) }) }

func (p *process) kill() {
	p.stop()
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
	p.st.State, p.st.PID, p.st.StartTime, p.st.Ready = StateRunning, c.Pid, c.Start, false
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
		wait := g.up
		if p.main {
			wait = g.settled
		}
		select {
		case <-wait:
		case <-p.stopCh:
			p.setState(StateStopped)
			return
		}
	}
	attempt := 0           // backoff exponent; reset after a stable run
	var recent []time.Time // restarts within restart_window
	for {
		code, stopped := p.life(&attempt)
		if p.main {
			p.s.mainExited(code)
		}
		if stopped {
			p.setState(StateStopped)
			return
		}
		failure := code != 0
		if p.cfg.Restart == RestartNever || (p.cfg.Restart == RestartOnFailure && !failure) || p.main {
			state := StateExited
			if failure {
				state = StateFailed
			}
			p.giveUp(state, fmt.Sprintf("%s with exit code %d and is not restarted (restart = %q)", state, code, p.cfg.Restart))
			return
		}
		if p.cfg.MaxRestarts > 0 {
			now := time.Now()
			for len(recent) > 0 && now.Sub(recent[0]) > p.cfg.RestartWindow {
				recent = recent[1:]
			}
			if len(recent) >= p.cfg.MaxRestarts {
				p.giveUp(StateFailed, fmt.Sprintf("failed: restarted %d times within %s (max_restarts)", len(recent), p.cfg.RestartWindow))
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
		}
		p.mu.Lock()
		p.st.Restarts++
		p.mu.Unlock()
		p.s.metrics.restarts.WithLabelValues(p.name).Inc()
	}
}

// giveUp ends a process for good; a critical one stops the appliance.
func (p *process) giveUp(state, why string) {
	p.setState(state)
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

// life starts the process once and follows it until it ends. It returns the
// exit code and whether the process ended because it was stopped.
func (p *process) life(attempt *int) (code int, stopped bool) {
	p.setState(StateStarting)
	c, err := p.s.spawn(spec{name: p.name, command: p.cfg.Command, env: p.cfg.Env, dir: p.cfg.Dir, cred: p.cred, capture: true})
	if err != nil {
		code := startErrorCode(err)
		p.logger.Error("cannot start process", "command", p.cfg.Command[0], "exit_code", code, "err", err)
		p.ended(code)
		select {
		case <-p.stopCh:
			return code, true
		default:
			return code, false
		}
	}
	p.started(c)
	p.logger.Info("process started", "pid", c.Pid)
	var checked chan bool
	if kind := p.cfg.Ready.kind(); kind == "" {
		p.setReady(StateRunning)
	} else {
		checked = make(chan bool, 1)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { checked <- p.s.checkReady(ctx, p) }()
	}
	stable := time.NewTimer(p.cfg.Backoff.Reset)
	defer stable.Stop()
	stopCh, killCh := p.stopCh, p.killCh
	for {
		select {
		case e := <-c.Exited():
			c.drain()
			if stopped {
				c.Signal(unix.SIGKILL) // what the leader left behind in its group
			}
			p.ended(e.Code())
			p.logger.Info("process ended", "pid", c.Pid, "status", e.String(), "exit_code", e.Code(), "stopped", stopped)
			return e.Code(), stopped
		case ok := <-checked:
			checked = nil
			if ok {
				p.logger.Info("process ready")
				p.setReady(StateReady)
			} else {
				p.logger.Error("process not ready within its start timeout; killing it", "timeout", p.cfg.Ready.Timeout)
				c.Signal(unix.SIGKILL)
			}
		case <-stable.C:
			*attempt = 0
		case <-stopCh:
			stopCh, stopped = nil, true
			p.logger.Debug("stopping process", "signal", unix.SignalName(p.stopSig))
			if err := c.Signal(p.stopSig); err != nil {
				p.logger.Warn("cannot stop process", "err", err)
			}
		case <-killCh:
			killCh, stopped = nil, true
			p.logger.Warn("killing process group", "pid", c.Pid)
			c.Signal(unix.SIGKILL)
		}
	}
}

// backoff is the delay before restart number attempt (from 0): initial
// doubled each time, at most max, plus up to 20% jitter (still at most max).
func backoff(b Backoff, attempt int) time.Duration {
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if j := int64(d / 5); j > 0 {
		d += time.Duration(rand.Int64N(j))
	}
	return min(d, b.Max)
}
