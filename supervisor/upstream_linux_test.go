package supervisor

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/testkit"
)

// The cases of tini's test/ and dumb-init's tests/, ported with corral as
// PID 1 in a user and PID namespace (testkit.PID1), and the corral test
// that covers each. In Docker: e2e/pid1_docker_test.go (TestDockerPID1).
//
//	tini test/run_inner_tests.py
//	  exit code test (sh -c "exit N")           TestPID1MainExitCode, TestDumbInit_ExitStatus
//	  reaping test (reaping/stage_1, stage_2)   TestTini_Reaping
//	  signals test (TERM, USR1, USR2 -> 128+N)  TestTini_Signals
//	  process group test (-g, pgroup/stage_1)   TestTini_PgroupKill (corral always signals the group)
//	  zombie reaping failure (no subreaper)     not applicable: corral is PID 1 or a child subreaper (proc.NewReaper), TestReaperReapsOrphans
//	  signal configuration (sigconf-test)       not applicable: tini restores a mask and ignores it inherited; corral,
//	                                            a Go program, starts children with default dispositions (Go resets the
//	                                            ones it handles; SIGTTIN and SIGTTOU, which corral ignores once the main
//	                                            process has the terminal, too: TestPID1TerminalChildSignalsDefault)
//	  parent death signal (-p)                  not applicable: corral has no such option (it is PID 1)
//	  -e exit code remapping, -w, -v            not applicable: no such options
//	tini test/run_outer_tests.py (Docker)
//	  reaping, signals                          TestTini_Reaping, TestTini_Signals; Docker: TestDockerPID1/every_signal
//	  exit codes (zzzz -> 127)                  TestPID1MainExitCode (/nonexistent/main), TestDumbInit_FailsNonzeroWithBadExec
//	  TTY handling (dash; exit 0 / ^C -> 130)   TestTini_TTYHandling; Docker: TestDockerPID1/interactive_shell, /terminal, /stdin
//	  valgrind, package installation            not applicable
//	dumb-init tests/
//	  child_processes_test
//	    test_setsid_signals_entire_group        TestDumbInit_SetsidSignalsEntireGroup
//	    test_no_setsid_doesnt_signal_entire_group  not applicable: corral always runs a child in its own group
//	    test_all_processes_receive_term_on_exit_if_setsid  TestDumbInit_AllProcessesReceiveTermOnExit
//	    test_processes_dont_receive_term_on_exit_if_no_setsid  not applicable (as above)
//	    test_fails_nonzero_with_bad_exec        TestDumbInit_FailsNonzeroWithBadExec
//	  cli_test (usage, --help, --version, -v)   not applicable: corral's own CLI, tested in cmd/corral
//	  cwd_test test_working_directories         TestDumbInit_WorkingDirectories (the child's; corral keeps its own cwd)
//	  exit_status_test (regular, by signal)     TestDumbInit_ExitStatus
//	  proxies_signals_test
//	    test_proxies_signals                    TestPID1SignalForwardedToMain, TestPID1EverySignal
//	    test_proxies_signals_with_rewrite, test_default_rewrites_can_be_overriden_with_setsid_enabled
//	                                            not applicable: no signal rewriting (stop_signal is per process)
//	    test_ignored_signals_are_not_proxied    TestPID1EverySignal (fault signals and PIPE ignored, not forwarded)
//	  shell_background_test (TSTP, TTOU, TTIN)  TestPID1EverySignal: forwarded to the main process's group; corral,
//	                                            PID 1, does not suspend itself as dumb-init does
//	  tty_test
//	    test_tty                                TestDumbInit_TTY
//	    test_child_gets_controlling_tty_if_we_had_one  TestPID1MainGetsTerminal
//	    test_sighup_sigcont_ignored_if_was_session_leader  not applicable: corral hands the terminal over with
//	                                            tcsetpgrp in the child, in its own session: no SIGHUP/SIGCONT hand-off
//	  test-zombies                              TestTini_Reaping, TestPID1ShutdownOrderFanOutOrphans

// shellRecord is a shell command appending event for name to rec, as
// record does.
func shellRecord(rec, event, name string) string {
	return "echo \"$(date +%s%N) " + event + " " + name + " $$\" >> " + rec
}

// TestTini_Reaping: the main process leaves 100 short-lived orphans
// (reaping/stage_2.py); corral, PID 1, reaps them while they run out, not
// in the final sweep, and leaves no zombie. (How many are corral's depends
// on how many the shell reaped itself before it exited.)
func TestTini_Reaping(t *testing.T) {
	// The sleeps are 1.3 s; main waits until none is left (its own
	// command line does not hold "1.3", nor does grep's pattern match it).
	script := `D=1.$((1+2)); (i=0; while [ $i -lt 100 ]; do sleep $D & i=$((i+1)); done); while grep -qs '1[.]3' /proc/[0-9]*/cmdline; do sleep 0.1; done`
	p := startPID1(t, initConfig{Main: []string{"/bin/sh", "-c", script}, StopTimeout: 5 * time.Second})
	code, rep := p.wait(t)
	if code != 0 || rep.Orphans < 1 || len(rep.Zombies)+len(rep.Left) != 0 {
		t.Errorf("want exit 0, orphans reaped, nothing left; have %d, %v, zombies %v, alive %v", code, rep.Orphans, rep.Zombies, rep.Left)
	}
	if strings.Contains(p.stderr.String(), "final sweep") {
		t.Error("orphans were left for the final sweep")
	}
	t.Logf("orphans reaped by corral: %v of 100", rep.Orphans)
}

