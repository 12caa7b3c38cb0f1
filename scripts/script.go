// Package scripts is the script kind of source: a [script.NAME] section,
// a program run when scraped, with coalesced runs, allow-listed parameters,
// a cache and limits. It is built on package source and starts its
// programs through the supervisor's reaper; it imports nothing of the
// gateway's HTTP stack.
package scripts

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-metrics/corral/exposition"
	"github.com/corral-metrics/corral/source"
	"github.com/corral-metrics/corral/supervisor/proc"
)

// ContentType is the format a script's output is taken in and served as:
// the Prometheus text format.
const ContentType = source.ContentTypeText

// maxCacheEntries bounds the results kept per script (one per parameter set)
// for cache and stale_on_error, so distinct parameter values cannot grow
// memory without end. The oldest result is dropped first.
const maxCacheEntries = 128

// Starter starts a process in a group of its own. *proc.Reaper is the
// one corral uses.
type Starter interface {
	Start(cmd proc.Cmd) (*proc.Child, error)
}

// Deps is what every script shares.
type Deps struct {
	Reaper  Starter
	Logger  *slog.Logger
	Metrics *Metrics
	// Limiter caps runs in progress across all scripts; nil: no global cap.
	Limiter *Limiter
	// MaxOutputBytes bounds a run's stdout; more fails the run. 0: source.DefaultMaxBodyBytes.
	MaxOutputBytes int64
	// Validate checks a run's output; a failure fails the run (result
	// "invalid", never cached). nil: exposition.Validate.
	Validate func(contentType string, body []byte) error
	// Now tells the time that cache ages are measured in; nil: time.Now.
	Now func() time.Time
}

// Script is a [script.NAME] source. Concurrent scrapes with the same allowed
// parameters share one run; with cache, a good result is reused.
type Script struct {
	name   string
	cfg    Config
	deps   Deps
	logger *slog.Logger
	slots  *Limiter // max_concurrent distinct runs of this script
	m      scriptMetrics

	mu    sync.Mutex
	calls map[string]*call // by parameter key: the run in progress
	cache map[string]entry // by parameter key: the last good result

	running atomic.Int64 // runs in progress, and the most seen at once
	peak    atomic.Int64
	waiting atomic.Int64 // scrapes registered with a run, waiting for it
}

type entry struct {
	body []byte
	at   time.Time
}

// New makes a script source. It starts nothing until scraped.
func New(name string, cfg Config, deps Deps) *Script {
	cfg.Defaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(nil)
	}
	if deps.MaxOutputBytes <= 0 {
		deps.MaxOutputBytes = source.DefaultMaxBodyBytes
	}
	if deps.Validate == nil {
		deps.Validate = exposition.Validate
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Script{
		name:   name,
		cfg:    cfg,
		deps:   deps,
		logger: deps.Logger.With("script", name),
		slots:  NewLimiter(cfg.MaxConcurrent),
		m:      deps.Metrics.forScript(name),
		calls:  make(map[string]*call),
		cache:  make(map[string]entry),
	}
}

// Scrape answers with the script's output: from the cache when fresh, from
// the run in progress for the same parameters if there is one, else from a
// new run. Giving up (ctx done) leaves the run going for whoever else waits.
// A run lasts until the latest deadline of the scrapes that wait for it,
// within the script's timeout (see call).
func (s *Script) Scrape(ctx context.Context, req source.Request) (*source.Response, error) {
	env, args, key, err := s.runOf(req)
	if err != nil {
		return nil, err
	}
	if body, ok := s.fresh(key); ok {
		s.m.cacheHits.Inc()
		s.m.cached.Set(0)
		return response(body), nil
	}
	now := time.Now()
	limit := now.Add(s.cfg.Timeout.Std())
	deadline := limit
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := ctx.Err(); err != nil {
		return nil, s.gaveUp(nil, err)
	}

	// The run does not take ctx: its life is bounded by its own deadline, so
	// a client that leaves does not fail the scrapes that joined it.
	s.mu.Lock()
	c, joined := s.calls[key]
	if !joined || !c.join(deadline) {
		joined = false
		c = newCall(deadline, limit)
		s.calls[key] = c
	}
	s.mu.Unlock()
	if !joined {
		go func() {
			c.body, c.err = s.run(key, env, args, c)
			s.mu.Lock()
			if s.calls[key] == c {
				delete(s.calls, key)
			}
			s.mu.Unlock()
			close(c.done)
		}()
	}
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	select {
	case <-c.done:
		if joined {
			s.m.coalesced.Inc()
		}
		if c.err != nil {
			return s.stale(key, c.err)
		}
		s.m.cached.Set(0)
		return response(c.body), nil
	case <-ctx.Done():
		return nil, s.gaveUp(c, ctx.Err())
	}
}

