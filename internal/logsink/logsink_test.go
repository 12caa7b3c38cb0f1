package logsink

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestBlockedStderrNeverBlocksLogging: with stderr a pipe nobody reads,
// log calls return at once, the overflow is counted, and what fits is
// written once the pipe is read.
func TestBlockedStderrNeverBlocksLogging(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	s := New(w, 16)
	done := make(chan struct{})
	go func() { s.Run(); close(done) }()
	logger := slog.New(slog.NewTextHandler(s, nil))
	line := string(make([]byte, 4096))
	begin := time.Now()
	for range 1000 { // 4 MB: far more than a pipe (64 KiB) holds
		logger.Info(line)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("1,000 log calls on a blocked stderr: want at once, have %s", took)
	}
	if n := testutil.ToFloat64(s.Dropped()); n < 900 {
		t.Errorf("dropped: want most of 1,000, have %v", n)
	}
	go io.Copy(io.Discard, r)
	s.Stop()
	<-done
	s.Flush(time.Second)
}

func TestFlushBounded(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	s := New(w, 100)
	big := make([]byte, 1<<20) // more than the pipe holds: the write blocks
	s.Write(big)
	begin := time.Now()
	s.Flush(200 * time.Millisecond)
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("Flush on a blocked stderr: want at most its bound, have %s", took)
	}
}
