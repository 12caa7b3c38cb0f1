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

// flood scrapes each script with n distinct values of "host" at once, all
// held at the gate until every refused scrape has returned. It returns how
// many were served and how many refused, the peak of runs at once across
// the scripts, and the slowest refusal.
func flood(t *testing.T, gate string, n int, scripts ...fixture) (ok, busy int, peak int64, slowest time.Duration) {
	t.Helper()
	var okN, busyN, other atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, f := range scripts {
		for i := range n {
			wg.Go(func() {
				start := time.Now()
				_, err := scrape(context.Background(), f.Script, url.Values{"host": {strconv.Itoa(i)}})
				took := time.Since(start)
				switch {
				case err == nil:
					okN.Add(1)
				case source.ReasonOf(err) == source.ReasonBusy && source.StatusOf(err) == 503:
					busyN.Add(1)
					mu.Lock()
					slowest = max(slowest, took)
					mu.Unlock()
				default:
					other.Add(1)
					t.Errorf("scrape: %v", err)
				}
			})
		}
	}
	// Runs that got a slot hold it until the gate opens; every other scrape
	// must already have been refused, without waiting for them.
	var running int64
	waitFor(t, "every refusal", func() bool {
		running = 0
		for _, f := range scripts {
			running += f.running.Load()
		}
		return busyN.Load()+running+other.Load() == int64(n*len(scripts))
	})
	for _, f := range scripts {
		peak += f.peak.Load()
	}
	touch(t, gate)
	wg.Wait()
	return int(okN.Load()), int(busyN.Load()), peak, slowest
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

	const n = 500
	ok, busy, peak, slowest := flood(t, gate, n, f)
	t.Logf("%d distinct scrapes: %d served, %d refused (slowest refusal %s), peak %d runs at once", n, ok, busy, slowest, peak)
	for _, c := range []struct {
		what       string
		want, have int
	}{
		{"served", 2, ok},
		{"refused", n - 2, busy},
		{"peak runs at once", 2, int(peak)},
		{"runs started", 2, lines(t, filepath.Join(dir, "counter"))},
		{"corral_script_busy_total", n - 2, f.counter(f.metrics.busy)},
	} {
		if c.want != c.have {
			t.Errorf("%s: want %d, have %d", c.what, c.want, c.have)
		}
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
	ok, busy, peak, _ := flood(t, gate, n, fs...)
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
