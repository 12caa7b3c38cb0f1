package supervisor

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
	"github.com/corral-metrics/corral/supervisor/proc"
)

func TestRestartBackoffGrowsOthersUnaffected(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	crash := helper(t, "crash", rec, "exit", "1")
	crash.Backoff = Backoff{Initial: duration.Of(100 * time.Millisecond), Max: duration.Of(800 * time.Millisecond), Reset: duration.Of(time.Minute)}
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{
		"crash":  crash,
		"steady": helper(t, "steady", rec, "run"),
	}})
	const starts = 6
	testkit.Eventually(t, "6 starts of crash", func() bool { return len(filter(readRecord(t, rec), "start", "crash")) >= starts })
	evs := filter(readRecord(t, rec), "start", "crash")
	// Each gap is the backoff delay plus a start-up: at least the delay.
	want := []time.Duration{100, 200, 400, 800, 800}
	for i := range starts - 1 {
		gap := evs[i+1].at.Sub(evs[i].at)
		t.Logf("gap %d: want >= %dms, have %s", i, want[i], gap)
		if gap < want[i]*time.Millisecond {
			t.Errorf("gap %d: want >= %dms, have %s", i, want[i], gap)
		}
	}
	if g0, g3 := evs[1].at.Sub(evs[0].at), evs[4].at.Sub(evs[3].at); g3 <= g0 {
		t.Errorf("backoff does not grow: first gap %s, fourth %s", g0, g3)
	}
	if have := h.metric("corral_process_restarts_total", "crash"); have < starts-1 {
		t.Errorf("corral_process_restarts_total{crash}: want >= %d, have %v", starts-1, have)
	}
	if have := h.metric("corral_process_last_exit_code", "crash"); have != 1 {
		t.Errorf("corral_process_last_exit_code{crash}: want 1, have %v", have)
	}
	steady := filter(readRecord(t, rec), "start", "steady")
	if len(steady) != 1 || h.metric("corral_process_restarts_total", "steady") != 0 || h.metric("corral_process_up", "steady") != 1 {
		t.Errorf("steady: want one start, 0 restarts, up; have %d starts, %v restarts, up %v",
			len(steady), h.metric("corral_process_restarts_total", "steady"), h.metric("corral_process_up", "steady"))
	}
}

func TestNonexistentCommandBacksOff(t *testing.T) {
	p := ProcessConfig{Command: []string{"/nonexistent/corral-test"}, Backoff: Backoff{Initial: duration.Of(200 * time.Millisecond)}}
	begin := time.Now()
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"ghost": p}})
	testkit.Eventually(t, "3 restarts", func() bool { return h.metric("corral_process_restarts_total", "ghost") >= 3 })
	// 200ms + 400ms + 800ms of backoff at the least: no tight loop.
	if elapsed := time.Since(begin); elapsed < 1400*time.Millisecond {
		t.Errorf("3 restarts: want >= 1.4s, have %s", elapsed)
	}
	if have := h.metric("corral_process_last_exit_code", "ghost"); have != 127 {
		t.Errorf("last exit code: want 127, have %v", have)
	}
	if log := h.log.String(); !strings.Contains(log, `msg="cannot start process" component=supervisor process=ghost command=/nonexistent/corral-test exit_code=127`) {
		t.Errorf("want a clear log line, have:\n%s", log)
	}
}

