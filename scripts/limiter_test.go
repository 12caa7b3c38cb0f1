package scripts

import (
	"context"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

func TestLimiter(t *testing.T) {
	for _, tc := range []struct {
		n    int
		ops  string // a: TryAcquire, r: Release
		want string // t/f per TryAcquire
	}{
		{1, "aar a", "tf t"},
		{2, "aaar a", "ttf t"},
		{0, "aaaa", "tttt"},
		{-1, "aa", "tt"},
	} {
		l := NewLimiter(tc.n)
		var have []byte
		for _, op := range tc.ops {
			switch op {
			case 'a':
				if l.TryAcquire() {
					have = append(have, 't')
				} else {
					have = append(have, 'f')
				}
			case 'r':
				l.Release()
			case ' ':
				have = append(have, ' ')
			}
		}
		if string(have) != tc.want {
			t.Errorf("NewLimiter(%d) %q: want %q, have %q", tc.n, tc.ops, tc.want, have)
		}
	}
	var nilLimiter *Limiter
	if !nilLimiter.TryAcquire() {
		t.Error("a nil limiter must not limit")
	}
	nilLimiter.Release()
}

// flood scrapes each script with n distinct values of "host" at once. The
// first slots of them (by the limits) start runs held at the gate; the
// rest, with a deadline of wait, must wait for a slot that never frees up
// and fail once their deadline passed, not before. Then the gate opens. It
// returns how many were served and how many refused, the peak of runs at
// once across the scripts, and the quickest refusal.
func flood(t *testing.T, gate string, n, slots int, wait time.Duration, scripts ...fixture) (ok, busy int, peak int64, quickest time.Duration) {
	t.Helper()
	var okN, busyN, other atomic.Int64
	var mu sync.Mutex
	quickest = time.Hour
	var wg sync.WaitGroup
	running := func() (r int64) {
		for _, f := range scripts {
			r += f.running.Load()
		}
		return r
	}
	i := 0
	for _, f := range scripts {
		for range n {
			host, first := strconv.Itoa(i), i < slots
			wg.Go(func() {
				start := time.Now()
				ctx := context.Background()
				if !first {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, wait)
					defer cancel()
				}
				_, err := scrape(ctx, f.Script, url.Values{"host": {host}})
				took := time.Since(start)
				switch {
				case err == nil:
					okN.Add(1)
				case source.ReasonOf(err) == source.ReasonBusy || source.ReasonOf(err) == source.ReasonTimeout:
					busyN.Add(1)
					mu.Lock()
					quickest = min(quickest, took)
					mu.Unlock()
				default:
					other.Add(1)
					t.Errorf("scrape: %v", err)
				}
			})
			if i++; i == slots {
				// The runs that get a slot first, then the rest.
				waitFor(t, "the first runs", func() bool { return running() == int64(slots) })
			}
		}
	}
	waitFor(t, "every refusal", func() bool {
		return busyN.Load()+running()+other.Load() == int64(n*len(scripts))
	})
	for _, f := range scripts {
		peak += f.peak.Load()
	}
	touch(t, gate)
	wg.Wait()
	return int(okN.Load()), int(busyN.Load()), peak, quickest
}

func TestDistinctParamFlood(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	f := newScript(t, "flood", Config{
		Command:       []string{testdata(t, "counter.sh")},
		Timeout:       duration.Of(time.Minute),
		Params:        []string{"host"},
		MaxConcurrent: 2,
		Env:           map[string]string{"COUNTER": filepath.Join(dir, "counter"), "GATE": gate},
	}, Deps{Limiter: NewLimiter(50)})

	const n, wait = 500, time.Second
	ok, busy, peak, quickest := flood(t, gate, n, 2, wait, f)
	t.Logf("%d distinct scrapes: %d served, %d refused (quickest refusal %s), peak %d runs at once", n, ok, busy, quickest, peak)
	for _, c := range []struct {
		what       string
		want, have int
	}{
		{"served", 2, ok},
		{"refused", n - 2, busy},
		{"peak runs at once", 2, int(peak)},
		{"runs started", 2, lines(t, filepath.Join(dir, "counter"))},
	} {
		if c.want != c.have {
			t.Errorf("%s: want %d, have %d", c.what, c.want, c.have)
		}
	}
	if quickest < wait-50*time.Millisecond {
		t.Errorf("a scrape waiting for a slot: want refused at its deadline (%s), have after %s", wait, quickest)
	}
	waitNoChildren(t)
}

func TestGlobalLimit(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	deps := Deps{Reaper: startReaper(t), Limiter: NewLimiter(3)}
	var fs []fixture
	for _, name := range []string{"a", "b"} {
		fs = append(fs, newScript(t, name, Config{
			Command:       []string{testdata(t, "counter.sh")},
			Timeout:       duration.Of(time.Minute),
			Params:        []string{"host"},
			MaxConcurrent: 5,
			Env:           map[string]string{"COUNTER": filepath.Join(dir, "counter"), "GATE": gate},
		}, deps))
	}
	const n = 20
	ok, busy, peak, _ := flood(t, gate, n, 3, time.Second, fs...)
	for _, c := range []struct {
		what       string
		want, have int
	}{
		{"served", 3, ok},
		{"refused", 2*n - 3, busy},
		{"sum of peaks", 3, int(peak)},
		{"runs started", 3, lines(t, filepath.Join(dir, "counter"))},
	} {
		if c.want != c.have {
			t.Errorf("%s: want %d, have %d", c.what, c.want, c.have)
		}
	}
}

// TestDistinctParamsTakeTurns: with max_concurrent = 1, a merged scrape (no
// params) and a /proxy scrape with params at once are two runs, one after
// the other, and both answer (it used to be 503 at once for the second).
func TestDistinctParamsTakeTurns(t *testing.T) {
	dir := t.TempDir()
	f := newScript(t, "turns", Config{
		Command: []string{testdata(t, "counter.sh")},
		Timeout: duration.Of(10 * time.Second),
		Params:  []string{"host"},
		Env:     map[string]string{"COUNTER": filepath.Join(dir, "counter"), "SLEEP": "0.3"},
	}, Deps{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	for _, p := range []url.Values{nil, {"host": {"a"}}} {
		go func() {
			_, err := scrape(ctx, f.Script, p)
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("two runs with max_concurrent = 1: want both served, have %v", err)
		}
	}
	if have := lines(t, filepath.Join(dir, "counter")); have != 2 {
		t.Errorf("runs: want 2, have %d", have)
	}
	if have := f.peak.Load(); have != 1 {
		t.Errorf("peak runs at once: want 1, have %d", have)
	}
}
