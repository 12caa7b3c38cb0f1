package supervisor

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
)

// These tests run the mini corral of initMain as PID 1 of a new PID
// namespace, unprivileged (testkit.PID1), as in a container. They fail,
// not skip, under CI=true when the machine cannot make the namespace.

func TestPID1MainExitCode(t *testing.T) {
	for _, tc := range []struct {
		main []string
		want int
	}{
		{helperMain(t, "main", "", "exit", "0"), 0},
		{helperMain(t, "main", "", "exit", "1"), 1},
		{helperMain(t, "main", "", "exit", "2"), 2},
		{helperMain(t, "main", "", "exit", "42"), 42},
		{helperMain(t, "main", "", "exit", "127"), 127},
		{helperMain(t, "main", "", "exit", "128"), 128},
		{helperMain(t, "main", "", "exit", "255"), 255},
		{[]string{"/bin/sh", "-c", "kill -TERM $$"}, 128 + 15},
		{[]string{"/bin/sh", "-c", "kill -KILL $$"}, 128 + 9},
		{[]string{"/nonexistent/main"}, 127},
	} {
		t.Run(tc.main[len(tc.main)-1], func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record")
			side := helper(t, "side", rec, "run")
			// main starts once side is ready: once it handles SIGTERM.
			side.Ready = Ready{Exec: []string{"/bin/grep", "-q", " start side ", rec}, Interval: duration.Of(20 * time.Millisecond)}
			p := startPID1(t, initConfig{Main: tc.main, StopTimeout: 10 * time.Second,
				Processes: map[string]ProcessConfig{"side": side}})
			code, rep := p.wait(t)
			if code != tc.want {
				t.Errorf("exit code: want %d, have %d", tc.want, code)
			}
			if rep.Pid != 1 {
				t.Errorf("want corral as PID 1, have %d", rep.Pid)
			}
			if len(filter(readRecord(t, rec), "stop", "side")) != 1 {
				t.Error("side process was not stopped gracefully")
			}
			if len(rep.Zombies)+len(rep.Left) != 0 {
				t.Errorf("want nothing left, have zombies %v, alive %v", rep.Zombies, rep.Left)
			}
		})
	}
}

func TestPID1ShutdownOrderFanOutOrphans(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	a := helper(t, "a", rec, "run", "slow")
	b := helper(t, "b", rec, "group")
	b.DependsOn = []string{"a"}
	c := helper(t, "c", rec, "run", "slow")
	c.DependsOn = []string{"b"}
	d := helper(t, "d", rec, "daemon")
	d.Restart = RestartNever
	p := startPID1(t, initConfig{StopTimeout: 10 * time.Second, Processes: map[string]ProcessConfig{"a": a, "b": b, "c": c, "d": d}})
	testkit.Eventually(t, "every start", func() bool {
		evs := readRecord(t, rec)
		return len(filter(evs, "start", "c")) == 1 && len(filter(evs, "start", "b.member")) == 1 && len(filter(evs, "start", "orphan")) == 1
	})
	begin := time.Now()
	p.signal(t, unix.SIGTERM)
	code, rep := p.wait(t)
	t.Logf("SIGTERM to exit: %s", time.Since(begin))
	if code != 0 {
		t.Errorf("exit code: want 0, have %d", code)
	}
	var order []string
	for _, e := range filter(readRecord(t, rec), "stop", "") {
		order = append(order, e.name)
	}
	// b's whole group got the signal; c before b before a.
	if have := strings.Join(order, ","); have != "c,b.member,b,a" && have != "c,b,b.member,a" {
		t.Errorf("stop order: want c, b (and its group member), a; have %s", have)
	}
	if rep.Orphans < 1 {
		t.Errorf("orphans reaped: want >= 1, have %v", rep.Orphans)
	}
	if len(rep.Zombies)+len(rep.Left) != 0 {
		t.Errorf("want nothing left, have zombies %v, alive %v", rep.Zombies, rep.Left)
	}
}