// TestTini_Signals: TERM, USR1 and USR2 sent to corral reach the main
// process (a shell running sleep, default handlers); corral exits 128+N.
func TestTini_Signals(t *testing.T) {
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2} {
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record")
			p := startPID1(t, initConfig{Main: []string{"/bin/sh", "-c", shellRecord(rec, "start", "main") + "; sleep 100; true"}, StopTimeout: 5 * time.Second})
			testkit.Eventually(t, "start", func() bool { return len(filter(readRecord(t, rec), "start", "main")) == 1 })
			p.signal(t, sig)
			code, rep := p.wait(t)
			if code != 128+int(sig) || len(rep.Zombies)+len(rep.Left) != 0 {
				t.Errorf("want exit %d and nothing left, have %d, zombies %v, alive %v", 128+int(sig), code, rep.Zombies, rep.Left)
			}
		})
	}
}

// TestTini_PgroupKill: the main process ignores SIGUSR1 and waits for a
// child that does not (pgroup/stage_1.py); SIGUSR1 to corral goes to the
// whole group, so the child dies, then the main process ends, then corral.
func TestTini_PgroupKill(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	p := startPID1(t, initConfig{Main: helperMain(t, "main", rec, "pgroup"), StopTimeout: 5 * time.Second})
	testkit.Eventually(t, "start", func() bool { return len(filter(readRecord(t, rec), "start", "main")) == 1 })
	p.signal(t, unix.SIGUSR1)
	code, _ := p.wait(t)
	evs := readRecord(t, rec)
	if code != 0 || len(filter(evs, "usr1", "main")) != 1 || len(filter(evs, "sleep-ended", "main")) != 1 {
		t.Errorf("want the child killed, then main exit 0; have %d, %v", code, evs)
	}
}

// TestDumbInit_ExitStatus: corral exits with the main process's code, or
// 128+N when a signal killed it.
func TestDumbInit_ExitStatus(t *testing.T) {
	type tcase struct {
		script string
		want   int
	}
	var cases []tcase
	for _, n := range []int{0, 1, 2, 32, 64, 127, 254, 255} {
		cases = append(cases, tcase{"exit " + strconv.Itoa(n), n})
	}
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGKILL} {
		cases = append(cases, tcase{"kill -" + unix.SignalName(sig)[3:] + " $$", 128 + int(sig)})
	}
	for _, tc := range cases {
		t.Run(tc.script, func(t *testing.T) {
			p := startPID1(t, initConfig{Main: []string{"/bin/sh", "-c", tc.script}, StopTimeout: 5 * time.Second})
			if code, _ := p.wait(t); code != tc.want {
				t.Errorf("want exit %d, have %d", tc.want, code)
			}
		})
	}
}

// TestDumbInit_SetsidSignalsEntireGroup: SIGTERM reaches every process of
// the main process's group (two pipelines of a shell), not just the
// shell: none is left for the final sweep.
func TestDumbInit_SetsidSignalsEntireGroup(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	script := "sleep 100 | cat & sleep 100 | cat >&2 & " + shellRecord(rec, "start", "main") + "; wait"
	p := startPID1(t, initConfig{Main: []string{"/bin/sh", "-c", script}, StopTimeout: 5 * time.Second})
	testkit.Eventually(t, "start", func() bool { return len(filter(readRecord(t, rec), "start", "main")) == 1 })
	p.signal(t, unix.SIGTERM)
	code, rep := p.wait(t)
	if code != 128+int(unix.SIGTERM) || len(rep.Zombies)+len(rep.Left) != 0 {
		t.Errorf("want exit 143 and nothing left, have %d, zombies %v, alive %v", code, rep.Zombies, rep.Left)
	}
	if strings.Contains(p.stderr.String(), "final sweep") {
		t.Error("the group's members were left for the final sweep")
	}
}

// TestDumbInit_AllProcessesReceiveTermOnExit: the main process exits and
// leaves a child in its group; the child gets SIGTERM (and its grace).
func TestDumbInit_AllProcessesReceiveTermOnExit(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	// The shell leaves the helper running in its group once it has
	// recorded its start (its SIGTERM handler is set), and exits 1.
	script := `"$0" run & until grep -q ' start main.member ' ` + rec + `; do sleep 0.05; done; exit 1`
	main := append(helperMain(t, "main.member", rec)[:4], "/bin/sh", "-c", script, helperCmd(t)[0])
	p := startPID1(t, initConfig{Main: main, StopTimeout: 5 * time.Second})
	code, _ := p.wait(t)
	if evs := readRecord(t, rec); code != 1 || len(filter(evs, "stop", "main.member")) != 1 {
		t.Errorf("want exit 1 and the member stopped by SIGTERM, have %d, %v", code, evs)
	}
}

// TestDumbInit_FailsNonzeroWithBadExec: a main command that does not exist
// ends corral with 127 and a message naming it.
func TestDumbInit_FailsNonzeroWithBadExec(t *testing.T) {
	p := startPID1(t, initConfig{Main: []string{"/doesnotexist"}, StopTimeout: 5 * time.Second})
	code, _ := p.wait(t)
	if want := "/doesnotexist: no such file or directory"; code != 127 || !strings.Contains(p.stderr.String(), want) {
		t.Errorf("want exit 127 and %q, have %d", want, code)
	}
}

// TestDumbInit_WorkingDirectories: the main process starts in corral's
// working directory.
func TestDumbInit_WorkingDirectories(t *testing.T) {
	dir := t.TempDir()
	var out testkit.Buffer
	p := startPID1With(t, initConfig{Main: []string{"/bin/sh", "-c", "readlink /proc/$$/cwd"}, StopTimeout: 5 * time.Second}, func(c *exec.Cmd) {
		c.Dir, c.Stdout = dir, &out
	})
	if code, _ := p.wait(t); code != 0 || out.String() != dir+"\n" {
		t.Errorf("want exit 0 and %q, have %d and %q", dir+"\n", code, out.String())
	}
}
