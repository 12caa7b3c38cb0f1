package supervisor

import (
	"errors"
	"maps"
	"slices"
	"time"
)

// Reload reconciles the running processes with a new configuration: new
// ones start, removed ones stop, changed ones restart, unchanged ones are not
// touched; the [supervisor] settings apply from now on (a changed
// stop_timeout to the next stop). A configuration that does not validate is
// rejected and the running one stays. A reload asked for during start-up
// waits for it to finish; one during a shutdown is refused, and a shutdown
// pre-empts a reload in progress.
func (s *Supervisor) Reload(cfg Config, processes map[string]ProcessConfig) error {
	cfg.Defaults()
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, prefix("supervisor", err))
	}
	next, err := prepare(cfg, processes, s.tasks, s.mainCmd != nil)
	if err := errors.Join(append(errs, err)...); err != nil {
		return err
	}
	r := reload{cfg: cfg, processes: next, reply: make(chan error, 1)}
	s.ctl.Lock() // no control action replaces a process meanwhile
	defer s.ctl.Unlock()
	select {
	case s.reloads <- r:
		return <-r.reply
	case <-s.stopCh:
		return errors.New("supervisor is stopping: reload refused")
	case <-s.runDone:
		return errors.New("supervisor has stopped: reload refused")
	}
}

// reconcile runs in Run's goroutine.
func (s *Supervisor) reconcile(cfg Config, next map[string]ProcessConfig) error {
	s.mu.Lock()
	s.cfg = cfg
	var old []*process
	var added, changed, removed []string
	for _, name := range slices.Sorted(maps.Keys(s.procs)) {
		p := s.procs[name]
		n, ok := next[name]
		switch {
		case !ok:
			removed = append(removed, name)
			old = append(old, p)
		case !equalConfig(n, p.cfg):
			changed = append(changed, name)
			old = append(old, p)
		default:
			p.setStopTimeout(n.StopTimeout.Std()) // a new grace needs no restart
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
	if !s.stopAll(old, time.Now().Add(cfg.StopTimeout.Std()), s.stopCh) {
		// The shutdown takes over the stops in progress: the old
		// processes stay listed for it, and nothing new starts.
		return errors.New("supervisor stopped during reload")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range removed {
		delete(s.procs, name)
		s.gates[name].settle()
		delete(s.gates, name)
		delete(s.tails, name)
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
	return slices.Equal(a.Command, b.Command) && maps.Equal(a.Env, b.Env) && a.Dir == b.Dir &&
		a.User == b.User && a.Restart == b.Restart && a.Backoff == b.Backoff &&
		a.MaxRestarts == b.MaxRestarts && a.RestartWindow == b.RestartWindow &&
		a.Critical == b.Critical && slices.Equal(a.DependsOn, b.DependsOn) &&
		a.Ready.HTTP == b.Ready.HTTP && a.Ready.TCP == b.Ready.TCP && slices.Equal(a.Ready.Exec, b.Ready.Exec) &&
		a.Ready.Interval == b.Ready.Interval && a.Ready.Timeout == b.Ready.Timeout && a.Ready.NotifyFD == b.Ready.NotifyFD &&
		a.autostart() == b.autostart() && slices.Equal(a.SuccessExitCodes, b.SuccessExitCodes) &&
		a.StopSignal == b.StopSignal // StopTimeout applies without a restart
}
