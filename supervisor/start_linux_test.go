package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
)

// TestMissingDirReported: a process whose dir does not exist is reported
// as such (exit code 126, "dir: ...: no such directory"), not as a missing
// command (127).
func TestMissingDirReported(t *testing.T) {
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{
		"lost": {Command: []string{"/bin/true"}, Dir: "/nonexistent/dir", Restart: RestartNever},
	}})
	testkit.Eventually(t, "the failure", func() bool { return h.status("lost").State == StateFailed })
	if have := h.metric("corral_process_last_exit_code", "lost"); have != 126 {
		t.Errorf("last exit code: want 126, have %v", have)
	}
	if want := `err="dir: /nonexistent/dir: no such directory"`; !strings.Contains(h.log.String(), want) {
		t.Errorf("want %s in the log, have\n%s", want, h.log.String())
	}
}

// TestUserWritesDevStdout: a user= process opens /dev/stdout, as nginx's
// `access_log /dev/stdout` does; its lines come out prefixed. Needs root.
func TestUserWritesDevStdout(t *testing.T) {
	if os.Getuid() != 0 {
		testkit.Need(t, "running a process as another user", errors.New("needs root"))
	}
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{
		"nginx": {Command: []string{"/bin/sh", "-c", "echo access >> /dev/stdout; echo error >> /dev/stderr"}, User: "65534:65534", Restart: RestartNever},
	}})
	testkit.Eventually(t, "both lines", func() bool {
		return strings.Contains(h.out.String(), "[nginx] access\n") && strings.Contains(h.out.String(), "[nginx] error\n")
	})
	// The lines can come before the exit is recorded.
	testkit.Eventually(t, "the process to end", func() bool { return h.status("nginx").State == StateExited || h.status("nginx").State == StateFailed })
	if have := h.metric("corral_process_last_exit_code", "nginx"); have != 0 {
		t.Errorf("last exit code: want 0, have %v", have)
	}
}

// neverReady is a process whose readiness check never passes: it is
// stopped at its start timeout and restarted for ever (max_restarts = 0).
func neverReady() ProcessConfig {
	return ProcessConfig{
		Command: []string{"sleep", "1000"},
		Ready:   Ready{TCP: "127.0.0.1:1", Timeout: duration.Of(time.Second)},
		Backoff: Backoff{Initial: duration.Of(100 * time.Millisecond)},
	}
}

// printingMain is a main process that says it ran, on corral's output, and
// runs until stopped.
func printingMain() (Config, []string) {
	return Config{MainOutput: MainOutputPrefix}, []string{"/bin/sh", "-c", "echo MAIN RAN; exec sleep 1000"}
}

// TestMainStartsBesideNeverReady: a process that is never ready, and
// restarts for ever, does not hold the main process nor the end of
// start-up: they go on once it failed once, and it keeps restarting.
func TestMainStartsBesideNeverReady(t *testing.T) {
	cfg, main := printingMain()
	h := startSupervisor(t, Options{Config: cfg, Main: main, Processes: map[string]ProcessConfig{"db": neverReady()}})
	testkit.Eventually(t, "the main process", func() bool { return strings.Contains(h.out.String(), "[main] MAIN RAN\n") })
	testkit.Eventually(t, "start-up done", func() bool { h.s.mu.Lock(); defer h.s.mu.Unlock(); return h.s.startedUp })
	before := h.metric("corral_process_restarts_total", "db")
	testkit.Eventually(t, "db restarted again", func() bool { return h.metric("corral_process_restarts_total", "db") > before })
	if st := h.status("db"); st.Ready || st.State == StateFailed {
		t.Errorf("db: want restarting, never ready; have %+v", st)
	}
	if h.s.Ready() {
		t.Error("/-/ready: want not ready while db is not, have ready")
	}
	if want := `not_up=[db]`; !strings.Contains(h.log.String(), want) {
		t.Errorf("want %s in the log, have\n%s", want, h.log.String())
	}
}

