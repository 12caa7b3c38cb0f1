package supervisor

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
)

// isDone tells whether a process's goroutine has returned: nothing can
// restart it any more.
func (h *harness) isDone(name string) bool {
	h.s.mu.Lock()
	p := h.s.procs[name]
	h.s.mu.Unlock()
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func fast(p ProcessConfig) ProcessConfig {
	p.Backoff = Backoff{Initial: duration.Of(50 * time.Millisecond)}
	return p
}

func TestStopIsRememberedUntilStart(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	web := fast(helper(t, "web", rec, "run"))
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"web": web}})
	started := func(n int) func() bool {
		return func() bool {
			return len(filter(readRecord(t, rec), "start", "web")) == n && h.status("web").State == StateRunning
		}
	}
	testkit.Eventually(t, "web started", started(1))
	first := h.status("web").PID

	if err := h.s.StopProcess("web"); err != nil {
		t.Fatal(err)
	}
	st := h.status("web")
	if st.State != StateStopped || st.PID != 0 || st.Reason != reasonStopped || !h.isDone("web") {
		t.Errorf("after a stop: want stopped, no pid, %q, not restartable; have %+v done=%v", reasonStopped, st, h.isDone("web"))
	}
	if n := len(filter(readRecord(t, rec), "stop", "web")); n != 1 {
		t.Errorf("want web to get its stop signal once, have %d stops", n)
	}

	// An unchanged process stays stopped across a reload.
	if err := h.s.Reload(Config{}, map[string]ProcessConfig{"web": web}); err != nil {
		t.Fatal(err)
	}
	if st := h.status("web"); st.State != StateStopped || !h.isDone("web") {
		t.Errorf("after a reload: want still stopped, have %+v", st)
	}

	if err := h.s.StartProcess("web"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "web started again", started(2))
	second := h.status("web")
	if second.PID == first || second.Restarts != 0 || second.Reason != "" {
		t.Errorf("after a start: want a new pid, 0 restarts, no reason; have %+v (first pid %d)", second, first)
	}
	if err := h.s.StartProcess("web"); err != nil || h.status("web").PID != second.PID {
		t.Errorf("a start of a running process: want nothing done, have %v, %+v", err, h.status("web"))
	}

	if err := h.s.RestartProcess("web"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "web restarted", started(3))
	third := h.status("web")
	if third.PID == second.PID || third.Restarts != 1 || h.metric("corral_process_restarts_total", "web") != 1 {
		t.Errorf("after a restart: want a new pid, 1 restart (metric too); have %+v, metric %v", third, h.metric("corral_process_restarts_total", "web"))
	}
}

func TestControlErrors(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	h := startSupervisor(t, Options{
		Processes: map[string]ProcessConfig{"web": helper(t, "web", rec, "run"), "db": helper(t, "db", rec, "run")},
		Main:      helperCmd(t, "run"),
	})
	testkit.Eventually(t, "all started", func() bool { return h.status(MainName).State == StateRunning })
	unknown := `unknown process "nope"; known: main, db, web`
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"stop unknown", func() error { return h.s.StopProcess("nope") }, unknown},
		{"start unknown", func() error { return h.s.StartProcess("nope") }, unknown},
		{"signal unknown", func() error { return h.s.SignalProcess("nope", unix.SIGHUP) }, unknown},
		{"output unknown", func() error { _, _, err := h.s.Output("nope", 0); return err }, unknown},
		{"stop main", func() error { return h.s.StopProcess(MainName) }, ErrMainProcess.Error()},
		{"restart main", func() error { return h.s.RestartProcess(MainName) }, ErrMainProcess.Error()},
		{"signal main", func() error { return h.s.SignalProcess(MainName, unix.SIGUSR1) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := ""
			if err := tc.do(); err != nil {
				have = err.Error()
			}
			if have != tc.want {
				t.Errorf("want %q, have %q", tc.want, have)
			}
		})
	}
	var u *UnknownProcessError
	if err := h.s.StopProcess("nope"); !errors.As(err, &u) || !slices.Equal(u.Known, []string{"main", "db", "web"}) {
		t.Errorf("want an *UnknownProcessError with the known names, have %#v", err)
	}
	if st := h.status(MainName); st.State != StateRunning {
		t.Errorf("main after the refused stop: want running, have %+v", st)
	}
}

