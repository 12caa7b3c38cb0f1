package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is what one load run saw.
type Report struct {
	Duration    string                    `json:"duration"`
	Concurrency int                       `json:"concurrency"`
	Requests    int                       `json:"requests"`
	PerSecond   float64                   `json:"requests_per_second"`
	ByStatus    map[string]int            `json:"by_status"`
	ByPath      map[string]map[string]int `json:"by_path"` // path: status: count
	P50         string                    `json:"p50"`
	P99         string                    `json:"p99"`
	Max         string                    `json:"max"`
	// Idle is before any load, Warm after the warm-up (its RSS, the
	// baseline, is the warm-up's peak),
	// Loaded right after the load, End once settled back to idle (or not).
	Idle   Reading `json:"idle"`
	Warm   Reading `json:"warm"`
	Loaded Reading `json:"loaded"`
	End    Reading `json:"end"`
	// PeakRSSBytes is the most RSS seen during the load (after the warm-up).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// Stalled are the connections held open, never reading (-stall).
	Stalled int `json:"stalled"`
	// SilentOpened counts the -silent connections opened (reopened when
	// corral closed them); PeakFDs is the most file descriptors corral held
	// during the load while they ran (with -pid).
	SilentOpened int64 `json:"silent_opened"`
	PeakFDs      int   `json:"peak_fds"`
	// ScriptScrapes are the /proxy scrapes of script sources; merged scrapes
	// run every merged script too.
	ScriptScrapes int      `json:"script_scrapes"`
	MergedScrapes int      `json:"merged_scrapes"`
	Kills         []*Kill  `json:"kills"`
	Problems      []string `json:"problems"`
}

// maxPendingPidFDs is how many process handles of reaped children may wait
// for the garbage collector at the end of a run.
const maxPendingPidFDs = 64

func (r *Report) ok() bool { return len(r.Problems) == 0 }