// TestMainStartsBesideNeverReadyChain: b depends on a, which is never
// ready: b keeps waiting for a, but the main process starts once a failed.
func TestMainStartsBesideNeverReadyChain(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	b := helper(t, "b", rec, "run")
	b.DependsOn = []string{"a"}
	cfg, main := printingMain()
	h := startSupervisor(t, Options{Config: cfg, Main: main, Processes: map[string]ProcessConfig{"a": neverReady(), "b": b}})
	testkit.Eventually(t, "the main process", func() bool { return strings.Contains(h.out.String(), "[main] MAIN RAN\n") })
	if st := h.status("b"); st.State != StateWaiting {
		t.Errorf("b: want %s (for a), have %+v", StateWaiting, st)
	}
	if n := len(filter(readRecord(t, rec), "start", "b")); n != 0 {
		t.Errorf("b: want never started, have %d starts", n)
	}
	if want := `not_up="[a b]"`; !strings.Contains(h.log.String(), want) {
		t.Errorf("want %s in the log, have\n%s", want, h.log.String())
	}
}

// secondTryReady is a process that fails its first try and, on its second,
// is ready once the file flag (in dir) exists.
func secondTryReady(dir string) (p ProcessConfig, flag string) {
	tried, flag := filepath.Join(dir, "tried"), filepath.Join(dir, "ready")
	return ProcessConfig{
		Command: []string{"/bin/sh", "-c", "if [ -e " + tried + " ]; then exec sleep 1000; fi; touch " + tried + "; exit 1"},
		Ready:   Ready{Exec: []string{"/bin/sh", "-c", "test -e " + flag}, Interval: duration.Of(50 * time.Millisecond)},
		Backoff: Backoff{Initial: duration.Of(100 * time.Millisecond)},
	}, flag
}

// awaitSecondTry waits until process name runs its second try.
func awaitSecondTry(t *testing.T, h *harness, name string) {
	t.Helper()
	testkit.Eventually(t, name+"'s second try", func() bool {
		st := h.status(name)
		return st.Restarts == 1 && st.State == StateRunning
	})
}

// TestReadyOnSecondTryStillGates: db crashes on its first try and is ready
// on its second. The main process starts after the first failure, but app,
// which depends on db, starts only once db is ready.
func TestReadyOnSecondTryStillGates(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "record")
	db, flag := secondTryReady(dir)
	app := helper(t, "app", rec, "run")
	app.DependsOn = []string{"db"}
	cfg, main := printingMain()
	h := startSupervisor(t, Options{Config: cfg, Main: main, Processes: map[string]ProcessConfig{"db": db, "app": app}})
	testkit.Eventually(t, "the main process", func() bool { return strings.Contains(h.out.String(), "[main] MAIN RAN\n") })
	awaitSecondTry(t, h, "db")
	if st := h.status("app"); st.State != StateWaiting {
		t.Errorf("app before db is ready: want %s, have %+v", StateWaiting, st)
	}
	notReady := time.Now() // db cannot be ready before the flag exists
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "app started", func() bool { return len(filter(readRecord(t, rec), "start", "app")) == 1 })
	if start := filter(readRecord(t, rec), "start", "app")[0].at; start.Before(notReady) {
		t.Errorf("app: want started after db was ready (after %s), have started at %s", notReady.Format(time.StampMicro), start.Format(time.StampMicro))
	}
	if st := h.status("db"); !st.Ready {
		t.Errorf("db: want ready, have %+v", st)
	}
}

// TestNoStartDuringShutdown: a process waiting for a dependency that
// comes up while the appliance stops (here while the main process uses its
// grace) is not started: the shutdown starts nothing.
func TestNoStartDuringShutdown(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "record")
	db, flag := secondTryReady(dir) // the main process starts after its first try
	app := helper(t, "app", rec, "run")
	app.DependsOn = []string{"db"}
	// The main process takes three seconds over its SIGTERM: db comes up
	// meanwhile.
	cfg := Config{MainOutput: MainOutputPrefix}
	main := []string{"/bin/sh", "-c", "trap 'sleep 3; exit 0' TERM; echo MAIN RAN; while :; do sleep 0.1; done"}
	h := startSupervisor(t, Options{Config: cfg, Main: main, Processes: map[string]ProcessConfig{"db": db, "app": app}})
	testkit.Eventually(t, "the main process", func() bool { return strings.Contains(h.out.String(), "[main] MAIN RAN\n") })
	awaitSecondTry(t, h, "db")
	h.s.Stop()
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "db ready", func() bool { return h.status("db").Ready })
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatal("the appliance did not stop")
	}
	if starts := filter(readRecord(t, rec), "start", "app"); len(starts) != 0 {
		t.Errorf("app: want never started during the shutdown, have %d starts", len(starts))
	}
	if st := h.status("app"); st.State != StateStopped {
		t.Errorf("app: want %s, have %+v", StateStopped, st)
	}
}
