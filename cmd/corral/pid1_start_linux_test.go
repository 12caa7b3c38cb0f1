package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestPID1SignalsWhileLoading: signals that reach corral (PID 1) while it is
// still reading its configuration are acted on, not lost and not fatal: a
// SIGHUP, a SIGUSR1 and a SIGQUIT sent then neither end nor confuse it, and
// a SIGTERM sent then stops it with exit code 0 before it has started any
// task, process or main process. The configuration is a FIFO, so corral is
// held inside its load until the test has sent the signals.
func TestPID1SignalsWhileLoading(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "corral.toml")
	if err := syscall.Mkfifo(config, 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "started")
	var stderr bytes.Buffer
	cmd := testkit.PID1(t, bin, "--config.file", config, "--web.listen-address", "127.0.0.1:0",
		"--", "/bin/touch", marker+".main")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() }) // unshare --kill-child takes PID 1 along

	// Opening the FIFO for writing returns once corral has opened it to
	// read: corral is then in its configuration load.
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(config, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			close(opened)
			return
		}
		opened <- f
	}()
	var fifo *os.File
	select {
	case fifo = <-opened:
	case err := <-done:
		t.Fatalf("corral ended before reading its configuration: %v\n%s", err, stderr.String())
	case <-time.After(testkit.Bound):
		t.Fatalf("corral never opened its configuration\n%s", stderr.String())
	}
	if fifo == nil {
		t.FailNow()
	}
	pid := pid1Of(t, cmd.Process.Pid)
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGQUIT, syscall.SIGTERM} {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Fprintf(fifo, "[task.t]\ncommand = [\"/bin/touch\", %q]\n[process.p]\ncommand = [\"/bin/sh\", \"-c\", \"touch %s.process; exec sleep 60\"]\n",
		marker+".task", marker)
	fifo.Close()

	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err != nil {
			t.Errorf("exit: want code 0, have %v\n%s", err, stderr.String())
		}
	case <-time.After(testkit.Bound):
		t.Fatalf("corral did not stop on a SIGTERM sent while it loaded its configuration\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), `msg="shutting down"`) {
		t.Errorf("no shutdown logged\n%s", stderr.String())
	}
	for _, what := range []string{"task", "process", "main"} {
		if _, err := os.Stat(marker + "." + what); err == nil {
			t.Errorf("the %s was started after a SIGTERM\n%s", what, stderr.String())
		}
	}
}

// pid1Of returns the pid, as this process sees it, of the PID 1 that
// unshare (pid) forked.
func pid1Of(t *testing.T, pid int) int {
	t.Helper()
	var child int
	testkit.Eventually(t, "unshare forks PID 1", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return false
		}
		child, _ = strconv.Atoi(f[0])
		return child > 0
	})
	return child
}
