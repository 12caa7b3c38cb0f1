package proc

import (
	"bufio"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/testkit"
)

func startReaper(t *testing.T) *Reaper {
	t.Helper()
	r := NewReaper(slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { r.Run(); close(done) }()
	t.Cleanup(func() { r.Stop(); <-done })
	return r
}

func waitExit(t *testing.T, c *Child) Exit {
	t.Helper()
	select {
	case e := <-c.Exited():
		return e
	case <-time.After(testkit.Bound):
		t.Fatalf("pid %d: no exit reported", c.Pid)
		return Exit{}
	}
}

func waitGone(t *testing.T, c *Child) {
	t.Helper()
	select {
	case <-c.Gone():
	case <-time.After(testkit.Bound):
		t.Fatalf("group %d never reported empty", c.Pid)
	}
}

func TestReaperHandsExitToOwner(t *testing.T) {
	r := startReaper(t)
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"exit 255", 255},
		{"kill -KILL $$", 128 + 9},
		{"kill -TERM $$", 128 + 15},
	} {
		c, err := r.Start(Cmd{Args: []string{"/bin/sh", "-c", tc.script}})
		if err != nil {
			t.Fatal(err)
		}
		if e := waitExit(t, c); e.Code() != tc.want {
			t.Errorf("%q: want code %d, have %d (%s)", tc.script, tc.want, e.Code(), e)
		}
		waitGone(t, c)
	}
}

func TestReaperReapsOrphans(t *testing.T) {
	r := startReaper(t)
	// The child leaves a grandchild behind and exits: the grandchild is
	// re-parented to us (subreaper) and must be reaped and counted.
	c, err := r.Start(Cmd{Args: []string{"/bin/sh", "-c", "sleep 0.2 & exit 0"}})
	if err != nil {
		t.Fatal(err)
	}
	waitExit(t, c)
	testkit.Eventually(t, "the orphan reaped", func() bool { return testutil.ToFloat64(r.Orphans()) >= 1 })
	waitGone(t, c) // the sleep was the last of the group
}

// TestGroupOutlivesLeader: after the leader's exit, the rest of its group
// can still be signalled (the group is tracked until empty), and Signal
// does nothing once the group is gone.
func TestGroupOutlivesLeader(t *testing.T) {
	r := startReaper(t)
	c, err := r.Start(Cmd{Args: []string{"/bin/sh", "-c", "sleep 1000 >/dev/null & echo $!"}, Stdout: Pipe})
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c.Stdout).ReadString('\n') // the pipe stays open: the member holds it
	c.Stdout.Close()
	member, _ := strconv.Atoi(strings.TrimSpace(line))
	if e := waitExit(t, c); !e.Success() {
		t.Fatalf("leader: want exit 0, have %s", e)
	}
	select {
	case <-c.Gone():
		t.Fatal("group reported gone while its member sleeps")
	case <-time.After(100 * time.Millisecond):
	}
	if err := unix.Kill(member, 0); err != nil {
		t.Fatalf("member %d: want alive after its leader's exit, have %v", member, err)
	}
	if err := c.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c)
	if err := c.Signal(unix.SIGKILL); err != nil {
		t.Errorf("Signal after Gone: want nil, have %v", err)
	}
}

// TestGroupGoneWithOnlyZombie: the leader leaves in its group only a
// zombie whose parent is a daemon in another session, which never reaps
// it (and whose end sends corral no SIGCHLD). The group has no live
// member, so it is gone; it used to be tracked for ever.
func TestGroupGoneWithOnlyZombie(t *testing.T) {
	r := startReaper(t)
	// The subshell forks "true", then becomes the daemon (setsid, sleep):
	// true's parent, which never waits for it.
	c, err := r.Start(Cmd{Args: []string{"/bin/sh", "-c", "( true & exec setsid sleep 1000 ) & echo $!; exit 5"}, Stdout: Pipe})
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c.Stdout).ReadString('\n')
	c.Stdout.Close()
	daemon, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("daemon pid: %q", line)
	}
	t.Cleanup(func() { unix.Kill(daemon, unix.SIGKILL) })
	if e := waitExit(t, c); e.Code() != 5 {
		t.Errorf("leader: want code 5, have %s", e)
	}
	waitGone(t, c)
	if err := unix.Kill(daemon, 0); err != nil {
		t.Errorf("daemon %d: want alive (it is in another group), have %v", daemon, err)
	}
}

