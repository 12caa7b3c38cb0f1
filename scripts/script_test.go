package scripts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
	"github.com/corral-metrics/corral/source"
	"github.com/corral-metrics/corral/supervisor/proc"
)

// startReaper runs a real reaper for one test. Tests in this package do not
// run in parallel: a reaper waits for every child of the test process.
func startReaper(t testing.TB) *proc.Reaper {
	t.Helper()
	r := proc.NewReaper(slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { r.Run(); close(done) }()
	t.Cleanup(func() { r.Stop(); <-done })
	return r
}

// fixture is a script under test with everything it shares.
type fixture struct {
	*Script
	metrics *Metrics
	logs    *testkit.Buffer
}

func newScript(t testing.TB, name string, cfg Config, deps Deps) fixture {
	t.Helper()
	if deps.Reaper == nil {
		deps.Reaper = startReaper(t)
	}
	logs := &testkit.Buffer{}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return fixture{Script: New(name, cfg, deps), metrics: deps.Metrics, logs: logs}
}

func (f fixture) runs(result string) int {
	return int(testutil.ToFloat64(f.metrics.runs.WithLabelValues(f.name, result)))
}

func (f fixture) counter(c *prometheus.CounterVec) int {
	return int(testutil.ToFloat64(c.WithLabelValues(f.name)))
}

// testdata is the absolute path of a fixture script.
func testdata(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// scrape scrapes once and reads the whole body.
func scrape(ctx context.Context, s *Script, params url.Values) (string, error) {
	resp, err := s.Scrape(ctx, source.Request{Params: params})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.ContentType != ContentType {
		return "", fmt.Errorf("content type %q", resp.ContentType)
	}
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// waitFor polls cond until it holds, failing the test after a generous bound.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func lines(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func touch(t testing.TB, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readPid waits for a script to write its pid to path.
func readPid(t testing.TB, path string) int {
	t.Helper()
	var pid int
	waitFor(t, "pid file "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

// waitGone waits until pid no longer exists: killed and reaped.
func waitGone(t testing.TB, pid int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("pid %d to be gone", pid), func() bool {
		return errors.Is(unix.Kill(pid, 0), unix.ESRCH)
	})
}

// waitNoChildren waits until the test process has no child left, so no
// script or grandchild of one survived.
func waitNoChildren(t testing.TB) {
	t.Helper()
	var left []string
	waitFor(t, "no child processes", func() bool {
		left = children()
		return len(left) == 0
	})
}

func children() []string {
	self := strconv.Itoa(os.Getpid())
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var found []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces: split after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == self {
			found = append(found, s[:i+1])
		}
	}
	return found
}

func TestCoalescing(t *testing.T) {
	dir := t.TempDir()
	counter, gate := filepath.Join(dir, "counter"), filepath.Join(dir, "gate")
	f := newScript(t, "coalesce", Config{
		Command: []string{testdata(t, "counter.sh")},
		Timeout: duration.Of(time.Minute),
		Env:     map[string]string{"COUNTER": counter, "GATE": gate},
	}, Deps{})

	const n = 100
	bodies := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { bodies[i], errs[i] = scrape(context.Background(), f.Script, nil) })
	}
	// Every scrape is registered with the one run before it may finish.
	waitFor(t, "100 scrapes waiting", func() bool { return f.waiting.Load() == n })
	waitFor(t, "the run to start", func() bool { return lines(t, counter) == 1 })
	touch(t, gate)
	wg.Wait()

	want := "# HELP script_runs Runs of this script so far.\n# TYPE script_runs gauge\nscript_runs 1\n"
	for i := range n {
		if errs[i] != nil || bodies[i] != want {
			t.Fatalf("scrape %d: want %q, have %q (err %v)", i, want, bodies[i], errs[i])
		}
	}
	for _, c := range []struct {
		what       string
		want, have int
	}{
		{"runs started", 1, lines(t, counter)},
		{"runs ok", 1, f.runs(resultOK)},
		{"coalesced", n - 1, f.counter(f.metrics.coalesced)},
	} {
		if c.want != c.have {
			t.Errorf("%s: want %d, have %d", c.what, c.want, c.have)
		}
	}

	// A scrape after the run finished starts a new one.
	body, err := scrape(context.Background(), f.Script, nil)
	if want := "script_runs 2\n"; err != nil || !strings.HasSuffix(body, want) {
		t.Errorf("next scrape: want %q, have %q (err %v)", want, body, err)
	}
}

func TestWaiterGivingUpDoesNotCancelRun(t *testing.T) {
	dir := t.TempDir()
	counter, gate := filepath.Join(dir, "counter"), filepath.Join(dir, "gate")
	f := newScript(t, "giveup", Config{
		Command: []string{testdata(t, "counter.sh")},
		Timeout: duration.Of(time.Minute),
		Env:     map[string]string{"COUNTER": counter, "GATE": gate},
	}, Deps{})

	first, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		body string
		err  error
	}
	firstDone, secondDone := make(chan result, 1), make(chan result, 1)
	go func() { b, err := scrape(first, f.Script, nil); firstDone <- result{b, err} }()
	waitFor(t, "the first scrape to start the run", func() bool { return lines(t, counter) == 1 })
	go func() { b, err := scrape(context.Background(), f.Script, nil); secondDone <- result{b, err} }()
	waitFor(t, "two scrapes waiting", func() bool { return f.waiting.Load() == 2 })

	cancel() // the client that started the run goes away
	r := <-firstDone
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("first scrape: want context.Canceled, have %v", r.err)
	}
	touch(t, gate)
	r = <-secondDone
	if want := "script_runs 1\n"; r.err != nil || !strings.HasSuffix(r.body, want) {
		t.Errorf("second scrape: want %q, have %q (err %v)", want, r.body, r.err)
	}
	if have := f.runs(resultOK); have != 1 {
		t.Errorf("runs ok: want 1, have %d", have)
	}
}

