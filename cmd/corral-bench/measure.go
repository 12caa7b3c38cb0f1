package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A benchCase is one row of the table: the same bytes fetched by each
// contender.
type benchCase struct {
	name       string
	target     float64 // of a corral's p50 over direct; 0: none
	contenders []contender
}

// A contender fetches a case's bytes one way.
type contender struct {
	name  string
	urls  []string // fetched one after the other; direct: the p50s are summed
	pid   int      // a corral's or the floor's, for its CPU time
	walls [][]time.Duration
	cpu   time.Duration
	bytes int64
	fails int
}

// client scrapes as Prometheus does, without compression.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}

// measure runs warm rounds, then n measured ones; within a round the cases
// and their contenders take turns, each round starting with another.
func measure(cases []*benchCase, n, warm int) error {
	for _, c := range cases {
		for i := range c.contenders {
			c.contenders[i].walls = make([][]time.Duration, len(c.contenders[i].urls))
		}
	}
	for round := range warm + n {
		for _, c := range cases {
			k := len(c.contenders)
			for j := range k {
				ct := &c.contenders[(round+j)%k]
				for u, url := range ct.urls {
					cpu0 := cpuTime(ct.pid)
					d, size, err := scrape(url)
					cpu1 := cpuTime(ct.pid)
					if round < warm {
						continue
					}
					if err != nil {
						ct.fails++
						continue
					}
					ct.walls[u] = append(ct.walls[u], d)
					ct.cpu += cpu1 - cpu0
					ct.bytes = size
				}
			}
		}
	}
	return nil
}

func scrape(url string) (time.Duration, int64, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	return d, n, err
}

// cpuTime is the CPU time pid's threads have run, from their schedstat
// (nanoseconds); 0 for pid 0.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(ns)
		}
	}
	return sum
}

func numCPU() int { return runtime.NumCPU() }

func p50(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// p50 of a contender: the sum of its URLs' p50s.
func (ct *contender) p50() time.Duration {
	var sum time.Duration
	for _, w := range ct.walls {
		sum += p50(w)
	}
	return sum
}

func ms(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	}
	return fmt.Sprintf("%.2f ms", float64(d)/1e6)
}

// report prints the table: per case the direct p50, the floor's and each
// corral's p50 with its ratio to direct, and each corral's CPU per scrape.
func report(w io.Writer, cases []*benchCase, sizes map[string]string, before, after string, n int, took time.Duration) {
	fmt.Fprintf(w, "corral-bench, %d interleaved rounds in %s\nstart: %s\nend:   %s\n\n", n, took.Round(time.Second), before, after)
	if len(cases) == 0 {
		return
	}
	head := []string{"case", "bytes", "direct p50"}
	for _, ct := range cases[0].contenders[1:] {
		head = append(head, ct.name+" p50 (ratio)")
	}
	for _, ct := range cases[0].contenders[1:] {
		head = append(head, ct.name+" CPU/scrape")
	}
	head = append(head, "target")
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, c := range cases {
		direct := c.contenders[0]
		d := direct.p50()
		var size int64
		for _, u := range direct.urls {
			s, _ := strconv.ParseInt(sizes[u], 10, 64)
			size += s
		}
		row := []string{c.name, fmt.Sprintf("%.0f KB", float64(size)/1e3), ms(d)}
		for _, ct := range c.contenders[1:] {
			cell := fmt.Sprintf("%s (%.2fx)", ms(ct.p50()), float64(ct.p50())/float64(d))
			if ct.fails > 0 {
				cell += fmt.Sprintf(" %d failed", ct.fails)
			}
			row = append(row, cell)
		}
		for _, ct := range c.contenders[1:] {
			row = append(row, ms(ct.cpu/time.Duration(max(len(ct.walls[0]), 1))))
		}
		tgt := ""
		if c.target > 0 {
			tgt = fmt.Sprintf("≤ %.1fx", c.target)
		}
		row = append(row, tgt)
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
}
