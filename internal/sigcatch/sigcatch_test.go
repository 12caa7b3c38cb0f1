package sigcatch

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

func TestCatchable(t *testing.T) {
	got := map[os.Signal]bool{}
	for _, s := range Catchable() {
		got[s] = true
	}
	for _, s := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD, syscall.SIGURG, syscall.SIGPROF, 32, 33, 34} {
		if got[s] {
			t.Errorf("Catchable lists %s", s)
		}
	}
	for _, s := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, 35, 37, 64} {
		if !got[s] {
			t.Errorf("Catchable does not list %s", s)
		}
	}
	if len(got) != 56 {
		t.Errorf("Catchable lists %d signals, want the 26 of 1-31 but KILL, STOP, CHLD, URG, PROF and the 30 of 35-64", len(got))
	}
}

// TestCaughtBeforeMain: the signals are taken when the package is
// initialised; a SIGTERM to this test binary (before anything else asks for
// it) queues on Caught instead of ending the process.
func TestCaughtBeforeMain(t *testing.T) {
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-Caught():
		if s != syscall.SIGTERM {
			t.Fatalf("caught %s, want SIGTERM", s)
		}
	case <-time.After(testkit.Bound):
		t.Fatal("SIGTERM never reached Caught")
	}
}
