package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Reading is corral's state at one moment.
type Reading struct {
	RSSBytes   int64              `json:"rss_bytes"`
	Goroutines float64            `json:"goroutines"`
	OpenFDs    int                `json:"open_fds"` // without pidfds
	PidFDs     int                `json:"pidfds"`
	Children   int                `json:"children"` // live (not zombie) children
	Zombies    int                `json:"zombies"`
	ScriptRuns float64            `json:"script_runs"`
	Coalesced  float64            `json:"script_coalesced"`
	CacheHits  float64            `json:"script_cache_hits"`
	Restarts   float64            `json:"restarts"`
	SourceUp   map[string]float64 `json:"source_up"`
	ProcessUp  map[string]float64 `json:"process_up"`
}

// idleAs tells whether r is back to the idle reading: goroutines within 2
// of it (a reading's own scrape varies a little), no more open files, and no
// zombie.
func (r Reading) idleAs(idle Reading) bool {
	return r.Goroutines <= idle.Goroutines+2 && r.OpenFDs <= idle.OpenFDs && r.Zombies == 0
}

// peakRSS is the most RSS of process pid seen every 100 ms until ctx ends
// (0 without a pid).
func peakRSS(ctx context.Context, pid int) int64 {
	if pid <= 0 {
		return 0
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	peak := rss(pid)
	for {
		select {
		case <-ctx.Done():
			return peak
		case <-tick.C:
			peak = max(peak, rss(pid))
		}
	}
}

// read takes corral's state from its merged /metrics and from /proc.
func read(c *http.Client, o options) (Reading, error) {
	r, err := readMetrics(c, o)
	if err != nil {
		return r, err
	}
	if o.pid > 0 {
		r.RSSBytes = rss(o.pid)
		dir := fmt.Sprintf("/proc/%d/fd", o.pid)
		fds, err := os.ReadDir(dir)
		if err != nil {
			return r, fmt.Errorf("corral (pid %d): %w", o.pid, err)
		}
		for _, fd := range fds {
			// A process handle (pidfd) of a reaped child is closed by the Go
			// runtime once the handle is garbage: counted apart, since when
			// that happens depends on the next GC, not on a leak.
			if target, _ := os.Readlink(filepath.Join(dir, fd.Name())); target == "anon_inode:[pidfd]" {
				r.PidFDs++
			} else {
				r.OpenFDs++
			}
		}
		for _, ch := range children(o.pid) {
			if ch.state == "Z" {
				r.Zombies++
			} else {
				r.Children++
			}
		}
	}
	return r, nil
}

// readMetrics reads corral's own figures from /metrics. corral's own series
// carry the merge label with the self source's name (go_goroutines of the
// node exporter is another series of the same family).
func readMetrics(c *http.Client, o options) (Reading, error) {
	r := Reading{SourceUp: map[string]float64{}, ProcessUp: map[string]float64{}}
	resp, err := c.Get(o.base + "/metrics")
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("/metrics answered %s", resp.Status)
	}
	self := o.label + `="` + o.self + `"`
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, labels, v, ok := parseSample(line)
		if !ok {
			continue
		}
		switch name {
		case "go_goroutines":
			if strings.Contains(labels, self) {
				r.Goroutines = v
			}
		case "corral_script_runs_total":
			r.ScriptRuns += v
		case "corral_script_coalesced_total":
			r.Coalesced += v
		case "corral_script_cache_hits_total":
			r.CacheHits += v
		case "corral_process_restarts_total":
			r.Restarts += v
		case "corral_source_up":
			r.SourceUp[labelValue(labels, o.label)] = v
		case "corral_process_up":
			r.ProcessUp[labelValue(labels, "process")] = v
		}
	}
	return r, sc.Err()
}

// parseSample splits a text-format sample line; comments are not samples.
func parseSample(line string) (name, labels string, v float64, ok bool) {
	if line == "" || line[0] == '#' {
		return "", "", 0, false
	}
	end := strings.IndexAny(line, "{ ")
	if end < 0 {
		return "", "", 0, false
	}
	name = line[:end]
	rest := line[end:]
	if rest[0] == '{' {
		close := strings.LastIndexByte(rest, '}')
		if close < 0 {
			return "", "", 0, false
		}
		labels, rest = rest[1:close], rest[close+1:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return name, labels, v, err == nil
}

// labelValue finds name="value" in a label list (values here hold no quotes).
func labelValue(labels, name string) string {
	for kv := range strings.SplitSeq(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// landing is what corral's landing page says, as JSON.
type landing struct {
	Processes []landingProcess `json:"processes"`
	Sources   []struct {
		Name    string `json:"name"`
		Process string `json:"process"`
	} `json:"sources"`
}

type landingProcess struct {
	Name    string    `json:"name"`
	State   string    `json:"state"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

func readLanding(c *http.Client, base string) (landing, error) {
	var l landing
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return l, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return l, fmt.Errorf("/ answered %s", resp.Status)
	}
	return l, json.NewDecoder(resp.Body).Decode(&l)
}

func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
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
