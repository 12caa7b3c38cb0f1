package supervisor

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestPID1EverySignal sends each of signals 1 to 31 (but KILL and STOP)
// to corral as PID 1, as `docker kill -s` would: none ends it, fault
// signals included; TERM and INT stop it cleanly, every other is followed
// by a SIGTERM that must still stop it with exit code 0.
func TestPID1EverySignal(t *testing.T) {
	for sig := unix.Signal(1); sig <= 31; sig++ {
		if sig == unix.SIGKILL || sig == unix.SIGSTOP {
			continue
		}
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record")
			p := startPID1(t, initConfig{StopTimeout: 2 * time.Second, Grace: time.Second,
				Processes: map[string]ProcessConfig{"side": helper(t, "side", rec, "run")},
				Reload:    map[string]ProcessConfig{"side": helper(t, "side", rec, "run")}})
			testkit.Eventually(t, "start", func() bool { return len(filter(readRecord(t, rec), "start", "side")) >= 1 })
			p.signal(t, sig)
			want := "survives"
			if action(sig) == actStop {
				want = "stops"
			} else {
				select {
				case <-p.done:
					t.Errorf("%s: want corral to survive it, have it ended", unix.SignalName(sig))
				case <-time.After(300 * time.Millisecond):
					p.signal(t, unix.SIGTERM)
				}
			}
			code, rep := p.wait(t)
			if code != 0 || rep.Pid != 1 {
				t.Errorf("%s (%s): want corral, PID 1, to exit 0 after SIGTERM, have exit %d (pid %d)", unix.SignalName(sig), want, code, rep.Pid)
			}
		})
	}
}

func TestSignalActions(t *testing.T) {
	for _, tc := range []struct {
		sig  unix.Signal
		want string
	}{
		{unix.SIGTERM, actStop}, {unix.SIGINT, actStop}, {unix.SIGHUP, actReload},
		{unix.SIGUSR1, actForward}, {unix.SIGCONT, actForward}, {unix.SIGQUIT, actForward}, {unix.SIGWINCH, actForward},
		{unix.SIGPIPE, actIgnore}, {unix.SIGSEGV, actIgnore}, {unix.SIGBUS, actIgnore}, {unix.SIGABRT, actIgnore},
	} {
		if have := action(tc.sig); have != tc.want {
			t.Errorf("%s: want %s, have %s", unix.SignalName(tc.sig), tc.want, have)
		}
	}
}

// TestRealTimeSignalsForwarded: the real-time signals (SIGRTMIN+1 to
// SIGRTMAX, 35 to 64; 37 is Docker's SIGRTMIN+3, a systemd-style image's
// STOPSIGNAL) are forwarded to the main process as tini and dumb-init
// forward them, and none ends corral: as PID 1 of a PID namespace, and as a
// plain process (a child subreaper), where a signal nobody asked for would
// end it.
func TestRealTimeSignalsForwarded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB, initConfig) *pid1
		pid   func(*pid1, testing.TB) int
	}{
		{"pid 1", startPID1, (*pid1).corralPid},
		{"subreaper", startSubreaper, func(p *pid1, _ testing.TB) int { return p.cmd.Process.Pid }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record")
			p := tc.start(t, initConfig{StopTimeout: 5 * time.Second, Main: helperMain(t, "main", rec, "signals")})
			testkit.Eventually(t, "main starts", func() bool { return len(filter(readRecord(t, rec), "start", "main")) == 1 })
			t.Cleanup(func() { // a subreaper corral that died left its main process
				if t.Failed() {
					unix.Kill(filter(readRecord(t, rec), "start", "main")[0].pid, unix.SIGKILL)
				}
			})
			for _, sig := range []unix.Signal{35, 37, 64} {
				if err := unix.Kill(tc.pid(p, t), sig); err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("sig%d", sig)
				testkit.Eventually(t, what+" at main", func() bool { return len(filter(readRecord(t, rec), what, "main")) == 1 })
			}
			select {
			case <-p.done:
				t.Fatalf("want corral alive after the real-time signals, have it ended (exit %d)", p.code)
			default:
			}
			if err := unix.Kill(tc.pid(p, t), unix.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code, _ := p.wait(t); code != 0 {
				t.Errorf("exit code: want 0 (main stopped cleanly), have %d", code)
			}
		})
	}
}
