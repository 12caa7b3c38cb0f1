// Command corral-load drives a running corral with concurrent scrapes for a
// fixed time, optionally SIGKILLing one of its children every few seconds,
// and reports what corral did under it: requests, errors by status and path,
// latency percentiles, corral's RSS (cold, after a warm-up, at the end),
// goroutines and open files at idle and after the load, zombies, script runs
// against scrapes, restarts seen, and for every kill how long the child took
// to come back and whether /metrics showed its source as down meanwhile.
//
//	corral-load -url http://127.0.0.1:9999 -pid $(pidof corral) \
//	  -path /metrics -path '/proxy?module=node' -path '/proxy?module=probe' \
//	  -c 50 -d 10m -warmup 30s -kill-every 5s -kill-comm '^(prometheus-node|writer\.sh)$'
//
// It exits 1 when it saw a problem: a /metrics answer other than 200, a 5xx
// from /proxy other than 502/504 while a child was down, RSS growth over
// -max-rss-growth after the warm-up, goroutines or open files not back to
// their idle level, zombies, or a killed child not restarted in time.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"
)

type paths []string

func (p *paths) String() string     { return strings.Join(*p, ",") }
func (p *paths) Set(v string) error { *p = append(*p, v); return nil }

type options struct {
	base          string
	paths         paths
	scripts       paths // the script modules, to count their scrapes
	conc          int
	dur           time.Duration
	warmup        time.Duration
	pid           int
	killEvery     time.Duration
	killComm      *regexp.Regexp
	restartWithin time.Duration
	settle        time.Duration
	label         string // the merge label ([web] merge_label)
	self          string // corral's own source name ([web] self_source)
	maxRSSGrowth  float64
	timeout       string // X-Prometheus-Scrape-Timeout-Seconds sent
	stall         int    // connections that never read, held through the load
	stallPath     string
	silent        int    // connections held open without a request, reopened when closed
	silentFrom    string // their local address; "": any
	fresh         bool   // a new connection for every scrape
	jsonOutput    bool
}

