package supervisor

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// runTasks runs every [task] to completion, one at a time, dependencies
// first and otherwise in name order. The first failure or timeout aborts
// start-up with an *ExitError (code 1); a Stop during the tasks ends the
// running one and returns the recorded result (nil for a plain stop).
func (s *Supervisor) runTasks() error {
	deps := make(map[string][]string, len(s.tasks))
	for name, t := range s.tasks {
		deps[name] = t.DependsOn
	}
	names, _ := order(deps) // no cycle: checked by New
	for _, name := range names {
		select {
		case <-s.stopCh:
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.result
		default:
		}
		err := s.runTask(name, s.tasks[name])
		if errors.Is(err, errStopped) {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.result
		}
		if err != nil {
			s.logger.Error("task failed; start-up aborted", "task", name, "err", err)
			return &ExitError{Code: 1, Reason: fmt.Sprintf("task %q: %v", name, err)}
		}
	}
	return nil
}

var errStopped = errors.New("stopped")

func (s *Supervisor) runTask(name string, t TaskConfig) error {
	logger := s.logger.With("task", name)
	var cred *Credential
	if t.User != "" {
		c, _ := LookupUser(t.User) // checked by Validate
		cred = &c
	}
	c, err := s.spawn(spec{name: name, command: t.Command, env: t.Env, dir: t.Dir, cred: cred, capture: true})
	if err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	logger.Info("task started", "pid", c.Pid)
	timeout := time.NewTimer(t.Timeout.Std())
	defer timeout.Stop()
	select {
	case e := <-c.Exited():
		c.drain(outputGrace)
		if !e.Success() {
			return fmt.Errorf("%s", e)
		}
		logger.Info("task done", "duration", time.Since(c.Start))
		return nil
	case <-timeout.C:
		c.Signal(unix.SIGKILL)
		<-c.Exited()
		return fmt.Errorf("timed out after %s", t.Timeout)
	case <-s.stopCh:
	}
	s.mu.Lock()
	wait := s.cfg.ProcessStopTimeout.Std()
	s.mu.Unlock()
	logger.Info("stopping task", "signal", "SIGTERM", "grace", wait)
	c.Signal(unix.SIGTERM)
	grace := time.NewTimer(wait)
	defer grace.Stop()
	select {
	case <-c.Exited():
		return errStopped
	case <-grace.C:
	case <-s.killCh:
	}
	c.Signal(unix.SIGKILL)
	<-c.Exited()
	return errStopped
}
