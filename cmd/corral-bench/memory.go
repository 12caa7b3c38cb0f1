package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/corral-metrics/corral/exposition"
	"github.com/corral-metrics/corral/gateway"
)

// memoryRun is `corral-bench memory`: what one corral binary holds before,
// during and after a burst of heavy scrapes of one big source, against the
// README's formula (idle RSS + formulaSlack + a memo per way the source is
// scanned). The upstream is a process of its own; corral is the
// binary given, started with the source merged and verified. Its RSS
// (VmRSS) is read from /proc, its heap from its own go_memstats_* metrics
// (/proxy?module=corral), at idle, after one scrape of each kind, through
// the load and every second for -after once it stops.
func memoryRun(args []string) error {
	fs := flag.NewFlagSet("corral-bench memory", flag.ExitOnError)
	bin := fs.String("corral", "corral", "the corral binary")
	series := fs.Int("series", 104000, "series in the source's body (104,000: ~8.6 MB)")
	conc := fs.Int("c", 16, "concurrent scrapers during the load")
	dur := fs.Duration("d", 30*time.Second, "how long the load lasts")
	after := fs.Duration("after", 60*time.Second, "how long to watch after the load stops")
	every := fs.Duration("every", 0, "instead of the load: scrape /metrics once every this long, -scrapes times, as a steady Prometheus")
	scrapes := fs.Int("scrapes", 8, "with -every: how many scrapes")
	fs.Parse(args)

	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "corral-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	up, err := startReporting(self, "upstream", "-series", strconv.Itoa(*series), "-prefix", "big")
	if err != nil {
		return err
	}
	defer up.stop()
	addr, sizeText, _ := strings.Cut(up.line, " ")
	size, _ := strconv.ParseInt(sizeText, 10, 64)
	cfg := fmt.Sprintf("[exporter.big]\nurl = %q\n", "http://"+addr+"/metrics")
	p, base, err := startCorral(*bin, dir, "memory", cfg)
	if err != nil {
		return err
	}
	defer p.stop()
	pid := p.cmd.Process.Pid
	w := os.Stdout
	fmt.Fprintf(w, "corral-bench memory: %s\nsource: %d series, %d bytes (%.2f MiB); load: %d scrapers for %s over %d kinds of request\n\n",
		machine(), *series, size, float64(size)/(1<<20), *conc, *dur, len(memoryRequests))

	if *every > 0 {
		return steady(w, pid, base, *every, *scrapes)
	}
	mem := func() memstats { return readMemstats(base) }
	line := func(what string, rss int64, m memstats) {
		fmt.Fprintf(w, "%-28s RSS %7.1f MiB  %s\n", what, mib(rss), m)
	}
	idleRSS, idleMem := vmRSS(pid), mem()
	line("idle", idleRSS, idleMem)
	for _, r := range memoryRequests {
		if status, err := r.do(context.Background(), base); err != nil || status != http.StatusOK {
			return fmt.Errorf("first scrape %s: status %d, %v", r, status, err)
		}
	}
	line("after one of each request", vmRSS(pid), mem())
	time.Sleep(quiet)
	settledRSS := vmRSS(pid)
	line(fmt.Sprintf("%s later", quiet), settledRSS, mem())

	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	var peak int64
	peaked := make(chan struct{})
	go func() {
		defer close(peaked)
		for t := time.NewTicker(100 * time.Millisecond); ctx.Err() == nil; <-t.C {
			peak = max(peak, vmRSS(pid))
		}
	}()
	statuses := load(ctx, base, *conc)
	cancel()
	<-peaked
	stopped := time.Now()
	fmt.Fprintf(w, "load: %s; peak RSS %.1f MiB\n", statuses, mib(peak))
	line("load stopped", vmRSS(pid), mem())

	var rss []int64
	for i := 1; time.Since(stopped) < *after; i++ {
		time.Sleep(time.Until(stopped.Add(time.Duration(i) * time.Second)))
		rss = append(rss, vmRSS(pid))
	}
	// corral's own metrics only now: reading them is a scrape, and a scrape
	// at least every 30 s keeps what corral keeps for the next one (README).
	line(fmt.Sprintf("%s after", after.Round(time.Second)), rss[len(rss)-1], mem())
	fmt.Fprintf(w, "RSS each second after the load (MiB): %s\n", mibs(rss))
	end := rss[len(rss)-1]
	// The README's formula: the idle RSS, formulaSlack, and a memo for each
	// way the source is scanned (its merge, its verified /proxy).
	memo := int64(exposition.MemoBytes(body(*series, "big", false, 0)))
	formula := idleRSS + formulaSlack + 2*memo
	// The README's bound under load: the formula for a source scraped
	// (2.5 × body more for each way), the budget in flight (the default
	// max_inflight_bytes) and the soft limit's 64 MiB of garbage.
	bound := formula + 2*(size*5/2) + gateway.DefaultMaxInflightBytes + 64<<20
	fmt.Fprintf(w, "\n| idle RSS | %s after one scrape of each kind | peak under load | bound: formula + 2 × 2.5 × body + %.0f MiB + 64 MiB | | %s after the load | formula: idle + %.0f MiB + 2 × memo (%.1f MiB) | |\n|---|---|---|---|---|---|---|---|\n",
		quiet, mib(gateway.DefaultMaxInflightBytes), after.Round(time.Second), mib(formulaSlack), mib(memo))
	fmt.Fprintf(w, "| %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %s | %.1f MiB | %.1f MiB | %s |\n",
		mib(idleRSS), mib(settledRSS), mib(peak), mib(bound), check(peak <= bound), mib(end), mib(formula), check(end <= formula))
	return nil
}