func main() {
	var o options
	var comm string
	flag.StringVar(&o.base, "url", "http://127.0.0.1:9999", "base URL of corral")
	flag.Var(&o.paths, "path", "path to scrape, repeatable (default /metrics); scrapers take them round-robin")
	flag.Var(&o.scripts, "script", "a module that is a script source, repeatable: its /proxy scrapes are counted against script runs")
	flag.IntVar(&o.conc, "c", 50, "concurrent scrapers")
	flag.DurationVar(&o.dur, "d", 30*time.Second, "how long to drive load, after the warm-up")
	flag.DurationVar(&o.warmup, "warmup", 10*time.Second, "load before the RSS baseline is taken (no kills meanwhile)")
	flag.IntVar(&o.pid, "pid", 0, "corral's pid, to read its RSS, open files and children from /proc")
	flag.DurationVar(&o.killEvery, "kill-every", 0, "SIGKILL a random matching child of corral this often (0: never)")
	flag.StringVar(&comm, "kill-comm", ".", "regexp on the command name (/proc/PID/comm) of the children that may be killed")
	flag.DurationVar(&o.restartWithin, "restart-within", 30*time.Second, "a killed child must be running again within this")
	flag.DurationVar(&o.settle, "settle", 2*time.Minute, "how long to wait after the load for goroutines and files to return to idle (idle keep-alive connections to exporters close after 90 s)")
	flag.StringVar(&o.label, "label", "exporter", "corral's merge label")
	flag.StringVar(&o.self, "self", "corral", "the source name of corral's own metrics")
	flag.Float64Var(&o.maxRSSGrowth, "max-rss-growth", 0.10, "allowed RSS growth from the warm baseline to the end")
	flag.StringVar(&o.timeout, "scrape-timeout", "10", "X-Prometheus-Scrape-Timeout-Seconds sent with every scrape")
	flag.IntVar(&o.stall, "stall", 0, "connections that send one GET for -stall-path and never read the answer, held open through the load (after the warm-up)")
	flag.StringVar(&o.stallPath, "stall-path", "/metrics", "what the -stall connections ask for (sent without a scrape timeout header)")
	flag.IntVar(&o.silent, "silent", 0, "connections that send a request's first line and nothing more, each reopened as soon as corral closes it, through the load (after the warm-up)")
	flag.StringVar(&o.silentFrom, "silent-from", "", "local address of the -silent connections (such as 127.0.0.2: another client than the scrapers); empty: any")
	flag.BoolVar(&o.fresh, "fresh", false, "scrapers open a new connection for every scrape (no keep-alive), as a Prometheus that has just started or lost its connection does")
	flag.BoolVar(&o.jsonOutput, "json", false, "print the report as JSON")
	flag.Parse()
	if len(o.paths) == 0 {
		o.paths = paths{"/metrics"}
	}
	if o.conc < 1 || o.dur <= 0 || o.warmup < 0 {
		fmt.Fprintln(os.Stderr, "corral-load: -c must be at least 1, -d positive, -warmup not negative")
		os.Exit(2)
	}
	re, err := regexp.Compile(comm)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corral-load: -kill-comm:", err)
		os.Exit(2)
	}
	o.killComm = re
	rep, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corral-load:", err)
		os.Exit(1)
	}
	if o.jsonOutput {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		rep.print(os.Stdout)
	}
	if !rep.ok() {
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (*Report, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.conc + 2}}
	scrapers := client
	if o.fresh {
		scrapers = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	}
	idle, err := read(client, o)
	client.CloseIdleConnections()
	if err != nil {
		return nil, fmt.Errorf("idle reading: %w", err)
	}

	// Warm-up: the same load, no kills, not counted; then the RSS baseline:
	// the most corral held during the warm-up. One reading under load falls
	// anywhere between two garbage collections (±15% from run to run).
	var peak int64
	if o.warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, o.warmup)
		peaked := make(chan int64, 1)
		go func() { peaked <- peakRSS(wctx, o.pid) }()
		drive(wctx, scrapers, o)
		cancel()
		peak = <-peaked
	}
	warm, err := read(client, o)
	if err != nil {
		return nil, fmt.Errorf("reading after the warm-up: %w", err)
	}
	warm.RSSBytes = max(warm.RSSBytes, peak)

	lctx, cancel := context.WithTimeout(ctx, o.dur)
	defer cancel()
	started := time.Now()
	peaked := make(chan int64, 1)
	go func() { peaked <- peakRSS(lctx, o.pid) }()
	stalled := make(chan int, 1)
	go func() { stalled <- stall(lctx, o) }()
	type silenced struct {
		opened int64
		fds    int
	}
	silentDone := make(chan silenced, 1)
	go func() { opened, fds := silence(lctx, o); silentDone <- silenced{opened, fds} }()
	done := make(chan []sample, 1)
	go func() { done <- drive(lctx, scrapers, o) }()
	kills := killLoop(lctx, client, o)
	all := <-done
	loadPeak, held, sil := <-peaked, <-stalled, <-silentDone
	took := time.Since(started)
	loaded, err := read(client, o)
	if err != nil {
		return nil, fmt.Errorf("reading after the load: %w", err)
	}
	client.CloseIdleConnections()
	end, err := settle(client, o, idle, warm)
	if err != nil {
		return nil, fmt.Errorf("last reading: %w", err)
	}
	rep := report(o, all, took, kills, idle, warm, loaded, end)
	rep.PeakRSSBytes, rep.Stalled = loadPeak, held
	rep.SilentOpened, rep.PeakFDs = sil.opened, sil.fds
	return rep, nil
}

type sample struct {
	path    string
	status  int
	latency time.Duration
	at      time.Time
}

// drive runs o.conc scrapers until ctx ends and returns their samples.
func drive(ctx context.Context, c *http.Client, o options) []sample {
	results := make(chan []sample, o.conc)
	for i := range o.conc {
		go func() { results <- scrape(ctx, c, o, i) }()
	}
	var all []sample
	for range o.conc {
		all = append(all, <-results...)
	}
	return all
}

// scrape runs one scraper until ctx ends; scraper i starts at path i so
// the paths share the load evenly.
func scrape(ctx context.Context, c *http.Client, o options, i int) []sample {
	var out []sample
	for n := i; ctx.Err() == nil; n++ {
		p := o.paths[n%len(o.paths)]
		t := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.base+p, nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", o.timeout)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := c.Do(req)
		status := 0
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
		if ctx.Err() != nil && status == 0 {
			break // cut by the end of the run, not a failure
		}
		out = append(out, sample{path: p, status: status, latency: time.Since(t), at: t})
	}
	return out
}

// settle takes readings until corral is back to its idle goroutines and
// open files with no zombie, and its RSS within o.maxRSSGrowth of the warm
// reading's (corral gives memory back a few seconds after the last scrape:
// a reading right after the load may or may not come after a collection),
// or until o.settle has passed; the last reading is the result.
func settle(c *http.Client, o options, idle, warm Reading) (Reading, error) {
	deadline := time.Now().Add(o.settle)
	for {
		r, err := read(c, o)
		c.CloseIdleConnections() // our own reading's connection is not a leak
		rssBack := warm.RSSBytes == 0 || float64(r.RSSBytes) <= (1+o.maxRSSGrowth)*float64(warm.RSSBytes)
		if err != nil || time.Now().After(deadline) || r.idleAs(idle) && rssBack {
			return r, err
		}
		time.Sleep(time.Second)
	}
}