// clock is a settable time for cache ages.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestCache(t *testing.T) {
	dir := t.TempDir()
	counter, fail := filepath.Join(dir, "counter"), filepath.Join(dir, "fail")
	clk := newClock()
	f := newScript(t, "cache", Config{
		Command: []string{testdata(t, "counter.sh")},
		Timeout: duration.Of(time.Minute),
		Cache:   duration.Of(30 * time.Second),
		Env:     map[string]string{"COUNTER": counter, "FAIL": fail},
	}, Deps{Now: clk.now})

	for i, step := range []struct {
		advance time.Duration
		failing bool
		want    string // suffix of the body, or the error
		runs    int    // runs started so far
		hits    int    // cache hits so far
	}{
		{0, false, "script_runs 1\n", 1, 0},
		{10 * time.Second, false, "script_runs 1\n", 1, 1},
		{19 * time.Second, false, "script_runs 1\n", 1, 2},
		{time.Second, false, "script_runs 2\n", 2, 2}, // 30 s old: expired
		{29 * time.Second, true, "script_runs 2\n", 2, 3},
		{time.Second, true, `script "cache": exit status 1`, 3, 3},
		{0, true, `script "cache": exit status 1`, 4, 3}, // failures are not cached
		{0, false, "script_runs 5\n", 5, 3},
		{0, false, "script_runs 5\n", 5, 4},
	} {
		clk.advance(step.advance)
		if step.failing {
			touch(t, fail)
		} else {
			os.Remove(fail)
		}
		body, err := scrape(context.Background(), f.Script, nil)
		have := body
		if err != nil {
			have = err.Error()
		}
		if !strings.HasSuffix(have, step.want) {
			t.Errorf("step %d: want %q, have %q", i, step.want, have)
		}
		if have := lines(t, counter); have != step.runs {
			t.Errorf("step %d: want %d runs, have %d", i, step.runs, have)
		}
		if have := f.counter(f.metrics.cacheHits); have != step.hits {
			t.Errorf("step %d: want %d cache hits, have %d", i, step.hits, have)
		}
	}
}

func TestStaleOnError(t *testing.T) {
	dir := t.TempDir()
	counter, fail := filepath.Join(dir, "counter"), filepath.Join(dir, "fail")
	f := newScript(t, "stale", Config{
		Command:      []string{testdata(t, "counter.sh")},
		Timeout:      duration.Of(time.Minute),
		StaleOnError: true,
		Params:       []string{"host"},
		Env:          map[string]string{"COUNTER": counter, "FAIL": fail},
	}, Deps{})
	cached := func() int { return int(testutil.ToFloat64(f.metrics.cached.WithLabelValues("stale"))) }

	for i, step := range []struct {
		failing bool
		host    string
		want    string // suffix of the body, or the error
		cached  int
	}{
		{false, "a", "script_runs 1\n", 0},
		{true, "a", "script_runs 1\n", 1},               // stale, marked
		{true, "b", `script "stale": exit status 1`, 1}, // nothing good yet for b
		{false, "a", "script_runs 4\n", 0},              // good again
	} {
		if step.failing {
			touch(t, fail)
		} else {
			os.Remove(fail)
		}
		body, err := scrape(context.Background(), f.Script, url.Values{"host": {step.host}})
		have := body
		if err != nil {
			have = err.Error()
		}
		if !strings.HasSuffix(have, step.want) {
			t.Errorf("step %d: want %q, have %q", i, step.want, have)
		}
		if have := cached(); have != step.cached {
			t.Errorf("step %d: want corral_script_cached %d, have %d", i, step.cached, have)
		}
	}
	if have := f.runs(resultError); have != 2 {
		t.Errorf("failed runs: want 2, have %d", have)
	}
}

func TestCacheIsBounded(t *testing.T) {
	dir := t.TempDir()
	f := newScript(t, "bounded", Config{
		Command: []string{testdata(t, "counter.sh")},
		Cache:   duration.Of(time.Hour),
		Params:  []string{"host"},
		Env:     map[string]string{"COUNTER": filepath.Join(dir, "counter")},
	}, Deps{})
	for i := range maxCacheEntries + 10 {
		if _, err := scrape(context.Background(), f.Script, url.Values{"host": {strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	have := len(f.cache)
	_, oldest := f.cache["host\x000\n"]
	f.mu.Unlock()
	if have != maxCacheEntries || oldest {
		t.Errorf("want %d entries without the oldest, have %d (oldest kept: %v)", maxCacheEntries, have, oldest)
	}
}

// TestTargetHidesArguments: the landing page and corral check show the
// program, never its arguments, which may hold a secret.
func TestTargetHidesArguments(t *testing.T) {
	s := New("probe", Config{Command: []string{"/usr/local/bin/probe", "--password=hunter2"}}, Deps{})
	if have := s.Target(); have != "/usr/local/bin/probe" {
		t.Errorf("Target: want %q, have %q", "/usr/local/bin/probe", have)
	}
	key, ok := s.CoalesceKey(source.Request{Params: url.Values{"host": {"a"}}})
	if !ok || key != "" {
		t.Errorf("CoalesceKey with a param not on the list: want \"\" true, have %q %v", key, ok)
	}
}