func TestAutostartFalse(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	off := false
	job := helper(t, "job", rec, "run")
	job.Autostart = &off
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"job": job, "web": helper(t, "web", rec, "run")}})
	testkit.Eventually(t, "web started", func() bool { return h.status("web").State == StateRunning })
	testkit.Eventually(t, "ready", h.s.Ready)
	if st := h.status("job"); st.State != StateStopped || !strings.Contains(st.Reason, "autostart = false") || len(filter(readRecord(t, rec), "start", "job")) != 0 {
		t.Errorf("want job stopped and never started, have %+v", st)
	}
	if err := h.s.StartProcess("job"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "job started", func() bool { return len(filter(readRecord(t, rec), "start", "job")) == 1 })

	// A process that starts with the appliance cannot wait for one that does not.
	dep := helper(t, "dep", rec, "run")
	dep.DependsOn = []string{"job"}
	_, err := New(Options{Reaper: h.r, Logger: h.s.logger, Processes: map[string]ProcessConfig{"job": job, "dep": dep}})
	want := `process.dep.depends_on: "job" has autostart = false, so dep would never start`
	if err == nil || err.Error() != want {
		t.Errorf("want %q, have %v", want, err)
	}
}

func TestSuccessExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		codes     []int
		wantState string
	}{
		{"3 counts as success", []int{3}, StateExited},
		{"3 is a failure", nil, StateBackoff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record")
			p := helper(t, "p", rec, "exit", "3")
			p.Restart, p.SuccessExitCodes = RestartOnFailure, tc.codes
			p.Backoff = Backoff{Initial: duration.Of(time.Minute)}
			h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"p": p}})
			testkit.Eventually(t, "p ended", func() bool { st := h.status("p"); return st.LastExitCode != nil && st.State != StateRunning })
			testkit.Eventually(t, "p settled", func() bool { s := h.status("p").State; return s == StateExited || s == StateBackoff })
			if st := h.status("p"); st.State != tc.wantState {
				t.Errorf("want %s, have %+v", tc.wantState, st)
			}
		})
	}
	bad := ProcessConfig{Command: []string{"true"}, SuccessExitCodes: []int{256}}
	bad.Defaults()
	if err := bad.Validate(); err == nil || err.Error() != "success_exit_codes[0]: 256 is not an exit code (0 to 255)" {
		t.Errorf("want the success_exit_codes error, have %v", err)
	}
}

func TestNotifyFD(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	svc := helper(t, "svc", rec, "notify", "4", "300ms")
	svc.Ready.NotifyFD = 4
	after := helper(t, "after", rec, "run")
	after.DependsOn = []string{"svc"}
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"svc": svc, "after": after}})
	testkit.Eventually(t, "after started", func() bool { return len(filter(readRecord(t, rec), "start", "after")) == 1 })
	evs := readRecord(t, rec)
	notified, started := filter(evs, "notify", "svc"), filter(evs, "start", "after")
	if len(notified) != 1 || started[0].at.Before(notified[0].at) {
		t.Errorf("want after to start once svc notified, have %v", evs)
	}
	if st := h.status("svc"); st.State != StateReady || st.Check != "notify" {
		t.Errorf("svc: want ready by notify, have %+v", st)
	}
	for _, tc := range []struct {
		fd   int
		want string
	}{
		{2, "ready.notify_fd: 2 is not a descriptor from 3 to 63 (0, 1 and 2 are stdin, stdout and stderr)"},
		{64, "ready.notify_fd: 64 is not a descriptor from 3 to 63 (0, 1 and 2 are stdin, stdout and stderr)"},
	} {
		p := ProcessConfig{Command: []string{"true"}, Ready: Ready{NotifyFD: tc.fd}}
		p.Defaults()
		if err := p.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("notify_fd %d: want %q, have %v", tc.fd, tc.want, err)
		}
	}
}

