package supervisor

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// sweepGrace is what the final sweep gives a process left after every
// process was stopped, between SIGTERM and SIGKILL.
const sweepGrace = time.Second

// stopAll stops procs by deadline and waits for them; it returns false if
// abort was closed first (the stops go on: a shutdown takes them over).
//
// Stop signals go in reverse dependency order: a process gets its own once
// every process depending on it has ended, but at the latest when only the
// longest grace among procs is left before deadline. Each process's group
// is killed when its own grace is over, and never before every process in
// procs has had its stop signal. So every process gets its stop signal and
// its whole grace, and the last SIGKILL falls by deadline. Kill kills every
// group at once.
func (s *Supervisor) stopAll(procs []*process, deadline time.Time, abort <-chan struct{}) bool {
	if len(procs) == 0 {
		return true
	}
	dependents := make(map[*process][]*process)
	byName := make(map[string]*process)
	for _, p := range procs {
		if !p.main {
			byName[p.name] = p
		}
	}
	var longest time.Duration
	for _, p := range procs {
		longest = max(longest, p.grace())
		if p.main {
			for _, q := range procs {
				if q != p {
					dependents[q] = append(dependents[q], p)
				}
			}
			continue
		}
		for _, d := range p.cfg.DependsOn {
			if q := byName[d]; q != nil {
				dependents[q] = append(dependents[q], p)
			}
		}
	}
	latest := deadline.Add(-longest)
	signalled := make(chan struct{}) // every process has had its stop signal
	var pending, wg sync.WaitGroup
	pending.Add(len(procs))
	go func() { pending.Wait(); close(signalled) }()
	for _, p := range procs {
		wg.Go(func() {
			turn := time.NewTimer(time.Until(latest))
			defer turn.Stop()
		wait:
			for _, d := range dependents[p] {
				select {
				case <-d.done:
				case <-turn.C:
					p.logger.Warn("processes depending on it still run; stopping it now so that its grace fits", "deadline", time.Until(deadline).Round(time.Millisecond))
					break wait
				case <-s.killCh:
					break wait
				}
			}
			p.stop(signalled)
			pending.Done()
			<-p.done
		})
	}
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
		return true
	case <-abort:
		return false
	case <-s.killCh:
		s.logger.Warn("killing every process now")
	}
	for _, p := range procs {
		p.kill()
	}
	<-all
	return true
}

// outputWait is how long an ended child's output may be waited for (a
// daemon it started may hold its pipe): outputGrace, but during the
// shutdown not past its deadline, so that the wait stays inside
// stop_timeout and the final sweep is not put off.
func (s *Supervisor) outputWait() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase == phaseStopping {
		return min(outputGrace, max(0, time.Until(s.stopBy)))
	}
	return outputGrace
}

// shutdown stops every process and the main process, then sweeps what is
// left below corral.
func (s *Supervisor) shutdown() {
	s.mu.Lock()
	s.phase = phaseStopping
	cfg := s.cfg
	s.stopBy = time.Now().Add(cfg.StopTimeout.Std())
	procs := make([]*process, 0, len(s.procs)+1)
	for _, name := range slices.Sorted(maps.Keys(s.procs)) {
		procs = append(procs, s.procs[name])
	}
	if s.main != nil {
		procs = append(procs, s.main)
	}
	deadline := s.stopBy
	s.mu.Unlock()
	s.logger.Info("stopping", "processes", len(procs), "stop_timeout", cfg.StopTimeout)
	s.stopAll(procs, deadline, nil)
	s.reaper.Sweep(sweepGrace)
	s.setPhase(phaseStopped)
	s.logger.Info("stopped")
}