func TestStartStdio(t *testing.T) {
	r := startReaper(t)
	for _, tc := range []struct {
		name           string
		stdout, stderr Stdio
		wantOut        string
		wantErr        string
	}{
		{"both piped", Pipe, Pipe, "out\n", "err\n"},
		{"stdout only", Pipe, Null, "out\n", ""},
		{"stderr only", Null, Pipe, "", "err\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := r.Start(Cmd{Args: []string{"/bin/sh", "-c", "echo out; echo err >&2"}, Stdout: tc.stdout, Stderr: tc.stderr})
			if err != nil {
				t.Fatal(err)
			}
			read := func(f *os.File) string {
				if f == nil {
					return ""
				}
				defer f.Close()
				b, _ := io.ReadAll(f)
				return string(b)
			}
			out, errOut := read(c.Stdout), read(c.Stderr)
			waitExit(t, c)
			if out != tc.wantOut || errOut != tc.wantErr {
				t.Errorf("want stdout %q stderr %q, have %q %q", tc.wantOut, tc.wantErr, out, errOut)
			}
		})
	}
}

func TestStartRefusals(t *testing.T) {
	r := startReaper(t)
	for _, tc := range []struct {
		name string
		cmd  Cmd
		want string
	}{
		{"empty", Cmd{}, "proc: empty command"},
		{"stdin pipe", Cmd{Args: []string{"/bin/true"}, Stdin: Pipe}, "proc: stdin cannot be a pipe"},
		{"missing", Cmd{Args: []string{"/nonexistent/x"}}, "fork/exec /nonexistent/x: no such file or directory"},
	} {
		_, err := r.Start(tc.cmd)
		if have := errString(err); have != tc.want {
			t.Errorf("%s: want %q, have %q", tc.name, tc.want, have)
		}
	}
	r.Stop()
	if _, err := r.Start(Cmd{Args: []string{"/bin/true"}}); err != ErrStopped {
		t.Errorf("after Stop: want %v, have %v", ErrStopped, err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestSweep: a daemon that left its group (setsid) and ignores SIGTERM is
// found below corral, gets SIGTERM, and SIGKILL at the grace's end.
func TestSweep(t *testing.T) {
	r := startReaper(t)
	dir := t.TempDir()
	rec := dir + "/term"
	c, err := r.Start(Cmd{Args: []string{"setsid", "-f", "/bin/sh", "-c", "trap 'echo term >" + rec + "' TERM; touch " + dir + "/ready; while :; do sleep 0.05; done"}})
	if err != nil {
		t.Fatal(err)
	}
	waitExit(t, c)
	testkit.Eventually(t, "the daemon to trap SIGTERM", func() bool { _, err := os.Stat(dir + "/ready"); return err == nil })
	begin := time.Now()
	// A grace long enough for the shell to run its trap on a busy machine.
	const grace = 2 * time.Second
	if n := r.Sweep(grace); n == 0 {
		t.Fatal("sweep found nothing")
	}
	if took := time.Since(begin); took < grace || took > grace+10*time.Second {
		t.Errorf("sweep: want SIGKILL after the %s grace, have %s", grace, took)
	}
	if left := descendants(os.Getpid()); len(left) != 0 {
		t.Errorf("want nothing left, have %v", left)
	}
	if _, err := os.Stat(rec); err != nil {
		t.Errorf("the daemon never got SIGTERM: %v", err)
	}
}

// TestSweepContinuesStopped: a daemon that was stopped (SIGSTOP) gets
// SIGCONT after its SIGTERM, so it runs its handler and ends cleanly
// instead of waiting, stopped, for the SIGKILL.
func TestSweepContinuesStopped(t *testing.T) {
	r := startReaper(t)
	dir := t.TempDir()
	rec, pidfile := dir+"/term", dir+"/pid"
	c, err := r.Start(Cmd{Args: []string{"setsid", "-f", "/bin/sh", "-c", "trap 'echo term >" + rec + "; exit 0' TERM; echo $$ >" + pidfile + ".new; mv " + pidfile + ".new " + pidfile + "; while :; do sleep 0.05; done"}})
	if err != nil {
		t.Fatal(err)
	}
	waitExit(t, c)
	var daemon int
	testkit.Eventually(t, "the daemon's pid", func() bool {
		b, err := os.ReadFile(pidfile)
		daemon, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && daemon > 0
	})
	if err := unix.Kill(daemon, unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the daemon stopped", func() bool {
		for _, e := range readProcs() {
			if e.pid == daemon {
				return e.state == 'T'
			}
		}
		return false
	})
	if n := r.Sweep(testkit.Bound); n == 0 {
		t.Fatal("sweep found nothing")
	}
	if _, err := os.Stat(rec); err != nil {
		t.Errorf("the stopped daemon never acted on SIGTERM: %v", err)
	}
}

// TestHoldKeepsReaping: after Stop, Run goes on reaping while held, so a
// shutdown still gets its children's exits.
func TestHoldKeepsReaping(t *testing.T) {
	r := NewReaper(slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { r.Run(); close(done) }()
	release := r.Hold()
	c, err := r.Start(Cmd{Args: []string{"/bin/sh", "-c", "exit 0"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Stop()
	waitExit(t, c)
	select {
	case <-done:
		t.Fatal("Run returned while held")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	release() // twice is fine
	select {
	case <-done:
	case <-time.After(testkit.Bound):
		t.Fatal("Run did not return once released")
	}
}