// check is a table's verdict.
func check(ok bool) string {
	if ok {
		return "✔"
	}
	return "✘"
}

// formulaSlack is what the README's formula allows beyond the idle RSS and
// the memos: the code and runtime state the first scrapes bring in, and
// the garbage a quiet spell leaves when it is not worth a trim.
const formulaSlack = 16 << 20

// quiet is how long after the scrapes corral gives memory back (the
// gateway's quietAfter), and a second more.
const quiet = 6 * time.Second

// steady scrapes /metrics every d, n times, and prints for each scrape the
// CPU corral spent on it, its RSS right after, and its CPU and RSS at the
// end of the wait (when a trim ran, if any).
func steady(w io.Writer, pid int, base string, d time.Duration, n int) error {
	fmt.Fprintf(w, "/metrics every %s, %d times\n", d, n)
	for i := 1; i <= n; i++ {
		start := time.Now()
		cpu0 := cpuTime(pid)
		status, err := memoryRequests[0].do(context.Background(), base)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("scrape %d: status %d, %v", i, status, err)
		}
		cpu1, rss1 := cpuTime(pid), vmRSS(pid)
		time.Sleep(time.Until(start.Add(d)))
		fmt.Fprintf(w, "scrape %d: CPU %s, RSS after %.1f MiB; until the next: CPU %s, RSS %.1f MiB\n",
			i, ms(cpu1-cpu0), mib(rss1), ms(cpuTime(pid)-cpu1), mib(vmRSS(pid)))
	}
	return nil
}

// memoryRequest is one kind of scrape the load makes.
type memoryRequest struct {
	path, accept string
	gzip         bool
}

const (
	acceptOM    = "application/openmetrics-text;version=1.0.0"
	acceptProto = "application/vnd.google.protobuf;proto=io.prometheus.client;encoding=delimited"
	acceptText  = "text/plain;version=0.0.4"
)

// memoryRequests are every path, format and encoding a client may ask.
var memoryRequests = func() []memoryRequest {
	var rs []memoryRequest
	for _, path := range []string{"/metrics", "/proxy?module=big"} {
		for _, accept := range []string{"", acceptText, acceptOM, acceptProto} {
			for _, gz := range []bool{false, true} {
				rs = append(rs, memoryRequest{path, accept, gz})
			}
		}
	}
	return rs
}()

func (r memoryRequest) String() string {
	return fmt.Sprintf("%s Accept=%q gzip=%v", r.path, r.accept, r.gzip)
}

// rawClient reads what corral sends, compressed or not, without inflating.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

func (r memoryRequest) do(ctx context.Context, base string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+r.path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	if r.gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// load runs conc scrapers over memoryRequests until ctx ends and counts
// their answers by status.
func load(ctx context.Context, base string, conc int) string {
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for i := range conc {
		wg.Go(func() {
			for n := i; ctx.Err() == nil; n++ {
				status, err := memoryRequests[n%len(memoryRequests)].do(ctx, base)
				if ctx.Err() != nil {
					return
				}
				k := strconv.Itoa(status)
				if err != nil {
					k = "error"
				}
				mu.Lock()
				counts[k]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range counts {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// memstats are the Go runtime's figures corral reports about itself.
type memstats map[string]float64

var memstatNames = []struct{ metric, short string }{
	{"go_memstats_heap_inuse_bytes", "inuse"},
	{"go_memstats_heap_idle_bytes", "idle"},
	{"go_memstats_heap_released_bytes", "released"},
	{"go_memstats_next_gc_bytes", "next_gc"},
	{"go_memstats_sys_bytes", "sys"},
	{"go_gc_duration_seconds_count", "gcs"},
	{"go_goroutines", "goroutines"},
}

func (m memstats) String() string {
	var b strings.Builder
	for _, n := range memstatNames {
		v, ok := m[n.metric]
		switch {
		case !ok:
			fmt.Fprintf(&b, " %s ?", n.short)
		case strings.HasSuffix(n.metric, "_bytes"):
			fmt.Fprintf(&b, " %s %.1f", n.short, v/(1<<20))
		default:
			fmt.Fprintf(&b, " %s %.0f", n.short, v)
		}
	}
	return "heap MiB:" + b.String()
}

// readMemstats takes corral's own figures from /proxy?module=corral.
func readMemstats(base string) memstats {
	m := memstats{}
	resp, err := rawClient.Get(base + "/proxy?module=corral")
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		for _, n := range memstatNames {
			if name == n.metric {
				m[name], _ = strconv.ParseFloat(value, 64)
			}
		}
	}
	return m
}

// vmRSS is the resident set of pid, from /proc/PID/status.
func vmRSS(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func mibs(bs []int64) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%.0f", mib(b))
	}
	return strings.Join(parts, " ")
}
