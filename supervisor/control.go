package supervisor

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/supervisor/tail"
)

// ErrMainProcess refuses to start, stop or restart the main process: its
// end ends the appliance.
var ErrMainProcess = errors.New("the main process (the command after --) cannot be stopped, started or restarted: its end ends the container; stop the container instead")

// UnknownProcessError names a process that does not exist, and those that do.
type UnknownProcessError struct {
	Name  string
	Known []string
}

func (e *UnknownProcessError) Error() string {
	return fmt.Sprintf("unknown process %q; known: %s", e.Name, strings.Join(e.Known, ", "))
}

// reasonStopped is the Reason of a process stopped through the control API.
const reasonStopped = "stopped through the control API; it stays stopped until a start"

// lookup finds a process by name for the control API; s.mu is held.
// The main process is p == nil, main == true.
func (s *Supervisor) lookup(name string) (p *process, main bool, err error) {
	if s.main != nil && name == MainName {
		return nil, true, nil
	}
	if p := s.procs[name]; p != nil {
		return p, false, nil
	}
	var known []string
	if s.main != nil {
		known = append(known, MainName)
	}
	known = append(known, slices.Sorted(maps.Keys(s.procs))...)
	if s.initial != nil {
		known = append(known, slices.Sorted(maps.Keys(s.initial))...)
	}
	return nil, false, &UnknownProcessError{Name: name, Known: known}
}

// running reports an error unless the supervisor runs (not starting up, not
// stopping); s.mu is held.
func (s *Supervisor) running() error {
	if s.phase != phaseRunning {
		return fmt.Errorf("the supervisor is %s: try again once it runs", s.phase)
	}
	return nil
}

// StopProcess stops one process, as a shutdown would (its stop signal, its
// grace, then SIGKILL), and waits for it to end. It stays stopped, whatever
// its restart policy, until StartProcess; a reload keeps it stopped unless
// its configuration changed.
func (s *Supervisor) StopProcess(name string) error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.stopProcess(name)
}

func (s *Supervisor) stopProcess(name string) error {
	s.mu.Lock()
	p, main, err := s.lookup(name)
	if err == nil && main {
		err = ErrMainProcess
	}
	if err == nil {
		err = s.running()
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	p.stop(closedChan()) // nothing else to wait for: SIGKILL right after its grace
	select {
	case <-p.done:
	case <-s.stopCh:
		return errors.New("the supervisor is stopping")
	}
	p.mu.Lock()
	p.st.State, p.st.Reason = StateStopped, reasonStopped
	p.mu.Unlock()
	p.logger.Info("process stopped through the control API")
	return nil
}

// StartProcess starts a process that is not running: stopped through the
// control API, autostart = false, or given up (failed, exited). A process
// already running is left alone.
func (s *Supervisor) StartProcess(name string) error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.startProcess(name, false)
}

// startProcess replaces the ended process by a new one with the same
// configuration, gate and counts; s.ctl is held.
func (s *Supervisor) startProcess(name string, restart bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, main, err := s.lookup(name)
	if err == nil && main {
		err = ErrMainProcess
	}
	if err == nil {
		err = s.running()
	}
	if err != nil {
		return err
	}
	select {
	case <-p.done:
	default:
		return nil // running, or waiting for its dependencies or its backoff
	}
	q := s.newProc(name, p.cfg, p.gate)
	q.deps = p.deps
	old := p.status()
	q.st.Restarts, q.st.LastExitCode = old.Restarts, old.LastExitCode
	if restart {
		q.st.Restarts++
		s.metrics.restarts.WithLabelValues(name).Inc()
	}
	s.procs[name] = q
	go q.run()
	q.logger.Info("process started through the control API")
	return nil
}

// RestartProcess stops a process (if it runs) and starts it again; its
// restart count goes up by one.
func (s *Supervisor) RestartProcess(name string) error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if err := s.stopProcess(name); err != nil {
		return err
	}
	return s.startProcess(name, true)
}

// SignalProcess sends sig to the process group of a running process (the
// main process too).
func (s *Supervisor) SignalProcess(name string, sig unix.Signal) error {
	s.mu.Lock()
	p, main, err := s.lookup(name)
	if main {
		p = s.main
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if p.status().PID == 0 {
		return fmt.Errorf("process %q is not running", name)
	}
	p.logger.Info("signal through the control API", "signal", unix.SignalName(sig))
	return p.signal(sig)
}

// Output gives the lines of a process's recent output (kept across its
// restarts: the last 200 lines, at most 64 KiB) after sequence number
// after, and a channel closed when another line comes.
func (s *Supervisor) Output(name string, after uint64) ([]tail.Line, <-chan struct{}, error) {
	s.mu.Lock()
	_, _, err := s.lookup(name)
	t := s.tails[name]
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	if t == nil { // not started yet: nothing to show; a long poll waits it out
		return nil, nil, nil
	}
	lines, more := t.Since(after)
	return lines, more, nil
}
