package supervisor

import (
	"errors"
	"fmt"
	"slices"
)

// Reload reconciles the running processes with a new configuration: new
// ones start, removed ones stop, changed ones restart, unchanged ones are not
// touched. A configuration that does not validate is rejected and the
// running one stays.
func (s *Supervisor) Reload(processes map[string]ProcessConfig) error {
	next, err := prepare(processes, s.tasks, s.mainCmd != nil)
	if err != nil {
		return err
	}
	s.mu.Lock()
	phase := s.phase
	s.mu.Unlock()
	if phase != phaseRunning {
		return fmt.Errorf("supervisor is %s, not running: reload refused", phase)
	}
	r := reload{processes: next, reply: make(chan error, 1)}
	select {
	case s.reloads <- r:
		return <-r.reply
	case <-s.stopCh:
		return errors.New("supervisor is stopping: reload refused")
	}
}

// reconcile runs in Run's goroutine.
func (s *Supervisor) reconcile(next map[string]ProcessConfig) error {
	s.mu.Lock()
	var old []*process
	var added, changed, removed []string
	for _, name := range sortedKeys(s.procs) {
		p := s.procs[name]
		n, ok := next[name]
		switch {
		case !ok:
			removed = append(removed, name)
			old = append(old, p)
		case !equalConfig(n, p.cfg):
			changed = append(changed, name)
			old = append(old, p)
		}
	}
	start := make(map[string]ProcessConfig)
	for name, cfg := range next {
		if _, ok := s.procs[name]; !ok {
			added = append(added, name)
			start[name] = cfg
		} else if slices.Contains(changed, name) {
			start[name] = cfg
		}
	}
	s.mu.Unlock()
	slices.Sort(added)
	s.logger.Info("reloading", "added", added, "changed", changed, "removed", removed)
	s.stopAll(old)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range removed {
		delete(s.procs, name)
		s.gates[name].settle()
		delete(s.gates, name)
		s.metrics.remove(name)
	}
	select {
	case <-s.stopCh:
		return errors.New("supervisor stopped during reload")
	default:
	}
	s.launch(start)
	return nil
}

func equalConfig(a, b ProcessConfig) bool {
	return slices.Equal(a.Command, b.Command) && mapsEqual(a.Env, b.Env) && a.Dir == b.Dir &&
		a.User == b.User && a.Restart == b.Restart && a.Backoff == b.Backoff &&
		a.MaxRestarts == b.MaxRestarts && a.RestartWindow == b.RestartWindow &&
		a.Critical == b.Critical && slices.Equal(a.DependsOn, b.DependsOn) &&
		a.Ready.HTTP == b.Ready.HTTP && a.Ready.TCP == b.Ready.TCP && slices.Equal(a.Ready.Exec, b.Ready.Exec) &&
		a.Ready.Interval == b.Ready.Interval && a.Ready.Timeout == b.Ready.Timeout &&
		a.StopSignal == b.StopSignal
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
