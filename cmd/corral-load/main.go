// Command corral-load drives a running corral with concurrent scrapes for a
// fixed time, optionally SIGKILLing one of its children every few seconds,
// and reports what corral did under it: requests, errors by status,
// latency percentiles, corral's RSS, goroutines and open files before and
// after, script runs against scrapes, and restarts seen.
//
//	corral-load -url http://127.0.0.1:9999 -pid $(pidof corral) \
//	  -path /metrics -path '/proxy?module=node' -path '/proxy?module=probe' \
//	  -c 50 -d 10m -kill-every 5s -kill-comm 'node_exporter|sleep'
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type paths []string

func (p *paths) String() string     { return strings.Join(*p, ",") }
func (p *paths) Set(v string) error { *p = append(*p, v); return nil }

type options struct {
	base       string
	paths      paths
	conc       int
	dur        time.Duration
	pid        int
	killEvery  time.Duration
	killComm   *regexp.Regexp
	settle     time.Duration
	jsonOutput bool
}

func main() {
	var o options
	var comm string
	flag.StringVar(&o.base, "url", "http://127.0.0.1:9999", "base URL of corral")
	flag.Var(&o.paths, "path", "path to scrape, repeatable (default /metrics); scrapers take them round-robin")
	flag.IntVar(&o.conc, "c", 50, "concurrent scrapers")
	flag.DurationVar(&o.dur, "d", 30*time.Second, "how long to drive load")
	flag.IntVar(&o.pid, "pid", 0, "corral's pid, to read its RSS, open files and children from /proc")
	flag.DurationVar(&o.killEvery, "kill-every", 0, "SIGKILL a random matching child of corral this often (0: never)")
	flag.StringVar(&comm, "kill-comm", ".", "regexp on the command name of the children that may be killed")
	flag.DurationVar(&o.settle, "settle", 30*time.Second, "how long to wait after the load for goroutines and files to return to idle")
	flag.BoolVar(&o.jsonOutput, "json", false, "print the report as JSON")
	flag.Parse()
	if len(o.paths) == 0 {
		o.paths = paths{"/metrics"}
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

// Reading is corral's state at one moment.
type Reading struct {
	RSSBytes   int64   `json:"rss_bytes"`
	Goroutines float64 `json:"goroutines"`
	OpenFDs    int     `json:"open_fds"`
	Zombies    int     `json:"zombies"`
	ScriptRuns float64 `json:"script_runs"`
	Restarts   float64 `json:"restarts"`
}

// Report is what one load run saw.
type Report struct {
	Duration    string         `json:"duration"`
	Concurrency int            `json:"concurrency"`
	Requests    int            `json:"requests"`
	PerSecond   float64        `json:"requests_per_second"`
	ByStatus    map[string]int `json:"by_status"`
	ByPath      map[string]int `json:"by_path"`
	P50         string         `json:"p50"`
	P99         string         `json:"p99"`
	Kills       int            `json:"kills"`
	Start       Reading        `json:"start"`
	End         Reading        `json:"end"`
	Scrapes     int            `json:"script_scrapes"`
	Problems    []string       `json:"problems"`
}

func (r *Report) ok() bool { return len(r.Problems) == 0 }

func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "duration %s, %d scrapers: %d requests (%.0f/s)\n", r.Duration, r.Concurrency, r.Requests, r.PerSecond)
	fmt.Fprintf(w, "latency p50 %s p99 %s\n", r.P50, r.P99)
	fmt.Fprintf(w, "by status: %v\nby path: %v\n", r.ByStatus, r.ByPath)
	fmt.Fprintf(w, "children killed: %d, restarts seen: %.0f\n", r.Kills, r.End.Restarts-r.Start.Restarts)
	fmt.Fprintf(w, "script runs %.0f for %d script scrapes\n", r.End.ScriptRuns-r.Start.ScriptRuns, r.Scrapes)
	fmt.Fprintf(w, "RSS %.1f MiB -> %.1f MiB, goroutines %.0f -> %.0f, open fds %d -> %d, zombies %d -> %d\n",
		float64(r.Start.RSSBytes)/(1<<20), float64(r.End.RSSBytes)/(1<<20), r.Start.Goroutines, r.End.Goroutines,
		r.Start.OpenFDs, r.End.OpenFDs, r.Start.Zombies, r.End.Zombies)
	for _, p := range r.Problems {
		fmt.Fprintln(w, "PROBLEM:", p)
	}
}

type sample struct {
	path    string
	status  int
	latency time.Duration
}

func run(ctx context.Context, o options) (*Report, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.conc}}
	start, err := read(client, o)
	if err != nil {
		return nil, fmt.Errorf("first reading: %w", err)
	}
	client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, o.dur)
	defer cancel()

	results := make(chan []sample, o.conc)
	for i := range o.conc {
		go func() { results <- scrape(ctx, client, o.base, o.paths, i) }()
	}
	kills := 0
	if o.killEvery > 0 && o.pid > 0 {
		tick := time.NewTicker(o.killEvery)
		defer tick.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-tick.C:
				if killOne(o.pid, o.killComm) {
					kills++
				}
			}
		}
	}
	var all []sample
	for range o.conc {
		all = append(all, <-results...)
	}
	client.CloseIdleConnections()
	end, err := settle(client, o, start)
	if err != nil {
		return nil, fmt.Errorf("last reading: %w", err)
	}
	return report(o, all, kills, start, end), nil
}

