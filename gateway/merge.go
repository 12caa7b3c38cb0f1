package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/corral-metrics/corral/exposition"
	"github.com/corral-metrics/corral/source"
)

// Accept headers the merge presents upstream: protobuf only when the client
// wants protobuf (so native histograms and exemplars survive), text
// otherwise (the fast path).
const (
	mergeAcceptText  = "text/plain;version=0.0.4;q=1,*/*;q=0.1"
	mergeAcceptProto = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)

// gzipLevel compresses the merged /metrics within 2% of client_golang's
// gzip.DefaultCompression (level 6) for about 0.7x its CPU; BestSpeed was
// 16% larger. See BenchmarkGzipLevel and BENCHMARKS.md.
const gzipLevel = 5

// mergeState is what the merged /metrics keeps across scrapes: its metrics,
// registered once per Gateway on first use, and what it last logged.
type mergeState struct {
	once      sync.Once
	conflicts *prometheus.CounterVec
	dups      *prometheus.CounterVec
	gzips     sync.Pool // *gzip.Writer

	mu      sync.Mutex
	down    map[string]string    // source: the reason it was last logged down for
	logged  map[string]time.Time // source: when its up or down was last logged
	dropped map[string]string    // source/family: the conflict last logged
}

// sourceLogInterval is the least time between two logs of a source going
// down or back up: a flapping source (or concurrent scrapes that see it
// differently) does not flood the log, and the state last logged is always
// caught up with by the first scrape after the interval.
const sourceLogInterval = 10 * time.Second

func (st *mergeState) init(g *Gateway) {
	st.once.Do(func() {
		label := g.opts.MergeLabel
		st.conflicts = registerOrExisting(g.opts.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_merge_conflicts_total",
			Help: "Families left out of the merged /metrics for a source because their type conflicts with an earlier source's (or their name with corral's).",
		}, []string{label, "family"}))
		st.dups = registerOrExisting(g.opts.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_merge_duplicate_series_total",
			Help: "Samples left out of the merged /metrics because their source had already exposed the same series.",
		}, []string{label}))
		st.down = map[string]string{}
		st.logged = map[string]time.Time{}
		st.dropped = map[string]string{}
	})
}

// fetched is one source's scrape for the merge.
type fetched struct {
	i   int
	ct  string
	buf *bytes.Buffer
	rc  *exposition.Receiver // the body's scan, finished
	err error
	d   time.Duration
}

// serveMerged is /metrics: every source with merge = true and corral's own
// metrics, scraped in parallel under one deadline and merged into one
// exposition. It always answers 200: a failing, slow or invalid source only
// sets its corral_source_up to 0.
func (g *Gateway) serveMerged(w http.ResponseWriter, r *http.Request) {
	g.serveMergedOf(w, r, func(m Module) bool { return m.Merge }, g.opts.MergeSelf)
}

// serveMergedOf merges the modules pick selects, and corral's own metrics
// when self is set: /metrics, and each [endpoint] (see endpoint.go).
func (g *Gateway) serveMergedOf(w http.ResponseWriter, r *http.Request, pick func(Module) bool, self bool) {
	st := &g.merge
	st.init(g)
	format := negotiateMerged(r.Header)
	accept := mergeAcceptText
	if format.FormatType() == expfmt.TypeProtoDelim {
		accept = mergeAcceptProto
	}
	ctx, cancel := context.WithTimeout(r.Context(), Deadline(r, g.opts.ScrapeTimeout))
	defer cancel()

	var mods []Module
	for _, m := range g.modules() {
		if pick(m) {
			mods = append(mods, m)
		}
		if m.Name == g.opts.SelfSource {
			self = false // a module of that name wins
		}
	}
	inputs := make([]exposition.Input, len(mods), len(mods)+1)
	results := make(chan fetched, len(mods)) // late scrapes never block
	for i, m := range mods {
		inputs[i] = exposition.Input{Name: m.Name, Labels: m.Labels}
		in := inputs[i] // a copy: the goroutine may outlive this call
		buf := g.getBuffer(m.Name)
		src := g.scanState(m.Name)
		go func() {
			start := time.Now()
			// Text is scanned while it arrives, the rest as soon as it has.
			ct, rc, err := g.fetch(ctx, m, source.Request{Accept: accept}, buf, func(ct string) *exposition.Receiver {
				return src.Receive(ct, g.opts.MergeLabel, &in)
			})
			d := time.Since(start)
			if err == nil {
				rc.Finish(buf.Bytes())
			}
			results <- fetched{i: i, ct: ct, buf: buf, rc: rc, err: err, d: d}
		}()
	}
	if self && g.opts.Registry != nil {
		inputs = append(inputs, g.gatherSelf(format))
	}
	got := make([]bool, len(mods))
	done := make([]fetched, 0, len(mods))
	defer func() {
		for _, f := range done {
			f.rc.Release()
			g.putBuffer(mods[f.i].Name, f.buf)
		}
	}()
	for pending := len(mods); pending > 0; pending-- {
		select {
		case f := <-results:
			in := &inputs[f.i]
			in.ContentType, in.Body, in.Err, in.Duration, in.Received = f.ct, f.buf.Bytes(), f.err, f.d, f.rc
			got[f.i] = true
			done = append(done, f)
		case <-ctx.Done():
			// Cut off: whatever has not answered is down. Its goroutine
			// still owns its buffer and its Receiver's scanner, which are
			// left to the garbage collector.
			for i := range mods {
				if !got[i] {
					inputs[i].Err = source.Fail(source.ReasonTimeout, errors.New("no answer within the scrape deadline"))
					inputs[i].Duration = Deadline(r, g.opts.ScrapeTimeout)
				}
			}
			pending = 0
		}
	}
	if clientGone(ctx) {
		// Nobody to answer: no merge, and nothing the sources did wrong.
		g.logger.Debug("merged scrape abandoned: the client went away")
		return
	}

	w.Header().Set("Content-Type", string(format))
	var out io.Writer = w
	if gzipAccepted(r.Header) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		zw, _ := st.gzips.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(w, gzipLevel)
		} else {
			zw.Reset(w)
		}
		defer func() {
			zw.Close()
			st.gzips.Put(zw)
		}()
		out = zw
	}
	rep, err := exposition.Merge(out, exposition.Options{Label: g.opts.MergeLabel, Format: format}, inputs)
	if err != nil {
		g.logger.Debug("merged scrape not fully written", "err", err)
	}
	st.account(g.logger, rep, time.Now())
}

