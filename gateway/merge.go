package gateway

import (
	"bytes"
	"compress/gzip"
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

// What an answer holds while it is written, whatever its sources: a
// merge's output buffer (flushed at 128 KiB, 192 KiB with its room to
// spare) and net/http's response buffers, answerBuffers; and, when the
// client takes gzip, a compressor besides, gzipHeld (a gzip.Writer
// allocates 795 to 800 KiB at gzipLevel as at the default level promhttp
// uses, with Go 1.26: TestCompressedAnswersReserveTheirCompressor).
const (
	answerBuffers = 256 << 10
	gzipHeld      = 832 << 10
)

// answerHeld is what a merged answer holds while it is written (see
// answerBuffers), gzip-compressed when gz is set.
func answerHeld(gz bool) int64 {
	if gz {
		return answerBuffers + gzipHeld
	}
	return answerBuffers
}

// mergeState is what the merged /metrics keeps across scrapes: its metrics,
// registered once per Gateway on first use, and what it last logged.
type mergeState struct {
	once      sync.Once
	conflicts *prometheus.CounterVec
	dups      *prometheus.CounterVec
	gzips     sync.Pool // *gzip.Writer

	mu       sync.Mutex
	down     map[string]string          // source: the reason it was last logged down for
	logged   map[string]time.Time       // source: when its up or down was last logged
	dropped  map[droppedKey]string      // the conflict last logged
	families map[string]map[string]bool // source: its families with a conflicts series of their own
}

// A source's families in conflict each have a series of
// corral_merge_conflicts_total, up to maxConflictFamilies of them; any
// later one is counted under family otherConflictFamily. Family names come
// from the source's content: one renamed on every write (a textfile's)
// would otherwise add a series per scrape, none ever removed (a counter
// removed and added again would lose its increase).
const (
	maxConflictFamilies = 10
	otherConflictFamily = "(other)"
)

// droppedKey is a family left out for a source in one output format: a
// conflict may be one format's only (what OpenMetrics cannot carry), so a
// scrape in another format does not bring it back.
type droppedKey struct{ format, source, family string }

// sourceLogInterval is the least time between two logs of a source going
// down or back up: a flapping source (or concurrent scrapes that see it
// differently) does not flood the log, and the state last logged is always
// caught up with by the first scrape after the interval.
const sourceLogInterval = 10 * time.Second

func (st *mergeState) init(g *Gateway) {
	st.once.Do(func() {
		st.mu.Lock() // forget reads the counters under it
		defer st.mu.Unlock()
		label := g.opts.MergeLabel
		st.conflicts = registerOrExisting(g.opts.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_merge_conflicts_total",
			Help: "Families left out of the merged /metrics for a source because their type conflicts with an earlier source's (or their name with corral's); a source's families after its first " +
				strconv.Itoa(maxConflictFamilies) + " are counted as family=" + strconv.Quote(otherConflictFamily) + ".",
		}, []string{label, "family"}))
		st.dups = registerOrExisting(g.opts.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_merge_duplicate_series_total",
			Help: "Samples left out of the merged /metrics because their source had already exposed the same series.",
		}, []string{label}))
		st.down = map[string]string{}
		st.logged = map[string]time.Time{}
		st.dropped = map[droppedKey]string{}
		st.families = map[string]map[string]bool{}
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

// mergeAccept is what a merge in format asks its sources for.
func mergeAccept(format expfmt.Format) string {
	if format.FormatType() == expfmt.TypeProtoDelim {
		return mergeAcceptProto
	}
	return mergeAcceptText
}

// writeMerged answers a merged scrape: inputs merged into one exposition
// in format, gzip-compressed when gz is set. It always answers 200: a
// failing, slow or invalid source only sets its corral_source_up to 0.
func (g *Gateway) writeMerged(w http.ResponseWriter, format expfmt.Format, gz bool, inputs []exposition.Input) {
	st := &g.merge
	st.init(g)
	w.Header().Set("Content-Type", string(format))
	var out io.Writer = w
	if gz {
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
	switch {
	case exposition.IsDefect(err):
		g.logger.Error("merged scrape cut", "err", err)
	case err != nil:
		g.logger.Debug("merged scrape not fully written", "err", err)
	}
	st.account(g.logger, rep, exposition.FormatOf(string(format)).String(), time.Now(), g.stillMerged)
}

// stillMerged tells whether name is still merged: a module of the current set,
// or corral's own metrics.
func (g *Gateway) stillMerged(name string) bool {
	_, ok := lookup(g.modules(), name)
	return ok || name == g.opts.SelfSource
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
// last merged scrape: a family dropped or back (in a scrape in the same
// format, of its source up: a source down reports no conflict, and its
// families are not back for that), a source going down or back up (at most
// once per sourceLogInterval for each source). A source that
// current no longer knows (a reload removed it while the scrape was in
// flight) is left out: its counters, forgotten, stay so. current is asked
// under st.mu, which forget holds too.
func (st *mergeState) account(logger *slog.Logger, rep exposition.Report, format string, now time.Time, current func(source string) bool) {
	seen := make(map[droppedKey]bool, len(rep.Conflicts))
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range rep.Conflicts {
		if !current(c.Source) {
			continue
		}
		st.conflicts.WithLabelValues(c.Source, st.familyLabel(c.Source, c.Family)).Inc()
		key := droppedKey{format, c.Source, c.Family}
		seen[key] = true
		if st.dropped[key] != c.Reason {
			st.dropped[key] = c.Reason
			logger.Warn("family left out of the merged /metrics", "source", c.Source, "family", c.Family, "format", format, "reason", c.Reason)
		}
	}
	up := make(map[string]bool, len(rep.Sources))
	for _, s := range rep.Sources {
		up[s.Name] = s.Err == nil
	}
	for key := range st.dropped {
		if key.format == format && up[key.source] && !seen[key] {
			delete(st.dropped, key)
			logger.Info("family back in the merged /metrics", "source", key.source, "family", key.family, "format", format)
		}
	}
	for _, s := range rep.Sources {
		if !current(s.Name) {
			continue
		}
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

// familyLabel is the family label under which source's conflicts over
// family are counted: its own, or otherConflictFamily once source has
// maxConflictFamilies others. st.mu is held.
func (st *mergeState) familyLabel(source, family string) string {
	fams := st.families[source]
	switch {
	case fams[family]:
		return family
	case len(fams) >= maxConflictFamilies:
		return otherConflictFamily
	case fams == nil:
		fams = map[string]bool{}
		st.families[source] = fams
	}
	fams[family] = true
	return family
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