func TestOutputTail(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	p := helper(t, "p", rec, "print", "one", "two")
	p.Restart = RestartNever
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"p": p}})
	testkit.Eventually(t, "two lines", func() bool { lines, _, _ := h.s.Output("p", 0); return len(lines) == 2 })
	lines, more, err := h.s.Output("p", 1)
	if err != nil || len(lines) != 1 || lines[0].Text != "two" || lines[0].Seq != 2 || lines[0].Stream != "stdout" || more == nil {
		t.Errorf("after 1: want line 2 \"two\" on stdout, have %+v, %v", lines, err)
	}
}

func TestUsageMetrics(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{
		"mem": helper(t, "mem", rec, "mem", "64"),
		"cpu": helper(t, "cpu", rec, "cpu", "500"),
	}})
	testkit.Eventually(t, "mem holds and cpu burned", func() bool {
		evs := readRecord(t, rec)
		return len(filter(evs, "start", "mem")) == 1 && len(filter(evs, "burned", "cpu")) == 1
	})
	testkit.Eventually(t, "the figures (read at most once a second)", func() bool {
		return h.metric("corral_process_resident_memory_bytes", "mem") >= 64<<20 && h.metric("corral_process_cpu_seconds_total", "cpu") >= 0.45
	})
	for _, tc := range []struct {
		metric, process string
		least, most     float64
	}{
		{"corral_process_resident_memory_bytes", "mem", 64 << 20, 200 << 20},
		{"corral_process_cpu_seconds_total", "cpu", 0.45, 30}, // /proc counts in ticks of 10 ms
		{"corral_process_open_fds", "mem", 3, 1000},
		{"corral_process_threads", "cpu", 1, 1000},
	} {
		if have := h.metric(tc.metric, tc.process); have < tc.least || have > tc.most {
			t.Errorf("%s{process=%q}: want %v to %v, have %v", tc.metric, tc.process, tc.least, tc.most, have)
		}
	}
	u, err := h.s.Usage()
	if err != nil || u["mem"].Processes != 1 {
		t.Errorf("Usage: want one live process for mem, have %+v, %v", u["mem"], err)
	}
}

func TestReloadStartsAChangedStoppedProcess(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	web := helper(t, "web", rec, "run")
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"web": web}})
	testkit.Eventually(t, "web started", func() bool { return len(filter(readRecord(t, rec), "start", "web")) == 1 })
	if err := h.s.StopProcess("web"); err != nil {
		t.Fatal(err)
	}
	changed := helper(t, "web", rec, "run", "slow")
	if err := h.s.Reload(Config{}, map[string]ProcessConfig{"web": changed}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "web started by the reload", func() bool { return len(filter(readRecord(t, rec), "start", "web")) == 2 })
	if st := h.status("web"); st.Reason != "" {
		t.Errorf("want no reason once started, have %+v", st)
	}
}

func TestNotifyFDClosedWithoutNewline(t *testing.T) {
	p := ProcessConfig{Command: []string{"sh", "-c", "exec 4>&-; exec sleep 1000"}, Ready: Ready{NotifyFD: 4, Timeout: duration.Of(time.Minute)}}
	p.Backoff = Backoff{Initial: duration.Of(time.Minute)}
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"p": p}})
	// Stopped at once (its stop signal), not after the minute of its timeout.
	testkit.Eventually(t, "p stopped", func() bool { st := h.status("p"); return st.LastExitCode != nil })
	if st := h.status("p"); *st.LastExitCode != 128+int(unix.SIGTERM) || st.Ready {
		t.Errorf("want p stopped (143) and not ready, have %+v", st)
	}
	if !strings.Contains(h.log.String(), "notify_fd") {
		t.Errorf("want the log to name notify_fd:\n%s", h.log.String())
	}
}