// gatherSelf is corral's own registry as one more source.
func (g *Gateway) gatherSelf(format expfmt.Format) exposition.Input {
	start := time.Now()
	in := exposition.Input{Name: g.opts.SelfSource}
	mfs, err := g.opts.Registry.Gather()
	if err != nil && len(mfs) == 0 {
		in.Err = err
		return in
	}
	enc := expfmt.FmtText.WithEscapingScheme(model.NoEscaping)
	if format.FormatType() == expfmt.TypeProtoDelim {
		enc = expfmt.FmtProtoDelim.WithEscapingScheme(model.NoEscaping)
	}
	var buf bytes.Buffer
	e := expfmt.NewEncoder(&buf, enc)
	for _, mf := range mfs {
		if err := e.Encode(mf); err != nil {
			in.Err = err
			return in
		}
	}
	in.ContentType, in.Body, in.Duration = string(enc), buf.Bytes(), time.Since(start)
	return in
}

// account counts conflicts and duplicates and logs what changed since the
// last merged scrape: a family dropped or back, a source going down or back
// up (at most once per sourceLogInterval for each source).
func (st *mergeState) account(logger *slog.Logger, rep exposition.Report, now time.Time) {
	seen := make(map[string]bool, len(rep.Conflicts))
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range rep.Conflicts {
		st.conflicts.WithLabelValues(c.Source, c.Family).Inc()
		key := c.Source + "/" + c.Family
		seen[key] = true
		if st.dropped[key] != c.Reason {
			st.dropped[key] = c.Reason
			logger.Warn("family left out of the merged /metrics", "source", c.Source, "family", c.Family, "reason", c.Reason)
		}
	}
	for key := range st.dropped {
		if !seen[key] {
			delete(st.dropped, key)
			logger.Info("family back in the merged /metrics", "family", key)
		}
	}
	for _, s := range rep.Sources {
		if s.Duplicates > 0 {
			st.dups.WithLabelValues(s.Name).Add(float64(s.Duplicates))
		}
		reason := ""
		if s.Err != nil {
			reason = s.Err.Error()
		}
		if st.down[s.Name] == reason {
			continue
		}
		if last, ok := st.logged[s.Name]; ok && now.Sub(last) < sourceLogInterval {
			continue // logged moments ago: a later scrape catches up
		}
		st.logged[s.Name] = now
		if reason == "" {
			delete(st.down, s.Name)
			logger.Info("source back in the merged /metrics", "source", s.Name)
			continue
		}
		st.down[s.Name] = reason
		logger.Warn("source left out of the merged /metrics", "source", s.Name, "err", s.Err)
	}
	if len(st.logged) > 2*len(rep.Sources)+16 {
		// Sources that left the configuration.
		for name, last := range st.logged {
			if now.Sub(last) >= sourceLogInterval && st.down[name] == "" {
				delete(st.logged, name)
			}
		}
	}
}

// negotiateMerged picks the output format from Accept. Text is preferred
// whenever the client accepts it, even below OpenMetrics (as Prometheus
// asks): text is what upstreams send and the merge's fast path, while
// OpenMetrics means a full decode. Protobuf is served when preferred.
func negotiateMerged(h http.Header) expfmt.Format {
	f := expfmt.NegotiateAccept(h, expfmt.FmtText, expfmt.FmtProtoDelim, expfmt.FmtOpenMetrics_1_0_0, expfmt.FmtOpenMetrics_0_0_1)
	if f.FormatType() == expfmt.TypeOpenMetrics && acceptsText(h.Get("Accept")) {
		return expfmt.FmtText.WithEscapingScheme(model.UnderscoreEscaping)
	}
	return f
}

func acceptsText(accept string) bool {
	for clause := range strings.SplitSeq(accept, ",") {
		media, params, _ := strings.Cut(clause, ";")
		if refusedByQ(params) {
			continue // q=0: "not acceptable"
		}
		switch strings.TrimSpace(media) {
		case "*/*", "text/*":
			return true
		case "text/plain":
			if !strings.Contains(params, "version=") || strings.Contains(params, "version=0.0.4") {
				return true
			}
		}
	}
	return false
}

// refusedByQ tells whether the parameters of an Accept clause carry q=0.
func refusedByQ(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}

func gzipAccepted(h http.Header) bool {
	for clause := range strings.SplitSeq(h.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(clause, ";")
		if strings.TrimSpace(enc) != "gzip" {
			continue
		}
		_, q, found := strings.Cut(strings.ReplaceAll(params, " ", ""), "q=")
		if v, err := strconv.ParseFloat(q, 64); !found || err == nil && v > 0 {
			return true
		}
	}
	return false
}
