package supervisor

import (
	"errors"
	"os"
	"strings"
	"testing"

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
	if have := h.metric("corral_process_last_exit_code", "nginx"); have != 0 {
		t.Errorf("last exit code: want 0, have %v", have)
	}
}
