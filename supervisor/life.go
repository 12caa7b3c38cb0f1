package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/supervisor/proc"
)

// life starts the process once and follows it until it ends. It returns the
// exit code, whether the process ended because it was stopped, and why
// corral stopped it when it did so of its own accord (not ready within its
// start timeout, and the last check's failure), else "".
func (p *process) life(attempt *int) (code int, stopped bool, cause string) {
	p.setState(StateStarting)
	sp := spec{name: p.name, command: p.cfg.Command, env: p.cfg.Env, dir: p.cfg.Dir, cred: p.cred, capture: true, tail: p.tail, notifyFD: p.cfg.Ready.NotifyFD}
	if p.main {
		p.s.mu.Lock()
		sp.terminal, sp.capture = true, p.s.cfg.MainOutput == MainOutputPrefix
		p.s.mu.Unlock()
	}
	c, err := p.s.spawn(sp)
	if err != nil {
		code := startErrorCode(err)
		p.logger.Error("cannot start process", "command", p.cfg.Command[0], "exit_code", code, "err", err)
		p.ended(code)
		if p.main {
			p.s.mainExited(code)
		}
		select {
		case <-p.stopCh:
			return code, true, ""
		default:
			return code, false, ""
		}
	}
	p.started(c)
	p.logger.Info("process started", "pid", c.Pid)
	var checked chan error // the check's verdict: nil when ready
	if kind := p.cfg.Ready.kind(); kind == "" {
		p.setReady(StateRunning)
	} else if kind == "notify" {
		checked = make(chan error, 1)
		go func() { checked <- awaitNotify(c.notify, p.cfg.Ready.Timeout.Std()) }()
	} else {
		checked = make(chan error, 1)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { checked <- p.s.checkReady(ctx, p) }()
	}
	stable := time.NewTimer(p.cfg.Backoff.Reset.Std())
	defer stable.Stop()
	var (
		stopCh, killCh = p.stopCh, p.killCh
		exited         = c.Exited()
		exit           *proc.Exit
		grace          *time.Timer // from the stop signal to the SIGKILL
		graceC         <-chan time.Time
		awaited        <-chan struct{} // what the SIGKILL waits for after the grace
		release        <-chan struct{} // awaited, once the grace is over
	)
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	// signal sends the stop signal to the group (once) and starts its grace;
	// after it, the SIGKILL waits for rel too.
	signal := func(why string, rel <-chan struct{}) {
		p.mu.Lock()
		sent := p.sent == c
		p.sent = c
		p.mu.Unlock()
		if awaited == nil {
			awaited = rel
		}
		if !sent {
			p.logger.Info(why, "signal", unix.SignalName(p.stopSig), "pid", c.Pid, "grace", p.grace())
			if err := p.sendStop(c); err != nil {
				p.logger.Warn("cannot stop process", "err", err)
			}
		}
		if grace == nil {
			grace = time.NewTimer(p.grace())
			graceC = grace.C
		}
	}
	for {
		select {
		case e := <-exited:
			exited, exit = nil, &e
			p.ended(e.Code())
			p.logger.Info("process ended", "pid", c.Pid, "status", e.String(), "exit_code", e.Code(), "stopped", stopped)
			if p.main {
				p.s.mainExited(e.Code()) // the appliance stops now, not after the rest of the group
			}
			select {
			case <-c.Gone():
			default:
				// What the leader left in its group gets the stop signal and
				// its grace too, after a crash as at a stop.
				signal("process ended; stopping the rest of its group", closedChan())
			}
		case <-c.Gone():
			if exit == nil {
				continue // the exit is delivered with it: take it first
			}
			c.drain(p.s.outputWait())
			if stopped {
				cause = ""
			}
			return exit.Code(), stopped, cause
		case err := <-checked:
			checked = nil
			if err == nil {
				p.logger.Info("process ready")
				p.setReady(StateReady)
				continue
			}
			why := fmt.Sprintf("not ready within %s (%v)", p.cfg.Ready.Timeout, err)
			if errors.Is(err, errNotifyClosed) {
				why = fmt.Sprintf("not ready (%v)", err) // before its timeout
			}
			p.logger.Error("process not ready", "timeout", p.cfg.Ready.Timeout, "err", err)
			p.missed(why)
			if exit == nil {
				cause = why
			}
			signal("stopping process not ready", closedChan())
		case <-stable.C:
			*attempt = 0
		case <-stopCh:
			stopCh, stopped = nil, true
			p.mu.Lock()
			rel := p.release
			p.mu.Unlock()
			if rel == nil {
				rel = closedChan()
			}
			signal("stopping process", rel)
		case <-graceC:
			graceC, release = nil, awaited
		case <-release:
			release = nil
			p.logger.Warn("grace over; killing process group", "pid", c.Pid, "grace", p.grace())
			c.Signal(unix.SIGKILL)
		case <-killCh:
			killCh, stopped = nil, true
			p.logger.Warn("killing process group", "pid", c.Pid)
			c.Signal(unix.SIGKILL)
		}
	}
}

// closedChan returns a closed channel: nothing to wait for.
func closedChan() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}
