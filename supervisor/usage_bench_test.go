package supervisor

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corral-metrics/corral/internal/testkit"
	"github.com/corral-metrics/corral/supervisor/tail"
	"github.com/corral-metrics/corral/supervisor/usage"
)

// BenchmarkScrapeUsage is the cost of gathering the supervisor's metrics
// for 10 and 100 real processes (/bin/sleep): "off" without the per-process
// resources (the corral_process_* series corral has anyway), "on" with them
// read from /proc at every scrape (the Meter's cache defeated), and
// "on-cached" as scrapes closer than a second see them. Reading /proc walks
// every pid of the machine once per read, so "on" grows with the machine's
// process count too.
func BenchmarkScrapeUsage(b *testing.B) {
	for _, n := range []int{10, 100} {
		// One harness at a time: each has its reaper, the one owner of wait4.
		b.Run(fmt.Sprintf("processes=%d", n), func(b *testing.B) { benchScrapeUsage(b, n) })
	}
}

func benchScrapeUsage(b *testing.B, n int) {
	procs := make(map[string]ProcessConfig, n)
	for i := range n {
		procs[fmt.Sprintf("p%03d", i)] = ProcessConfig{Command: []string{"sleep", "1000"}}
	}
	h := startSupervisor(b, Options{Processes: procs})
	testkit.Eventually(b, "every process running", func() bool {
		for _, st := range h.s.Status() {
			if st.PID == 0 {
				return false
			}
		}
		return true
	})
	off := prometheus.NewRegistry()
	m := h.s.metrics
	off.MustRegister(m.up, m.restarts, m.lastExit, m.startTime, m.ready)
	gather := func(b *testing.B, reg *prometheus.Registry, want int) {
		b.ReportAllocs()
		for b.Loop() {
			mfs, err := reg.Gather()
			if err != nil || len(mfs) < want {
				b.Fatalf("%d families, %v", len(mfs), err)
			}
		}
	}
	b.Run("off", func(b *testing.B) { gather(b, off, 4) })
	h.s.meter = usage.NewMeter(usage.NewReader("/proc"), 0)
	b.Run("on", func(b *testing.B) { gather(b, h.reg, 8) })
	h.s.meter = usage.NewMeter(usage.NewReader("/proc"), usageMaxAge)
	b.Run("on-cached", func(b *testing.B) { gather(b, h.reg, 8) })
}

// BenchmarkTailMemory is the memory the output buffers hold at the default
// bound (200 lines, 64 KiB of text per process) for 20 chatty processes,
// each having written 10,000 lines of 120 bytes through the output pump.
func BenchmarkTailMemory(b *testing.B) {
	const procs, lines = 20, 10_000
	chatter := strings.Repeat(strings.Repeat("x", 119)+"\n", lines)
	var held float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tails := make([]*tail.Buffer, procs)
		for i := range tails {
			tails[i] = tail.New(tailLines, tailBytes)
			pump(strings.NewReader(chatter), &sink{w: discardWriter{}}, tails[i], FormatLogfmt, "p", "stdout")
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(tails)
	}
	b.ReportMetric(held/procs/1024, "KiB-held/process")
	b.ReportMetric(held/(1<<20), "MiB-held/20-processes")
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
