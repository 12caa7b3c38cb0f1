package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
)

// Issue 11: no process is SIGKILLed without its stop signal and its grace,
// start-up never hangs, a stop or a reload is never lost.

// TestPID1EveryProcessGetsItsGrace: the main process ignores SIGTERM and
// three processes wait for it. Each of them still gets its stop signal and
// its own grace (a second's work after SIGTERM) before any SIGKILL, and the
// whole shutdown stays within stop_timeout and the sweep.
func TestPID1EveryProcessGetsItsGrace(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	procs := map[string]ProcessConfig{}
	for _, name := range []string{"a", "b", "c"} {
		procs[name] = helper(t, name, rec, "run", "1s")
	}
	b := procs["b"]
	b.DependsOn = []string{"a"}
	procs["b"] = b
	p := startPID1(t, initConfig{StopTimeout: 6 * time.Second, Grace: 2 * time.Second,
		Main: helperMain(t, "main", rec, "ignore"), Processes: procs})
	testkit.Eventually(t, "every start", func() bool { return len(filter(readRecord(t, rec), "start", "")) == 4 })
	begin := time.Now()
	p.signal(t, unix.SIGTERM)
	code, rep := p.wait(t)
	took := time.Since(begin)
	evs := readRecord(t, rec)
	for _, name := range []string{"a", "b", "c"} {
		if len(filter(evs, "stop", name)) != 1 {
			t.Errorf("%s: want its stop signal and the grace to finish its stop, have %v", name, evs)
		}
	}
	if len(filter(evs, "term", "main")) != 1 {
		t.Errorf("main: want its stop signal, have %v", evs)
	}
	if code != 128+9 {
		t.Errorf("exit code: want 137 (main killed at the end of its grace), have %d", code)
	}
	if took > 6*time.Second+sweepGrace+2*time.Second {
		t.Errorf("shutdown took %s, more than stop_timeout and the sweep", took)
	}
	if len(rep.Zombies)+len(rep.Left) != 0 {
		t.Errorf("want nothing left, have zombies %v, alive %v", rep.Zombies, rep.Left)
	}
}

// TestGroupGetsGraceAfterLeaderExits: the leader exits at once on SIGTERM
// (sh -c "python worker.py"); the member left in its group still has its
// grace to finish, not a SIGKILL at the leader's exit.
func TestGroupGetsGraceAfterLeaderExits(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	h := startSupervisor(t, Options{Config: Config{StopTimeout: duration.Of(8 * time.Second), ProcessStopTimeout: duration.Of(5 * time.Second)},
		Processes: map[string]ProcessConfig{"w": helper(t, "w", rec, "leader", "1500ms")}})
	testkit.Eventually(t, "leader and member", func() bool {
		return len(filter(readRecord(t, rec), "start", "")) == 2
	})
	h.s.Stop()
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
	if n := len(filter(readRecord(t, rec), "stop", "w.member")); n != 1 {
		t.Errorf("member: want its stop finished within the grace, have %d stops: %v", n, readRecord(t, rec))
	}
}

// TestCrashStopsRestOfGroup: a process that crashes and leaves a member in
// its group: before each restart the member gets the stop signal (and is
// gone), so crashes leave nothing behind.
func TestCrashStopsRestOfGroup(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	p := helper(t, "x", rec, "crash")
	p.Backoff = Backoff{Initial: duration.Of(50 * time.Millisecond), Max: duration.Of(50 * time.Millisecond)}
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"x": p}})
	testkit.Eventually(t, "three crashes", func() bool { return len(filter(readRecord(t, rec), "start", "x")) >= 3 })
	h.s.Stop()
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
	evs := readRecord(t, rec)
	starts, stops := filter(evs, "start", "x.member"), filter(evs, "stop", "x.member")
	if len(stops) != len(starts) {
		t.Errorf("members: want every one stopped (%d), have %d stops", len(starts), len(stops))
	}
	for _, e := range starts {
		if err := unix.Kill(e.pid, 0); err == nil {
			t.Errorf("member %d still alive", e.pid)
		}
	}
}

