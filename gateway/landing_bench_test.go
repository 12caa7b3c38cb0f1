package gateway

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkLandingPage is the cost of rendering / (HTML) for an appliance of
// 10 and 100 processes, each with its usage figures and control buttons.
func BenchmarkLandingPage(b *testing.B) {
	for _, n := range []int{10, 100} {
		procs := make([]ProcessStatus, n)
		for i := range procs {
			procs[i] = ProcessStatus{
				Name: fmt.Sprintf("process-%03d", i), State: "running", PID: 1000 + i, Restarts: i % 3,
				Started: time.Now().Add(-time.Hour), LastExitCode: ptr(143), Reason: "ended with exit code 143; restarting",
				Usage: &ProcessUsage{CPUSeconds: 12.5, ResidentBytes: 48 << 20, OpenFDs: 12, Threads: 8},
			}
		}
		g := New(Options{Processes: func() []ProcessStatus { return procs }, Controller: newFakeController(), Control: true})
		h := g.Handler()
		b.Run(fmt.Sprintf("processes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