func TestCriticalFailureStopsAppliance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(ProcessConfig) ProcessConfig
		want string
	}{
		{"restart never, exit 3", func(p ProcessConfig) ProcessConfig {
			p.Command = helperCmd(t, "exit", "3")
			p.Restart = RestartNever
			return p
		}, `critical process "db" failed with exit code 3 and is not restarted (restart = "never") (exit code 1)`},
		{"too many restarts", func(p ProcessConfig) ProcessConfig {
			p.Command = helperCmd(t, "exit", "4")
			p.MaxRestarts = 2
			p.Backoff.Initial = duration.Of(20 * time.Millisecond)
			return p
		}, `critical process "db" failed: restarted 2 times within 5m0s (max_restarts) (exit code 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record")
			db := helper(t, "db", rec)
			db.Critical = true
			h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{
				"db":    tc.cfg(db),
				"other": helper(t, "other", rec, "run"),
			}})
			err := h.wait(t)
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != 1 || err.Error() != tc.want {
				t.Fatalf("want %q, have %v", tc.want, err)
			}
			if len(filter(readRecord(t, rec), "start", "other")) == 1 && len(filter(readRecord(t, rec), "stop", "other")) != 1 {
				t.Errorf("other was not stopped")
			}
			if st := h.status("db"); st.State != StateFailed {
				t.Errorf("db state: want %s, have %s", StateFailed, st.State)
			}
		})
	}
}

func TestTasks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tasks  map[string]string // name => "exit N" or "ignore", "dep:NAME" prefix for depends_on
		order  []string
		err    string
		starts bool // does the process start
	}{
		{"name order and depends_on", map[string]string{"a": "exit 0", "b": "dep:c exit 0", "c": "exit 0"}, []string{"a", "c", "b"}, "", true},
		{"failure aborts", map[string]string{"a": "exit 3", "b": "exit 0"}, []string{"a"}, `task "a": exit status 3 (exit code 1)`, false},
		{"timeout aborts", map[string]string{"a": "ignore"}, []string{"a"}, `task "a": timed out after 3s (exit code 1)`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record")
			tasks := make(map[string]TaskConfig)
			for name, spec := range tc.tasks {
				var deps []string
				if d, rest, ok := strings.Cut(spec, " "); ok && strings.HasPrefix(d, "dep:") {
					deps, spec = []string{strings.TrimPrefix(d, "dep:")}, rest
				}
				p := helper(t, name, rec, strings.Fields(spec)...)
				timeout := 30 * time.Second // a -race helper on a busy machine may take a while
				if spec == "ignore" {
					// long enough for the helper to record its start
					timeout = 3 * time.Second
				}
				tasks[name] = TaskConfig{Command: p.Command, Env: p.Env, DependsOn: deps, Timeout: duration.Of(timeout)}
			}
			h := startSupervisor(t, Options{Tasks: tasks, Processes: map[string]ProcessConfig{"p": helper(t, "p", rec, "run")}})
			if tc.err != "" {
				if err := h.wait(t); err == nil || err.Error() != tc.err {
					t.Fatalf("want %q, have %v", tc.err, err)
				}
			} else {
				testkit.Eventually(t, "process start", func() bool { return len(filter(readRecord(t, rec), "start", "p")) == 1 })
			}
			var have []string
			for _, e := range filter(readRecord(t, rec), "start", "") {
				if e.name != "p" {
					have = append(have, e.name)
				}
			}
			if strings.Join(have, ",") != strings.Join(tc.order, ",") {
				t.Errorf("task order: want %v, have %v", tc.order, have)
			}
			if started := len(filter(readRecord(t, rec), "start", "p")) > 0; started != tc.starts {
				t.Errorf("process started: want %v, have %v", tc.starts, started)
			}
			if tc.name == "timeout aborts" {
				// the timed-out task's group was killed: its pid is gone
				starts := filter(readRecord(t, rec), "start", "a")
				if len(starts) != 1 {
					t.Fatalf("task a: want its start recorded once, have %d", len(starts))
				}
				pid := starts[0].pid
				if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
					t.Errorf("task %d still alive: %v", pid, err)
				}
			}
		})
	}
}

func TestDependsOnWaitsForReadiness(t *testing.T) {
	dir := t.TempDir()
	rec, flag := filepath.Join(dir, "record"), filepath.Join(dir, "ready")
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpAddr := l.Addr().String()
	l.Close()

	db := helper(t, "db", rec, "run")
	db.Ready = Ready{Exec: []string{"/bin/sh", "-c", "test -e " + flag}, Interval: duration.Of(50 * time.Millisecond)}
	api := helper(t, "api", rec, "run")
	api.DependsOn = []string{"db"}
	api.Ready = Ready{HTTP: srv.URL, Interval: duration.Of(50 * time.Millisecond)}
	cache := helper(t, "cache", rec, "listen", tcpAddr)
	cache.DependsOn = []string{"api"}
	cache.Ready = Ready{TCP: tcpAddr, Interval: duration.Of(50 * time.Millisecond)}
	web := helper(t, "web", rec, "run")
	web.DependsOn = []string{"cache"}
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"db": db, "api": api, "cache": cache, "web": web}})

	testkit.Eventually(t, "db started", func() bool { return len(filter(readRecord(t, rec), "start", "db")) == 1 })
	// db runs but is not ready: api must wait, /-/ready is false.
	time.Sleep(300 * time.Millisecond) // several check intervals, to catch a start that should not happen
	if n := len(filter(readRecord(t, rec), "start", "api")); n != 0 || h.s.Ready() {
		t.Fatalf("before db is ready: want api not started and not ready, have %d starts, ready %v", n, h.s.Ready())
	}
	if st := h.status("db"); st.State != StateRunning || st.Ready {
		t.Errorf("db: want running, not ready; have %+v", st)
	}
	os.WriteFile(flag, nil, 0o644)
	testkit.Eventually(t, "api started", func() bool { return len(filter(readRecord(t, rec), "start", "api")) == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := len(filter(readRecord(t, rec), "start", "cache")); n != 0 {
		t.Fatalf("api not healthy: want cache not started, have %d starts", n)
	}
	healthy.Store(true)
	testkit.Eventually(t, "web started", func() bool { return len(filter(readRecord(t, rec), "start", "web")) == 1 })
	testkit.Eventually(t, "ready", h.s.Ready)
	for _, name := range []string{"db", "api", "cache"} {
		if st := h.status(name); st.State != StateReady || !st.Ready || h.metric("corral_process_ready", name) != 1 {
			t.Errorf("%s: want ready, have %+v, metric %v", name, st, h.metric("corral_process_ready", name))
		}
	}
	h.s.Stop()
	h.wait(t)
	if h.s.Ready() {
		t.Error("ready after shutdown")
	}
}

func TestReadinessTimeoutRestarts(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	p := helper(t, "slow", rec, "run")
	// A start timeout long enough for the helper, a re-executed test binary
	// (under -race on a busy machine), to set up its SIGTERM handler.
	p.Ready = Ready{Exec: []string{"/bin/false"}, Interval: duration.Of(50 * time.Millisecond), Timeout: duration.Of(2 * time.Second)}
	p.Backoff.Initial = duration.Of(50 * time.Millisecond)
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"slow": p}})
	testkit.Eventually(t, "a restart", func() bool { return h.metric("corral_process_restarts_total", "slow") >= 1 })
	// Issue 11: stopped with its stop signal and its grace, not SIGKILL.
	if have := len(filter(readRecord(t, rec), "stop", "slow")); have < 1 {
		t.Errorf("stops on SIGTERM: want >= 1, have %d", have)
	}
	if have := h.metric("corral_process_last_exit_code", "slow"); have != 0 {
		t.Errorf("last exit code: want 0 (its own exit on SIGTERM), have %v", have)
	}
}

func TestReloadReconciles(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	procs := map[string]ProcessConfig{
		"keep":   helper(t, "keep", rec, "run"),
		"change": helper(t, "change", rec, "run"),
		"remove": helper(t, "remove", rec, "run"),
	}
	h := startSupervisor(t, Options{Processes: procs})
	testkit.Eventually(t, "3 starts", func() bool { return len(filter(readRecord(t, rec), "start", "")) == 3 })
	before := map[string]int{}
	for _, st := range h.s.Status() {
		before[st.Name] = st.PID
	}
	next := map[string]ProcessConfig{
		"keep":   helper(t, "keep", rec, "run"),
		"change": helper(t, "change", rec, "run", "slow"),
		"add":    helper(t, "add", rec, "run"),
	}
	if err := h.s.Reload(Config{}, next); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "change and add started", func() bool {
		return len(filter(readRecord(t, rec), "start", "change")) == 2 && len(filter(readRecord(t, rec), "start", "add")) == 1
	})
	after := map[string]Status{}
	for _, st := range h.s.Status() {
		after[st.Name] = st
	}
	for _, tc := range []struct {
		name    string
		samePID bool
		exists  bool
	}{{"keep", true, true}, {"change", false, true}, {"remove", false, false}, {"add", false, true}} {
		st, ok := after[tc.name]
		if ok != tc.exists || (tc.exists && (st.PID == before[tc.name]) != tc.samePID) {
			t.Errorf("%s: want exists %v same pid %v, have %+v (before pid %d)", tc.name, tc.exists, tc.samePID, st, before[tc.name])
		}
	}
	if n := len(filter(readRecord(t, rec), "stop", "remove")); n != 1 {
		t.Errorf("remove: want stopped once, have %d", n)
	}
	if have := h.metric("corral_process_up", "remove"); have != -1 {
		t.Errorf("series of a removed process: want gone, have %v", have)
	}
	// A bad configuration is rejected and changes nothing.
	bad := map[string]ProcessConfig{"keep": next["keep"], "x": {Command: []string{"true"}, DependsOn: []string{"nope"}}}
	if err := h.s.Reload(Config{}, bad); err == nil || err.Error() != `process.x.depends_on: no process or task named "nope"` {
		t.Errorf("bad reload: want the depends_on error, have %v", err)
	}
	if len(h.s.Status()) != 3 {
		t.Errorf("after a bad reload: want 3 processes, have %+v", h.s.Status())
	}
}

func TestUserEnvDir(t *testing.T) {
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{
		"who": {Command: []string{"/bin/sh", "-c", `echo "uid=$(id -u) gid=$(id -g) foo=$FOO dir=$(pwd)"`}, User: "65534:65534",
			Env: map[string]string{"FOO": "bar"}, Dir: "/tmp", Restart: RestartNever},
	}})
	want := "[who] uid=65534 gid=65534 foo=bar dir=/tmp\n"
	testkit.Eventually(t, "output", func() bool { return strings.Contains(h.out.String(), want) })
}

func TestSignalForwardedToAllWithoutMain(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{
		"a": helper(t, "a", rec, "run"),
		"b": helper(t, "b", rec, "run"),
	}})
	testkit.Eventually(t, "2 starts", func() bool { return len(filter(readRecord(t, rec), "start", "")) == 2 })
	h.s.Signal(unix.SIGUSR1)
	testkit.Eventually(t, "2 usr1", func() bool { return len(filter(readRecord(t, rec), "usr1", "")) == 2 })
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"unknown user", Options{Processes: map[string]ProcessConfig{"a": {Command: []string{"true"}, User: "no-such-user-corral"}}},
			`process.a.user: no such user "no-such-user-corral"`},
		{"cycle", Options{Processes: map[string]ProcessConfig{
			"a": {Command: []string{"true"}, DependsOn: []string{"b"}},
			"b": {Command: []string{"true"}, DependsOn: []string{"a"}}}},
			`process.a.depends_on: cycle a -> b -> a`},
		{"main name taken", Options{Main: []string{"true"}, Processes: map[string]ProcessConfig{"main": {Command: []string{"true"}}}},
			`process.main: the name "main" is the main process's (the command after --)`},
		{"bad restart", Options{Processes: map[string]ProcessConfig{"a": {Command: []string{"true"}, Restart: "sometimes"}}},
			`process.a.restart: "sometimes" is not one of always, on-failure, never`},
		{"task unknown dep", Options{Tasks: map[string]TaskConfig{"t": {Command: []string{"true"}, DependsOn: []string{"x"}}}},
			`task.t.depends_on: no task named "x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Reaper, tc.opts.Logger = proc.NewReaper(discard(), nil), discard()
			_, err := New(tc.opts)
			if err == nil || err.Error() != tc.want {
				t.Errorf("want %q, have %v", tc.want, err)
			}
		})
	}
}