// TestPID1SweepsDaemons: a double-forked daemon (setsid, re-parented to
// corral) gets SIGTERM in the final sweep and stops cleanly.
func TestPID1SweepsDaemons(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	d := helper(t, "d", rec, "daemon", "run")
	d.Restart = RestartNever
	p := startPID1(t, initConfig{StopTimeout: 5 * time.Second, Processes: map[string]ProcessConfig{"d": d}})
	testkit.Eventually(t, "the daemon", func() bool { return len(filter(readRecord(t, rec), "start", "orphan")) == 1 })
	p.signal(t, unix.SIGTERM)
	code, rep := p.wait(t)
	if code != 0 {
		t.Errorf("exit code: want 0, have %d", code)
	}
	if len(filter(readRecord(t, rec), "stop", "orphan")) != 1 {
		t.Errorf("the daemon never got SIGTERM: %v", readRecord(t, rec))
	}
	if len(rep.Zombies)+len(rep.Left) != 0 {
		t.Errorf("want nothing left, have zombies %v, alive %v", rep.Zombies, rep.Left)
	}
}

// TestFailedDependencyFailsDependents: db fails for good; app, which depends
// on it, fails too (and, critical, stops the appliance), or else the main
// process starts anyway. Start-up never hangs.
func TestFailedDependencyFailsDependents(t *testing.T) {
	for _, tc := range []struct {
		name     string
		critical bool
		want     error
	}{
		{"main starts", false, nil},
		{"critical", true, &ExitError{Code: 1, Reason: `critical process "app" failed: its dependency "db" ended before it was up`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record")
			db := helper(t, "db", rec, "exit", "1")
			db.Restart = RestartNever
			db.Ready = Ready{Exec: []string{"/bin/false"}} // it ends before it is ever ready
			app := helper(t, "app", rec, "run")
			app.DependsOn, app.Critical = []string{"db"}, tc.critical
			h := startSupervisor(t, Options{Main: []string{"/bin/true"},
				Processes: map[string]ProcessConfig{"db": db, "app": app}})
			err := h.wait(t)
			if errString(err) != errString(tc.want) {
				t.Errorf("want %v, have %v", tc.want, err)
			}
			if st := h.status("app").State; st != StateFailed {
				t.Errorf("app: want %s, have %s", StateFailed, st)
			}
			if n := len(filter(readRecord(t, rec), "start", "app")); n != 0 {
				t.Errorf("app: want never started, have %d starts", n)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestStartTimeout: a process that never gets ready stops the appliance
// with exit code 1 at start_timeout.
func TestStartTimeout(t *testing.T) {
	slow := helper(t, "slow", "", "run")
	slow.Ready = Ready{Exec: []string{"/bin/false"}, Interval: duration.Of(50 * time.Millisecond)}
	h := startSupervisor(t, Options{Config: Config{StartTimeout: duration.Of(500 * time.Millisecond)}, Main: []string{"/bin/true"},
		Processes: map[string]ProcessConfig{"slow": slow}})
	var ee *ExitError
	if err := h.wait(t); !errors.As(err, &ee) || ee.Code != 1 {
		t.Fatalf("want exit code 1, have %v", err)
	}
}

// TestStopDuringTasks: a stop while a task runs ends the task and starts
// no process, and the appliance exits 0.
func TestStopDuringTasks(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	task := helper(t, "task", rec, "run")
	h := startSupervisor(t, Options{Main: []string{"/bin/true"},
		Tasks:     map[string]TaskConfig{"task": {Command: task.Command, Env: task.Env}},
		Processes: map[string]ProcessConfig{"p": helper(t, "p", rec, "run")}})
	testkit.Eventually(t, "the task", func() bool { return len(filter(readRecord(t, rec), "start", "task")) == 1 })
	h.s.Stop()
	if err := h.wait(t); err != nil {
		t.Errorf("want a clean exit, have %v", err)
	}
	if n := len(filter(readRecord(t, rec), "start", "p")); n != 0 {
		t.Errorf("want no process started, have %d", n)
	}
	if st := h.status(MainName).State; st != "" {
		t.Errorf("want no main process, have one %s", st)
	}
}

// TestReloadDuringTasksQueued: a reload asked for during the tasks is
// applied once they are done, never refused.
func TestReloadDuringTasksQueued(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "record")
	gate := filepath.Join(dir, "go")
	a := helper(t, "a", rec, "run")
	h := startSupervisor(t, Options{
		Tasks:     map[string]TaskConfig{"wait": {Command: []string{"/bin/sh", "-c", "until [ -e " + gate + " ]; do sleep 0.02; done"}}},
		Processes: map[string]ProcessConfig{"a": a}})
	reloaded := make(chan error, 1)
	go func() {
		reloaded <- h.s.Reload(Config{}, map[string]ProcessConfig{"a": a, "b": helper(t, "b", rec, "run")})
	}()
	select {
	case err := <-reloaded:
		t.Fatalf("want the reload to wait for the tasks, have %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-reloaded; err != nil {
		t.Fatalf("want the queued reload applied, have %v", err)
	}
	testkit.Eventually(t, "b started", func() bool { return len(filter(readRecord(t, rec), "start", "b")) == 1 })
}

// TestStopPreemptsReload: a stop during a reload's own stops does not wait
// for them first: the shutdown takes them over.
func TestStopPreemptsReload(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	h := startSupervisor(t, Options{Config: Config{StopTimeout: duration.Of(20 * time.Second), ProcessStopTimeout: duration.Of(time.Second)},
		Processes: map[string]ProcessConfig{"stubborn": helper(t, "stubborn", rec, "ignore")}})
	testkit.Eventually(t, "start", func() bool { return len(filter(readRecord(t, rec), "start", "")) == 1 })
	begin := time.Now()
	go h.s.Reload(Config{StopTimeout: duration.Of(20 * time.Second), ProcessStopTimeout: duration.Of(time.Second)}, map[string]ProcessConfig{})
	testkit.Eventually(t, "the reload's stop signal", func() bool { return len(filter(readRecord(t, rec), "term", "")) == 1 })
	h.s.Stop()
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("want the shutdown done after stubborn's 1s grace, have %s", took)
	}
}

// TestReloadAppliesSupervisorConfig: a changed [supervisor] grace applies
// to the next stop.
func TestReloadAppliesSupervisorConfig(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	procs := map[string]ProcessConfig{"stubborn": helper(t, "stubborn", rec, "ignore")}
	h := startSupervisor(t, Options{Config: Config{StopTimeout: duration.Of(60 * time.Second), ProcessStopTimeout: duration.Of(60 * time.Second)}, Processes: procs})
	testkit.Eventually(t, "start", func() bool { return len(filter(readRecord(t, rec), "start", "")) == 1 })
	if err := h.s.Reload(Config{StopTimeout: duration.Of(60 * time.Second), ProcessStopTimeout: duration.Of(500 * time.Millisecond)}, procs); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	h.s.Stop()
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("want the new 500ms grace, have a stop of %s", took)
	}
}

// TestPID1MainLeavesOnlyZombie: the main process leaves in its group only
// a zombie whose parent is a daemon in another session. corral exits with
// the main process's code (the sweep ends the daemon); it used to wait for
// that group for ever.
func TestPID1MainLeavesOnlyZombie(t *testing.T) {
	p := startPID1(t, initConfig{StopTimeout: 5 * time.Second,
		Main: []string{"/bin/sh", "-c", "( true & exec setsid sleep 1000 ) & sleep 0.2; exit 5"}})
	code, rep := p.wait(t)
	if code != 5 {
		t.Errorf("exit code: want 5 (main's), have %d", code)
	}
	if len(rep.Zombies)+len(rep.Left) != 0 {
		t.Errorf("want nothing left, have zombies %v, alive %v", rep.Zombies, rep.Left)
	}
}

// TestExitDuringShutdownIsFinal: while the main process takes its time to
// stop, a and b end on their own, before their turn to be stopped. a is
// critical with restart = "never", b crashes with restart = "always".
// Neither is restarted, and a's end does not override the main process's
// clean exit: the appliance exits 0, as under tini.
func TestExitDuringShutdownIsFinal(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	wait := func(name string) string { return "until [ -e " + at(name) + " ]; do sleep 0.02; done; " }
	a := ProcessConfig{Command: []string{"/bin/sh", "-c", "touch " + at("a-up") + "; " + wait("go") + "touch " + at("a-ended") + "; exit 0"},
		Restart: RestartNever, Critical: true}
	b := ProcessConfig{Command: []string{"/bin/sh", "-c", "touch " + at("b-up") + "; " + wait("go") + "touch " + at("b-ended") + "; exit 1"},
		Restart: RestartAlways, Backoff: Backoff{Initial: duration.Of(10 * time.Millisecond), Max: duration.Of(10 * time.Millisecond)}}
	// On SIGTERM main lets a and b end, gives b's restart half a second to
	// show, then exits 0.
	main := []string{"/bin/sh", "-c", "trap 'touch " + at("go") + "; " + wait("a-ended") + wait("b-ended") + "sleep 0.5; exit 0' TERM; " +
		"touch " + at("main-up") + "; while :; do sleep 0.02; done"}
	h := startSupervisor(t, Options{Main: main, Processes: map[string]ProcessConfig{"a": a, "b": b}})
	testkit.Eventually(t, "every start", func() bool {
		for _, f := range []string{"a-up", "b-up", "main-up"} {
			if _, err := os.Stat(at(f)); err != nil {
				return false
			}
		}
		return true
	})
	h.s.Stop()
	if err := h.wait(t); err != nil {
		t.Errorf("want the main process's clean exit, have %v", err)
	}
	for _, name := range []string{"a", "b"} {
		if st := h.status(name); st.State != StateStopped || st.Restarts != 0 {
			t.Errorf("%s: want %s and no restart, have %s after %d restarts (%s)", name, StateStopped, st.State, st.Restarts, st.Reason)
		}
	}
}

// TestPID1ShutdownWithinBoundDaemonHoldsOutput: a starts a daemon that
// keeps a's stdout open and ignores SIGTERM, as a and the main process do.
// The shutdown still fits the README's bound: the last SIGKILL by
// stop_timeout, then the sweep's SIGKILL one second later. Waiting for a's
// output used to add its own second before the sweep.
func TestPID1ShutdownWithinBoundDaemonHoldsOutput(t *testing.T) {
	up := filepath.Join(t.TempDir(), "daemon-up")
	a := ProcessConfig{Command: []string{"/bin/sh", "-c", "trap '' TERM; " +
		`setsid /bin/sh -c "trap '' TERM; touch ` + up + `; while :; do sleep 0.05; done" & ` +
		"while :; do sleep 0.05; done"}}
	rec := filepath.Join(t.TempDir(), "record")
	const stopTimeout = 2 * time.Second
	p := startPID1(t, initConfig{StopTimeout: stopTimeout, Grace: time.Second,
		Main: helperMain(t, "main", rec, "ignore"), Processes: map[string]ProcessConfig{"a": a}})
	testkit.Eventually(t, "the daemon and main", func() bool {
		_, err := os.Stat(up)
		return err == nil && len(filter(readRecord(t, rec), "start", "main")) == 1
	})
	begin := time.Now()
	p.signal(t, unix.SIGTERM)
	code, rep := p.wait(t)
	took := time.Since(begin)
	t.Logf("SIGTERM to exit: %s", took)
	if code != 128+9 {
		t.Errorf("exit code: want 137 (main killed at the end of its grace), have %d", code)
	}
	// The margin is for a busy machine; it stays below the second that the
	// wait for a's output used to add.
	if bound := stopTimeout + sweepGrace + 800*time.Millisecond; took > bound {
		t.Errorf("shutdown: want within stop_timeout and the sweep's grace (%s, with a margin), have %s", bound, took)
	}
	if len(rep.Zombies)+len(rep.Left) != 0 {
		t.Errorf("want nothing left, have zombies %v, alive %v", rep.Zombies, rep.Left)
	}
}

// TestPID1StopContinuesStoppedMain: SIGTSTP to corral stops the main
// process (forwarded, state T); then SIGTERM. The stop signal is followed
// by SIGCONT, so the main process stops cleanly (exit 0) instead of being
// SIGKILLed, stopped, at the end of its grace (137).
func TestPID1StopContinuesStoppedMain(t *testing.T) {
	dir := t.TempDir()
	up, term := filepath.Join(dir, "up"), filepath.Join(dir, "term")
	// A shell, not the helper: a Go program that caught SIGTSTP once
	// (sigcatch) ignores it afterwards instead of stopping.
	main := []string{"/bin/sh", "-c", "trap 'touch " + term + "; exit 0' TERM; touch " + up + "; while :; do sleep 0.05; done"}
	p := startPID1(t, initConfig{StopTimeout: 4 * time.Second, Grace: 2 * time.Second, Main: main})
	testkit.Eventually(t, "main", func() bool { _, err := os.Stat(up); return err == nil })
	corral := p.corralPid(t)
	p.signal(t, unix.SIGTSTP)
	testkit.Eventually(t, "main stopped (state T)", func() bool {
		for _, pid := range childrenOf(corral) {
			if state(pid) == "T" {
				return true
			}
		}
		return false
	})
	p.signal(t, unix.SIGTERM)
	code, _ := p.wait(t)
	if code != 0 {
		t.Errorf("exit code: want 0 (main continued and stopped cleanly), have %d", code)
	}
	if _, err := os.Stat(term); err != nil {
		t.Errorf("main never acted on its SIGTERM: %v", err)
	}
}

// childrenOf lists the (host) pids whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(strings.Fields(s)[0])
			out = append(out, child)
		}
	}
	return out
}

// state is the state letter of pid in /proc (R, S, T, Z, ...), or "".
func state(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
