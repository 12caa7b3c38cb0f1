package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Kill is one child SIGKILLed under load and what followed.
type Kill struct {
	At      time.Time `json:"at"`
	PID     int       `json:"pid"`
	Comm    string    `json:"comm"`
	Process string    `json:"process"`           // the [process] it was, from the landing page
	Sources []string  `json:"sources,omitempty"` // the sources tied to that process
	// RestartedAfter is how long until the landing page showed the process
	// running with another pid; empty when it did not within -restart-within.
	RestartedAfter string `json:"restarted_after"`
	restarted      time.Duration
	// StartedAfter is from the kill to the new process's start time as
	// corral reports it: the backoff plus the fork, without the polling.
	StartedAfter string `json:"started_after"`
	started      time.Duration
	// GapScrapes are the /metrics scrapes the watcher made while the process
	// was down; GapUp0 of them showed every one of its sources with up 0;
	// GapFailed answered other than 200.
	GapScrapes int `json:"gap_scrapes"`
	GapUp0     int `json:"gap_up0"`
	GapFailed  int `json:"gap_failed"`
}

// killLoop SIGKILLs a random matching child of corral every o.killEvery
// until ctx ends, and watches each until it is back (or -restart-within
// passed). It returns the kills once every watcher is done.
func killLoop(ctx context.Context, c *http.Client, o options) []*Kill {
	if o.killEvery <= 0 || o.pid <= 0 {
		<-ctx.Done()
		return nil
	}
	var (
		kills []*Kill
		wg    sync.WaitGroup
	)
	tick := time.NewTicker(o.killEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return kills
		case <-tick.C:
		}
		k := killOne(c, o)
		if k == nil {
			continue
		}
		kills = append(kills, k)
		wg.Add(1)
		go func() {
			defer wg.Done()
			watch(c, o, k)
		}()
	}
}

// killOne picks a matching child that the landing page knows as a process,
// and kills it.
func killOne(c *http.Client, o options) *Kill {
	l, err := readLanding(c, o.base)
	if err != nil {
		return nil
	}
	var pick []proc
	for _, ch := range children(o.pid) {
		if ch.state != "Z" && o.killComm.MatchString(ch.comm) {
			pick = append(pick, ch)
		}
	}
	if len(pick) == 0 {
		return nil
	}
	ch := pick[rand.IntN(len(pick))]
	k := &Kill{PID: ch.pid, Comm: ch.comm}
	for _, p := range l.Processes {
		if p.PID == ch.pid {
			k.Process = p.Name
		}
	}
	for _, s := range l.Sources {
		if k.Process != "" && s.Process == k.Process {
			k.Sources = append(k.Sources, s.Name)
		}
	}
	k.At = time.Now()
	if syscall.Kill(ch.pid, syscall.SIGKILL) != nil {
		return nil
	}
	return k
}

// watch polls the landing page and /metrics every 100 ms until the killed
// process runs again under another pid, counting the scrapes in the gap.
func watch(c *http.Client, o options, k *Kill) {
	deadline := k.At.Add(o.restartWithin)
	for time.Now().Before(deadline) {
		if l, err := readLanding(c, o.base); err == nil && k.Process != "" {
			i := slices.IndexFunc(l.Processes, func(p landingProcess) bool { return p.Name == k.Process })
			// Back means started again after the kill: also when it has
			// since been killed again, which a slow poll under load can see.
			if i >= 0 && (l.Processes[i].Started.After(k.At) || l.Processes[i].PID > 0 && l.Processes[i].PID != k.PID &&
				(l.Processes[i].State == "running" || l.Processes[i].State == "ready")) {
				k.restarted = time.Since(k.At)
				k.RestartedAfter = k.restarted.Round(time.Millisecond).String()
				if st := l.Processes[i].Started; st.After(k.At) {
					k.started = st.Sub(k.At)
					k.StartedAfter = k.started.Round(time.Millisecond).String()
				}
				return
			}
		}
		if len(k.Sources) > 0 {
			k.GapScrapes++
			r, err := readMetrics(c, o)
			switch {
			case err != nil:
				k.GapFailed++
			case allDown(r, k.Sources):
				k.GapUp0++
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func allDown(r Reading, sources []string) bool {
	for _, s := range sources {
		if up, ok := r.SourceUp[s]; !ok || up != 0 {
			return false
		}
	}
	return true
}
