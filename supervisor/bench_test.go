package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
	"github.com/corral-metrics/corral/supervisor/proc"
)

// BenchmarkRestartLatency: time from a child's exit to its next start, less
// the backoff (initial = max = 100ms, so no jitter). The child records
// "exit" just before exiting and "start" first thing in main: the figure
// includes the helper's own start-up.
func BenchmarkRestartLatency(b *testing.B) {
	b.ReportAllocs()
	rec := filepath.Join(b.TempDir(), "record")
	p := helper(b, "crash", rec, "exit", "1")
	p.Backoff = Backoff{Initial: duration.Of(100 * time.Millisecond), Max: duration.Of(100 * time.Millisecond), Reset: duration.Of(time.Hour)}
	startSupervisor(b, Options{Processes: map[string]ProcessConfig{"crash": p}})
	b.ResetTimer()
	testkit.Eventually(b, "restarts", func() bool { return len(filter(readRecord(b, rec), "start", "")) >= b.N+1 })
	b.StopTimer()
	evs := readRecord(b, rec)
	var total time.Duration
	n := 0
	for i := 0; i+1 < len(evs); i++ {
		if evs[i].what == "exit" && evs[i+1].what == "start" {
			total += evs[i+1].at.Sub(evs[i].at) - 100*time.Millisecond
			n++
		}
	}
	if n > 0 {
		b.ReportMetric(float64(total.Microseconds())/float64(n)/1000, "ms-exit-to-restart")
	}
}

// BenchmarkReapOrphans: time to reap 1,000 orphans, from the exit of the
// child that left them (they exit with it) to the last one counted.
func BenchmarkReapOrphans(b *testing.B) {
	b.ReportAllocs()
	r := proc.NewReaper(discard(), nil)
	reaped := make(chan struct{})
	go func() { r.Run(); close(reaped) }()
	defer func() { r.Stop(); <-reaped }()
	const orphans = 1000
	for range b.N {
		b.StopTimer()
		before := testutil.ToFloat64(r.Orphans())
		c, err := r.Start(proc.Cmd{Args: helperCmd(b, "orphans", strconv.Itoa(orphans)), Env: append(os.Environ(), "CORRAL_TEST_ROLE=child")})
		if err != nil {
			b.Fatal(err)
		}
		<-c.Exited()
		b.StartTimer()
		deadline := time.Now().Add(60 * time.Second)
		for testutil.ToFloat64(r.Orphans())-before < orphans {
			if time.Now().After(deadline) {
				b.Fatalf("reaped %v of %d orphans", testutil.ToFloat64(r.Orphans())-before, orphans)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// BenchmarkPID1SigtermToExit: corral as PID 1 with 5 well-behaved
// children, from SIGTERM to its exit.
func BenchmarkPID1SigtermToExit(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		p, rec := startFive(b)
		testkit.Eventually(b, "5 starts", func() bool { return len(filter(readRecord(b, rec), "start", "")) == 5 })
		b.StartTimer()
		p.signal(b, unix.SIGTERM)
		<-p.done
		b.StopTimer()
		if p.code != 0 {
			b.Fatalf("exit code %d", p.code)
		}
	}
}

// BenchmarkPID1Idle measures corral as PID 1 supervising 5 processes for
// CORRAL_IDLE_SECONDS (default 60): CPU time (utime+stime) over the period
// and resident memory at its end. Run it on its own:
//
//	go test -run '^$' -bench PID1Idle -benchtime 1x ./supervisor
func BenchmarkPID1Idle(b *testing.B) {
	secs := 60
	if s, err := strconv.Atoi(os.Getenv("CORRAL_IDLE_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	b.ReportAllocs()
	for range b.N {
		p, rec := startFive(b)
		testkit.Eventually(b, "5 starts", func() bool { return len(filter(readRecord(b, rec), "start", "")) == 5 })
		pid := p.corralPid(b)
		time.Sleep(2 * time.Second) // let start-up settle
		cpu0 := cpuTicks(b, pid)
		time.Sleep(time.Duration(secs) * time.Second)
		cpu1 := cpuTicks(b, pid)
		rss := statusField(b, pid, "VmRSS:")
		b.ReportMetric(float64(cpu1-cpu0)*10, "ms-cpu-idle") // USER_HZ = 100
		b.ReportMetric(float64(rss)/1024, "MiB-rss")
		b.Logf("idle %ds: %d ticks (10ms each) of utime+stime, VmRSS %d kB", secs, cpu1-cpu0, rss)
		p.signal(b, unix.SIGTERM)
		<-p.done
	}
}

func startFive(b *testing.B) (*pid1, string) {
	rec := filepath.Join(b.TempDir(), "record")
	procs := map[string]ProcessConfig{}
	for i := range 5 {
		name := fmt.Sprintf("p%d", i)
		procs[name] = helper(b, name, rec, "run")
	}
	return startPID1(b, initConfig{StopTimeout: 8 * time.Second, Processes: procs}), rec
}

func (p *pid1) corralPid(tb testing.TB) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p.cmd.Process.Pid, p.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		tb.Fatalf("no corral under unshare: %q", b)
	}
	return pid
}

// cpuTicks is utime+stime of pid, in clock ticks.
func cpuTicks(tb testing.TB, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return utime + stime
}

// statusField is a "kB" field of /proc/pid/status.
func statusField(tb testing.TB, pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}