func report(o options, all []sample, took time.Duration, kills []*Kill, idle, warm, loaded, end Reading) *Report {
	r := &Report{
		Duration: took.Round(time.Second).String(), Concurrency: o.conc, Requests: len(all),
		PerSecond: float64(len(all)) / took.Seconds(),
		ByStatus:  map[string]int{}, ByPath: map[string]map[string]int{},
		Idle: idle, Warm: warm, Loaded: loaded, End: end, Kills: kills,
	}
	scripts := map[string]bool{}
	for _, s := range o.scripts {
		scripts[s] = true
	}
	lat := make([]time.Duration, 0, len(all))
	for _, s := range all {
		st := strconv.Itoa(s.status)
		r.ByStatus[st]++
		if r.ByPath[s.path] == nil {
			r.ByPath[s.path] = map[string]int{}
		}
		r.ByPath[s.path][st]++
		lat = append(lat, s.latency)
		if strings.HasPrefix(s.path, "/metrics") {
			r.MergedScrapes++
		} else if scripts[module(s.path)] {
			r.ScriptScrapes++
		}
		if s.status == http.StatusOK {
			continue
		}
		switch {
		case strings.HasPrefix(s.path, "/metrics"):
			// /metrics must never fail: a dead child shows as up 0 there.
			r.problem("/metrics answered %s", statusText(s.status))
		case len(kills) > 0 && (s.status == http.StatusBadGateway || s.status == http.StatusGatewayTimeout):
			// A killed child's /proxy fails until it is back: on purpose.
		default:
			r.problem("%s answered %s", s.path, statusText(s.status))
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		r.P50 = lat[len(lat)/2].String()
		r.P99 = lat[len(lat)*99/100].String()
		r.Max = lat[len(lat)-1].String()
	}
	if warm.RSSBytes > 0 && float64(end.RSSBytes) > (1+o.maxRSSGrowth)*float64(warm.RSSBytes) {
		r.problem("RSS grew more than %.0f%% after the warm-up: %s -> %s", 100*o.maxRSSGrowth, mib(warm.RSSBytes), mib(end.RSSBytes))
	}
	if end.OpenFDs > idle.OpenFDs {
		r.problem("open fds not back to idle: %d -> %d", idle.OpenFDs, end.OpenFDs)
	}
	// Handles of reaped children wait for a GC; more than a GC's worth of
	// them means handles are kept for good.
	if end.PidFDs > end.Children+maxPendingPidFDs {
		r.problem("pidfds not released: %d for %d live children", end.PidFDs, end.Children)
	}
	if end.Zombies > 0 {
		r.problem("%d zombie children of corral", end.Zombies)
	}
	if end.Goroutines > idle.Goroutines+2 {
		r.problem("goroutines not back to idle: %.0f -> %.0f", idle.Goroutines, end.Goroutines)
	}
	for _, k := range kills {
		switch {
		case k.Process == "":
			r.problem("killed pid %d (%s): not a process the landing page knows", k.PID, k.Comm)
		case k.RestartedAfter == "":
			r.problem("killed %s (pid %d): not running again within %s", k.Process, k.PID, o.restartWithin)
		}
		if k.GapFailed > 0 {
			r.problem("killed %s: %d /metrics scrapes failed while it was down", k.Process, k.GapFailed)
		}
	}
	return r
}

func module(path string) string {
	_, q, _ := strings.Cut(path, "?")
	for kv := range strings.SplitSeq(q, "&") {
		if v, ok := strings.CutPrefix(kv, "module="); ok {
			return v
		}
	}
	return ""
}

func (r *Report) problem(format string, args ...any) {
	p := fmt.Sprintf(format, args...)
	if !slices.Contains(r.Problems, p) {
		r.Problems = append(r.Problems, p)
	}
}

func statusText(s int) string {
	if s == 0 {
		return "no answer (transport error)"
	}
	return strconv.Itoa(s)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "load: %s at %d scrapers: %d requests (%.0f/s), p50 %s p99 %s max %s\n",
		r.Duration, r.Concurrency, r.Requests, r.PerSecond, r.P50, r.P99, r.Max)
	fmt.Fprintf(w, "by status: %s\n", counts(r.ByStatus))
	for _, p := range slices.Sorted(maps.Keys(r.ByPath)) {
		fmt.Fprintf(w, "  %-40s %s\n", p, counts(r.ByPath[p]))
	}
	fmt.Fprintf(w, "RSS %s idle, %s at most in the warm-up, %s at most under load, %s after load, %s at end (%+.1f%% from warm)\n",
		mib(r.Idle.RSSBytes), mib(r.Warm.RSSBytes), mib(r.PeakRSSBytes), mib(r.Loaded.RSSBytes), mib(r.End.RSSBytes),
		100*(float64(r.End.RSSBytes)/max(1, float64(r.Warm.RSSBytes))-1))
	if r.SilentOpened > 0 {
		fmt.Fprintf(w, "silent connections opened: %d; corral's peak open files: %d\n", r.SilentOpened, r.PeakFDs)
	}
	if r.Stalled > 0 {
		fmt.Fprintf(w, "connections held open never reading: %d\n", r.Stalled)
	}
	fmt.Fprintf(w, "goroutines %.0f idle -> %.0f after load -> %.0f at end; open fds %d -> %d -> %d (+ pidfds %d -> %d -> %d for %d live children); zombies at end %d\n",
		r.Idle.Goroutines, r.Loaded.Goroutines, r.End.Goroutines, r.Idle.OpenFDs, r.Loaded.OpenFDs, r.End.OpenFDs,
		r.Idle.PidFDs, r.Loaded.PidFDs, r.End.PidFDs, r.End.Children, r.End.Zombies)
	fmt.Fprintf(w, "script runs %.0f (coalesced %.0f, cache hits %.0f) for %d script scrapes on /proxy and %d merged scrapes\n",
		r.End.ScriptRuns-r.Warm.ScriptRuns, r.End.Coalesced-r.Warm.Coalesced, r.End.CacheHits-r.Warm.CacheHits, r.ScriptScrapes, r.MergedScrapes)
	fmt.Fprintf(w, "children killed: %d, restarts seen: %.0f\n", len(r.Kills), r.End.Restarts-r.Warm.Restarts)
	var back, started []time.Duration
	gap, up0 := 0, 0
	for _, k := range r.Kills {
		if k.RestartedAfter != "" {
			back = append(back, k.restarted)
		}
		if k.StartedAfter != "" {
			started = append(started, k.started)
		}
		if k.GapScrapes > 0 {
			gap++
		}
		if k.GapUp0 > 0 {
			up0++
		}
	}
	if len(back) > 0 {
		slices.Sort(back)
		fmt.Fprintf(w, "  back running after: median %s, max %s (%d of %d kills)\n",
			back[len(back)/2].Round(time.Millisecond), back[len(back)-1].Round(time.Millisecond), len(back), len(r.Kills))
	}
	if len(started) > 0 {
		slices.Sort(started)
		fmt.Fprintf(w, "  started again after (corral's start time): median %s, max %s\n",
			started[len(started)/2].Round(time.Millisecond), started[len(started)-1].Round(time.Millisecond))
	}
	if gap > 0 {
		fmt.Fprintf(w, "  kills of a process with a source scraped during the gap: %d, of which /metrics showed up 0: %d\n", gap, up0)
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "PROBLEM:", p)
	}
	if r.ok() {
		fmt.Fprintln(w, "OK")
	}
}

func counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
