package scripts

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

// BenchmarkCoalesced100 is 100 concurrent scrapes of a script that takes
// 1 s: one op is the wall time until all 100 have their answer.
func BenchmarkCoalesced100(b *testing.B) {
	b.ReportAllocs()
	dir := b.TempDir()
	counter := filepath.Join(dir, "counter")
	f := newScript(b, "slow", Config{
		Command: []string{testdata(b, "counter.sh")},
		Timeout: duration.Of(time.Minute),
		Env:     map[string]string{"COUNTER": counter, "SLEEP": "1"},
	}, Deps{})
	var failed atomic.Int64
	for b.Loop() {
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if _, err := scrape(context.Background(), f.Script, nil); err != nil {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
	}
	if failed.Load() > 0 {
		b.Fatalf("%d scrapes failed", failed.Load())
	}
	b.ReportMetric(float64(lines(b, counter))/float64(b.N), "runs/op")
}

// writeExposition writes a text exposition of about size bytes to a file.
func writeExposition(b *testing.B, size int) string {
	var sb strings.Builder
	sb.WriteString("# HELP bench_metric A metric.\n# TYPE bench_metric gauge\n")
	for i := 0; sb.Len() < size; i++ {
		fmt.Fprintf(&sb, "bench_metric{instance=\"host-%d\",job=\"bench\"} %d\n", i, i)
	}
	path := filepath.Join(b.TempDir(), "metrics.prom")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkCachedScrape serves a script's output from a 30 s cache, beside
// reading a static file of the same bytes, the cost of a file source.
func BenchmarkCachedScrape(b *testing.B) {
	for _, size := range []int{16 << 10, 256 << 10} {
		path := writeExposition(b, size)
		for _, sink := range []struct {
			name string
			read func(io.Reader, *bytes.Buffer) error
		}{
			// into a buffer reused across scrapes, as a server reusing its buffers
			{"cache", func(r io.Reader, buf *bytes.Buffer) error { buf.Reset(); _, err := buf.ReadFrom(r); return err }},
			// into a fresh slice grown by io.ReadAll, the pessimistic case
			{"cache-readall", func(r io.Reader, _ *bytes.Buffer) error { _, err := io.ReadAll(r); return err }},
		} {
			b.Run(fmt.Sprintf("%s/%dKiB", sink.name, size>>10), func(b *testing.B) {
				b.ReportAllocs()
				f := newScript(b, "cached", Config{
					Command: []string{testdata(b, "static.sh")},
					Cache:   duration.Of(30 * time.Second),
					Env:     map[string]string{"FILE": path},
				}, Deps{})
				if _, err := scrape(context.Background(), f.Script, nil); err != nil {
					b.Fatal(err)
				}
				var buf bytes.Buffer
				for b.Loop() {
					resp, err := f.Scrape(context.Background(), source.Request{})
					if err != nil {
						b.Fatal(err)
					}
					if err := sink.read(resp.Body, &buf); err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
				}
				if hits := f.counter(f.metrics.cacheHits); hits < b.N {
					b.Fatalf("want %d cache hits, have %d", b.N, hits)
				}
			})
		}
		b.Run(fmt.Sprintf("readfile/%dKiB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := os.ReadFile(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDistinctParamFlood is 500 scrapes with 500 distinct parameter
// values at once, against a script that answers at once, max_concurrent=2:
// the fork rate is bounded by the cap, and the peak never passes it.
func BenchmarkDistinctParamFlood(b *testing.B) {
	b.ReportAllocs()
	dir := b.TempDir()
	counter := filepath.Join(dir, "counter")
	f := newScript(b, "flood", Config{
		Command:       []string{testdata(b, "counter.sh")},
		Timeout:       duration.Of(time.Minute),
		Params:        []string{"host"},
		MaxConcurrent: 2,
		Env:           map[string]string{"COUNTER": counter},
	}, Deps{Limiter: NewLimiter(8)})
	var busy atomic.Int64
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		for i := range 500 {
			wg.Go(func() {
				if _, err := scrape(context.Background(), f.Script, url.Values{"host": {strconv.Itoa(i)}}); err != nil {
					busy.Add(1)
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	runs := lines(b, counter)
	if peak := f.peak.Load(); peak > 2 {
		b.Fatalf("peak %d runs at once, above max_concurrent=2", peak)
	}
	b.ReportMetric(float64(runs)/float64(b.N), "runs/op")
	b.ReportMetric(float64(busy.Load())/float64(b.N), "refused/op")
	b.ReportMetric(float64(runs)/elapsed.Seconds(), "forks/s")
	b.ReportMetric(float64(f.peak.Load()), "peak")
}
