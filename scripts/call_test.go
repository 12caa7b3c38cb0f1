package scripts

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

type result struct {
	body string
	err  error
}

// scrapeIn scrapes in the background with a deadline d from now.
func scrapeIn(f fixture, d time.Duration, params url.Values) <-chan result {
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		b, err := scrape(ctx, f.Script, params)
		done <- result{b, err}
	}()
	return done
}

// TestJoinerExtendsTheRun: a scrape with a short deadline starts a run; a
// scrape with a long deadline that joins it is not failed at the short
// deadline (a client sending a short X-Prometheus-Scrape-Timeout-Seconds
// cannot fail the others): the run goes on until the joiner's deadline,
// and still serves both scrapes in the reverse order.
func TestJoinerExtendsTheRun(t *testing.T) {
	for _, tc := range []struct {
		name                string
		first, second       time.Duration
		shortStatus, reason string // the short scrape's failure; "": none
	}{
		{"short first, long joins", 5 * time.Second, time.Minute, "504", source.ReasonTimeout},
		{"long first, short joins", time.Minute, 30 * time.Second, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			counter, gate := filepath.Join(dir, "counter"), filepath.Join(dir, "gate")
			f := newScript(t, "join", Config{
				Command: []string{testdata(t, "counter.sh")},
				Timeout: duration.Of(2 * time.Minute),
				Env:     map[string]string{"COUNTER": counter, "GATE": gate},
			}, Deps{})

			first := scrapeIn(f, tc.first, nil)
			waitFor(t, "the first scrape to start the run", func() bool { return lines(t, counter) == 1 })
			second := scrapeIn(f, tc.second, nil)
			waitFor(t, "two scrapes waiting", func() bool { return f.waiting.Load() == 2 })
			short, long := first, second
			if tc.first > tc.second {
				short, long = second, first
			}
			if tc.shortStatus != "" {
				r := <-short // its deadline passes while the script waits for the gate
				if have := source.StatusOf(r.err); r.err == nil || !strings.Contains(r.err.Error(), "scrape deadline passed") || have != 504 {
					t.Errorf("short scrape: want 504 scrape deadline passed, have %d %v", have, r.err)
				}
			}
			touch(t, gate)
			want := "script_runs 1\n"
			for _, c := range []struct {
				what string
				ch   <-chan result
			}{{"long scrape", long}, {"short scrape", short}} {
				if c.what == "short scrape" && tc.shortStatus != "" {
					continue
				}
				r := <-c.ch
				if r.err != nil || !strings.HasSuffix(r.body, want) {
					t.Errorf("%s: want %q, have %q (err %v)", c.what, want, r.body, r.err)
				}
			}
			for _, c := range []struct {
				what       string
				want, have int
			}{
				{"runs started", 1, lines(t, counter)},
				{"runs ok", 1, f.runs(resultOK)},
				{"runs timed out", 0, f.runs(resultTimeout)},
				{"coalesced", 1, f.counter(f.metrics.coalesced)},
			} {
				if c.want != c.have {
					t.Errorf("%s: want %d, have %d", c.what, c.want, c.have)
				}
			}
		})
	}
}

// TestJoinerExtendsTheWaitForASlot: a run queued behind max_concurrent
// by a scrape with a short deadline keeps its place for a scrape with a
// long deadline that joins it: the short scrape is refused as busy at its
// deadline, the long one gets the run once the slot frees.
func TestJoinerExtendsTheWaitForASlot(t *testing.T) {
	dir := t.TempDir()
	counter, gate := filepath.Join(dir, "counter"), filepath.Join(dir, "gate")
	f := newScript(t, "queued", Config{
		Command:       []string{testdata(t, "counter.sh")},
		Timeout:       duration.Of(2 * time.Minute),
		Params:        []string{"host"},
		MaxConcurrent: 1,
		Env:           map[string]string{"COUNTER": counter, "GATE": gate},
	}, Deps{})

	holder := scrapeIn(f, time.Minute, url.Values{"host": {"a"}})
	waitFor(t, "the run for host a", func() bool { return lines(t, counter) == 1 })
	short := scrapeIn(f, 5*time.Second, url.Values{"host": {"b"}})
	waitFor(t, "the short scrape for host b waiting", func() bool { return f.waiting.Load() == 2 })
	long := scrapeIn(f, time.Minute, url.Values{"host": {"b"}})
	waitFor(t, "the long scrape for host b waiting", func() bool { return f.waiting.Load() == 3 })

	r := <-short
	if have := source.StatusOf(r.err); have != 503 {
		t.Errorf("short scrape for host b: want 503 busy, have %d %v", have, r.err)
	}
	touch(t, gate)
	for _, c := range []struct {
		what string
		ch   <-chan result
		want string
	}{{"host a", holder, "script_runs 1\n"}, {"host b, long", long, "script_runs 2\n"}} {
		r := <-c.ch
		if r.err != nil || !strings.HasSuffix(r.body, c.want) {
			t.Errorf("%s: want %q, have %q (err %v)", c.what, c.want, r.body, r.err)
		}
	}
	if have := f.counter(f.metrics.busy); have != 0 {
		t.Errorf("runs refused as busy: want 0, have %d", have)
	}
}

// TestCallDeadline: a joiner moves the run's deadline on, never back nor
// past its limit, and a run past its deadline takes no more scrapes.
func TestCallDeadline(t *testing.T) {
	now := time.Now()
	c := newCall(now.Add(time.Hour), now.Add(3*time.Hour))
	for _, tc := range []struct {
		join time.Time
		want time.Time
	}{
		{now.Add(30 * time.Minute), now.Add(time.Hour)},
		{now.Add(2 * time.Hour), now.Add(2 * time.Hour)},
		{now.Add(5 * time.Hour), now.Add(3 * time.Hour)},
	} {
		if !c.join(tc.join) {
			t.Fatalf("join at +%s: want taken, have refused", tc.join.Sub(now))
		}
		if have := c.deadline(); !have.Equal(tc.want) {
			t.Errorf("join at +%s: want deadline +%s, have +%s", tc.join.Sub(now), tc.want.Sub(now), have.Sub(now))
		}
	}
	if have := newCall(now.Add(5*time.Hour), now.Add(time.Hour)).deadline(); !have.Equal(now.Add(time.Hour)) {
		t.Errorf("a first deadline past the limit: want +1h, have +%s", have.Sub(now))
	}
	past := newCall(now.Add(-time.Millisecond), now.Add(time.Hour))
	if past.join(now.Add(time.Hour)) {
		t.Errorf("a run past its deadline: want refused, have taken")
	}
	if have := past.left(); have != 0 {
		t.Errorf("a run past its deadline: want 0 left, have %s", have)
	}
}
