// Package testkit holds what corral's tests share: waiting on a condition
// with a generous bound, a buffer safe for concurrent writers, and the
// rule that a test missing what it needs skips on a laptop but fails in CI.
package testkit

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Bound is how long Eventually waits: long enough for a busy machine.
const Bound = 30 * time.Second

// Eventually polls cond every 10 ms until it holds, and fails the test
// after Bound.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll(t, Bound, 10*time.Millisecond, what, func() (bool, string) { return cond(), "" })
}

// Within polls cond every 100 ms until it reports done, and fails the test
// after bound with cond's last message: for conditions that cost a request
// or a container command, that may take longer than Bound (images,
// Prometheus), or whose failure wants explaining.
func Within(t testing.TB, bound time.Duration, what string, cond func() (done bool, msg string)) {
	t.Helper()
	poll(t, bound, 100*time.Millisecond, what, cond)
}

func poll(t testing.TB, bound, every time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if msg != "" {
				msg = ": " + msg
			}
			t.Fatalf("timed out after %s waiting for %s%s", bound, what, msg)
		}
		time.Sleep(every)
	}
}

// Need stops the test when what it needs is missing (err != nil): a skip,
// except under CI=true, where it is a failure.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %v (CI=true: a missing requirement fails)", what, err)
	}
	t.Skipf("%s: %v", what, err)
}

// Buffer collects output written from several goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// namespace is how a test becomes PID 1 without privileges: a new user
// namespace mapping the caller to root, with a new PID namespace and its
// own /proc; --kill-child takes the namespace down with unshare.
func namespace(args ...string) []string {
	return append([]string{"--user", "--map-root-user", "--pid", "--fork", "--mount-proc", "--kill-child"}, args...)
}

// PID1 returns a command running args as PID 1 of a new PID namespace,
// unprivileged. It fails (under CI=true) or skips the test when the
// kernel or the machine cannot make one.
func PID1(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	_, err := exec.LookPath("unshare")
	Need(t, "PID 1 tests need unshare(1)", err)
	if out, err := exec.Command("unshare", namespace("true")...).CombinedOutput(); err != nil {
		Need(t, "a user and PID namespace", &probeError{err: err, out: string(out)})
	}
	return exec.Command("unshare", namespace(args...)...)
}

type probeError struct {
	err error
	out string
}

func (e *probeError) Error() string { return e.err.Error() + ": " + e.out }