// settle takes readings until corral is back to its idle goroutines and
// open files, or until o.settle has passed; the last reading is the result.
func settle(c *http.Client, o options, idle Reading) (Reading, error) {
	deadline := time.Now().Add(o.settle)
	for {
		r, err := read(c, o)
		c.CloseIdleConnections() // our own reading's connection is not a leak
		if err != nil || time.Now().After(deadline) ||
			(r.Goroutines <= idle.Goroutines+2 && r.OpenFDs <= idle.OpenFDs && r.Zombies == 0) {
			return r, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// scrape runs one scraper until ctx ends; scraper i starts at path i so
// the paths share the load evenly.
func scrape(ctx context.Context, c *http.Client, base string, ps []string, i int) []sample {
	var out []sample
	for n := i; ctx.Err() == nil; n++ {
		p := ps[n%len(ps)]
		t := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
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
		out = append(out, sample{path: p, status: status, latency: time.Since(t)})
	}
	return out
}

func report(o options, all []sample, kills int, start, end Reading) *Report {
	r := &Report{
		Duration: o.dur.String(), Concurrency: o.conc, Requests: len(all), Kills: kills,
		PerSecond: float64(len(all)) / o.dur.Seconds(),
		ByStatus:  map[string]int{}, ByPath: map[string]int{}, Start: start, End: end,
	}
	lat := make([]time.Duration, 0, len(all))
	for _, s := range all {
		r.ByStatus[strconv.Itoa(s.status)]++
		r.ByPath[s.path]++
		if strings.Contains(s.path, "module=") && !strings.Contains(s.path, "/metrics") {
			r.Scrapes++
		}
		lat = append(lat, s.latency)
		if s.status != http.StatusOK {
			// /metrics must never fail: a dead child shows as up 0 there.
			if strings.HasPrefix(s.path, "/metrics") {
				r.Problems = appendOnce(r.Problems, fmt.Sprintf("/metrics answered %d", s.status))
			}
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		r.P50 = lat[len(lat)/2].String()
		r.P99 = lat[len(lat)*99/100].String()
	}
	if start.RSSBytes > 0 && float64(end.RSSBytes) > 1.10*float64(start.RSSBytes) {
		r.Problems = append(r.Problems, fmt.Sprintf("RSS grew more than 10%%: %d -> %d", start.RSSBytes, end.RSSBytes))
	}
	if end.OpenFDs > start.OpenFDs {
		r.Problems = append(r.Problems, fmt.Sprintf("open fds grew: %d -> %d", start.OpenFDs, end.OpenFDs))
	}
	if end.Zombies > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d zombie children of corral", end.Zombies))
	}
	if end.Goroutines > start.Goroutines+2 {
		r.Problems = append(r.Problems, fmt.Sprintf("goroutines did not return to idle: %.0f -> %.0f", start.Goroutines, end.Goroutines))
	}
	return r
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// read takes corral's state from /proc and from its own merged metrics.
func read(c *http.Client, o options) (Reading, error) {
	var r Reading
	resp, err := c.Get(o.base + "/metrics")
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("/metrics answered %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "go_goroutines{") && strings.Contains(line, `="corral"`):
			r.Goroutines = value(line)
		case strings.HasPrefix(line, "corral_script_runs_total{"):
			r.ScriptRuns += value(line)
		case strings.HasPrefix(line, "corral_process_restarts_total{"):
			r.Restarts += value(line)
		}
	}
	if o.pid > 0 {
		r.RSSBytes = rss(o.pid)
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", o.pid))
		r.OpenFDs = len(fds)
		for _, ch := range children(o.pid) {
			if ch.state == "Z" {
				r.Zombies++
			}
		}
	}
	return r, sc.Err()
}

func value(line string) float64 {
	i := strings.LastIndexByte(line, ' ')
	v, _ := strconv.ParseFloat(line[i+1:], 64)
	return v
}

func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

type proc struct {
	pid         int
	comm, state string
}

// children lists the processes whose parent is pid.
func children(pid int) []proc {
	var out []proc
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		p, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		out = append(out, proc{pid: p, comm: s[open+1 : close], state: f[0]})
	}
	return out
}

func killOne(pid int, comm *regexp.Regexp) bool {
	var pick []proc
	for _, ch := range children(pid) {
		if ch.state != "Z" && comm.MatchString(ch.comm) {
			pick = append(pick, ch)
		}
	}
	if len(pick) == 0 {
		return false
	}
	return syscall.Kill(pick[rand.IntN(len(pick))].pid, syscall.SIGKILL) == nil
}