func TestPID1StopTimeoutEscalates(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	p := startPID1(t, initConfig{StopTimeout: time.Second, Grace: time.Second, Processes: map[string]ProcessConfig{
		"stubborn": helper(t, "stubborn", rec, "ignore"),
		"fine":     helper(t, "fine", rec, "run"),
	}})
	testkit.Eventually(t, "starts", func() bool { return len(filter(readRecord(t, rec), "start", "")) == 2 })
	begin := time.Now()
	p.signal(t, unix.SIGTERM)
	code, rep := p.wait(t)
	took := time.Since(begin)
	if code != 0 || took < time.Second || took > 15*time.Second {
		t.Errorf("want exit 0 after the 1s stop timeout, have %d after %s", code, took)
	}
	if len(filter(readRecord(t, rec), "term", "stubborn")) != 1 || len(filter(readRecord(t, rec), "stop", "fine")) != 1 {
		t.Errorf("want stubborn to get SIGTERM and fine to stop, have %v", readRecord(t, rec))
	}
	if len(rep.Zombies)+len(rep.Left) != 0 {
		t.Errorf("want nothing left, have zombies %v, alive %v", rep.Zombies, rep.Left)
	}
}

func TestPID1SecondSignalKills(t *testing.T) {
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGINT} {
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record")
			p := startPID1(t, initConfig{StopTimeout: 60 * time.Second, Processes: map[string]ProcessConfig{
				"stubborn": helper(t, "stubborn", rec, "ignore"),
			}})
			testkit.Eventually(t, "start", func() bool { return len(filter(readRecord(t, rec), "start", "")) == 1 })
			p.signal(t, sig)
			testkit.Eventually(t, "first signal forwarded", func() bool { return len(filter(readRecord(t, rec), "term", "")) == 1 })
			begin := time.Now()
			p.signal(t, sig)
			code, rep := p.wait(t)
			if took := time.Since(begin); code != 0 || took > 10*time.Second {
				t.Errorf("want exit 0 at once (not Go's 2, not after 60s), have %d after %s", code, took)
			}
			if len(rep.Zombies)+len(rep.Left) != 0 {
				t.Errorf("want nothing left, have zombies %v, alive %v", rep.Zombies, rep.Left)
			}
		})
	}
}

func TestPID1SignalForwardedToMain(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	p := startPID1(t, initConfig{StopTimeout: 10 * time.Second, Main: helperMain(t, "main", rec, "run"),
		Processes: map[string]ProcessConfig{"side": helper(t, "side", rec, "run")}})
	testkit.Eventually(t, "starts", func() bool { return len(filter(readRecord(t, rec), "start", "")) == 2 })
	p.signal(t, unix.SIGUSR1)
	testkit.Eventually(t, "usr1 at main", func() bool { return len(filter(readRecord(t, rec), "usr1", "main")) == 1 })
	p.signal(t, unix.SIGTERM)
	code, _ := p.wait(t)
	if code != 0 {
		t.Errorf("exit code: want 0 (main stopped cleanly), have %d", code)
	}
	if n := len(filter(readRecord(t, rec), "usr1", "side")); n != 0 {
		t.Errorf("SIGUSR1 went to side too (%d times)", n)
	}
	evs := filter(readRecord(t, rec), "stop", "")
	if len(evs) != 2 || evs[0].name != "main" {
		t.Errorf("want main stopped first, then side; have %v", evs)
	}
}

// helperMain is a main command (after --) running the helper child. The
// main process inherits corral's environment, so the role is set by env(1).
func helperMain(t testing.TB, name, rec string, mode ...string) []string {
	return append([]string{"/usr/bin/env", "CORRAL_TEST_ROLE=child", "CORRAL_TEST_NAME=" + name, "CORRAL_TEST_RECORD=" + rec}, helperCmd(t, mode...)...)
}

func TestPID1SighupReloads(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	a := helper(t, "a", rec, "run")
	p := startPID1(t, initConfig{StopTimeout: 10 * time.Second, Processes: map[string]ProcessConfig{"a": a},
		Reload: map[string]ProcessConfig{"a": a, "b": helper(t, "b", rec, "run")}})
	testkit.Eventually(t, "a started", func() bool { return len(filter(readRecord(t, rec), "start", "a")) == 1 })
	p.signal(t, unix.SIGHUP)
	testkit.Eventually(t, "b started", func() bool { return len(filter(readRecord(t, rec), "start", "b")) == 1 })
	p.signal(t, unix.SIGTERM)
	code, _ := p.wait(t)
	evs := readRecord(t, rec)
	if code != 0 || len(filter(evs, "start", "a")) != 1 || len(filter(evs, "stop", "")) != 2 {
		t.Errorf("want exit 0, a untouched, both stopped; have %d, %v", code, evs)
	}
}