// runOf is what a run for req takes: the environment of its allowed
// parameters, its args (with allow_args), and the key runs are cached and
// coalesced by.
func (s *Script) runOf(req source.Request) (env, args []string, key string, err error) {
	env, key, err = params(s.cfg.Params, req.Params)
	if err != nil {
		return nil, nil, "", source.Fail(source.ReasonParams, s.errorf("%w", err))
	}
	if s.cfg.AllowArgs {
		var akey string
		if args, akey, err = argsOf(req.Params); err != nil {
			return nil, nil, "", source.Fail(source.ReasonParams, s.errorf("%w", err))
		}
		key += akey
	}
	return env, args, key, nil
}

// run is one run for a parameter set, under both concurrency limits, for
// whose slots it waits until c's deadline.
func (s *Script) run(key string, env, args []string, c *call) ([]byte, error) {
	if !c.acquire(s.slots) {
		s.m.busy.Inc()
		return nil, source.Fail(source.ReasonBusy,
			s.errorf("busy: max_concurrent=%d runs were in progress until the deadline", s.slots.Cap()))
	}
	defer s.slots.Release()
	if !c.acquire(s.deps.Limiter) {
		s.m.busy.Inc()
		return nil, source.Fail(source.ReasonBusy,
			s.errorf("busy: all %d script runs allowed at once were in progress until the deadline", s.deps.Limiter.Cap()))
	}
	defer s.deps.Limiter.Release()
	c.started.Store(true)

	start := time.Now()
	body, result, err := s.execute(env, args, c)
	s.m.duration.Observe(time.Since(start).Seconds())
	s.m.runs[result].Inc()
	if err != nil {
		s.logger.Debug("script run failed", "err", err)
		return nil, err
	}
	if s.cfg.Cache > 0 || s.cfg.StaleOnError {
		s.store(key, body)
	}
	return body, nil
}

// fresh is the cached result for key if it is younger than cache.
func (s *Script) fresh(key string) ([]byte, bool) {
	if s.cfg.Cache <= 0 {
		return nil, false
	}
	s.mu.Lock()
	e, ok := s.cache[key]
	s.mu.Unlock()
	if !ok || s.deps.Now().Sub(e.at) >= s.cfg.Cache.Std() {
		return nil, false
	}
	return e.body, true
}

// stale answers a failed run: with the last good result under
// stale_on_error, else with the failure.
func (s *Script) stale(key string, err error) (*source.Response, error) {
	if !s.cfg.StaleOnError {
		return nil, err
	}
	s.mu.Lock()
	e, ok := s.cache[key]
	s.mu.Unlock()
	if !ok {
		return nil, err
	}
	s.m.cached.Set(1)
	return response(e.body), nil
}

func (s *Script) store(key string, body []byte) {
	now := s.deps.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cache[key]; !ok && len(s.cache) >= maxCacheEntries {
		oldest := ""
		for k, e := range s.cache {
			if oldest == "" || e.at.Before(s.cache[oldest].at) {
				oldest = k
			}
		}
		delete(s.cache, oldest)
	}
	s.cache[key] = entry{body: body, at: now}
}

// gaveUp is the error of a scrape that stopped waiting for c (nil: before
// it asked for a run). A scrape whose deadline passed while its run still
// waited for a slot is refused as busy: it found none in its time.
func (s *Script) gaveUp(c *call, err error) error {
	switch {
	case err != context.DeadlineExceeded:
		return s.errorf("scrape abandoned: %w", err)
	case c != nil && !c.started.Load():
		return source.Fail(source.ReasonBusy, s.errorf("busy: the run still waited for a slot at the scrape's deadline"))
	}
	return source.Fail(source.ReasonTimeout, s.errorf("scrape deadline passed while waiting for the run"))
}

func (s *Script) errorf(format string, args ...any) error {
	return fmt.Errorf("script %q: "+format, append([]any{s.name}, args...)...)
}

func response(body []byte) *source.Response {
	return &source.Response{ContentType: ContentType, Body: io.NopCloser(bytes.NewReader(body))}
}

// Target is the script's program, for the landing page and corral check:
// not its arguments, which may hold a secret.
func (s *Script) Target() string { return s.cfg.Command[0] }

// Forget drops the script's own metrics, for a script that left the
// configuration.
func (s *Script) Forget() { s.deps.Metrics.Forget(s.name) }

// CoalesceKey is the run a scrape with req would share: scrapes with the
// same allowed parameters (and args) share one run, and on /proxy one
// scrape slot.
func (s *Script) CoalesceKey(req source.Request) (string, bool) {
	_, _, key, err := s.runOf(req)
	return key, err == nil
}
