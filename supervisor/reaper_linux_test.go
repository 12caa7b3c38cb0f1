package supervisor

import (
	"io"
	"log/slog"
	"os/exec"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func startReaper(t *testing.T) *Reaper {
	t.Helper()
	r := NewReaper(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { r.Run(); close(done) }()
	t.Cleanup(func() { r.Stop(); <-done })
	return r
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
		exited, err := r.Start(exec.Command("/bin/sh", "-c", tc.script))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-exited:
			if e.Code() != tc.want {
				t.Errorf("%q: want code %d, have %d (%s)", tc.script, tc.want, e.Code(), e)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%q: no exit reported", tc.script)
		}
	}
}

func TestReaperReapsOrphans(t *testing.T) {
	r := startReaper(t)
	// The child leaves a grandchild behind and exits: the grandchild is
	// re-parented to us (subreaper) and must be reaped and counted.
	exited, err := r.Start(exec.Command("/bin/sh", "-c", "sleep 0.2 & exit 0"))
	if err != nil {
		t.Fatal(err)
	}
	<-exited
	deadline := time.Now().Add(30 * time.Second)
	for testutil.ToFloat64(r.orphans) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("orphan never reaped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReaperRefusesPipedStdio(t *testing.T) {
	r := startReaper(t)
	cmd := exec.Command("/bin/true")
	cmd.Stdout = io.Discard
	if _, err := r.Start(cmd); err == nil {
		t.Fatal("want an error for a non-file stdout, have none")
	}
}
