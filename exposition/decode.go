package exposition

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// The decoded encoder's families are built from the plan as expfmt's text
// parser would read them back from the text the plan writes (writePart):
// the same samples, names, labels and values, grouped into metrics as that
// parser groups them, without writing or parsing any text. The messages
// come from slabs the merger keeps and reuses family after family, and
// label names and values are shared strings (intern), so a family costs
// next to no allocation once the first has been built.

// slab hands out zeroed values of T from chunks it keeps: reset makes every
// chunk free again, so what it handed out must be dropped by then.
type slab[T any] struct {
	chunks [][]T
	c, i   int // the current chunk, and its first free value
}

// take is n zeroed values, with no room to append to.
func (s *slab[T]) take(n int) []T {
	for s.c < len(s.chunks) && s.i+n > len(s.chunks[s.c]) {
		s.c, s.i = s.c+1, 0
	}
	if s.c == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, max(n, 256)))
	}
	out := s.chunks[s.c][s.i : s.i+n : s.i+n]
	s.i += n
	clear(out)
	return out
}

func (s *slab[T]) one() *T { return &s.take(1)[0] }

func (s *slab[T]) reset() { s.c, s.i = 0, 0 }

// release clears what s handed out, which may point to a source's
// messages, and drops chunks past the first keep.
func (s *slab[T]) release(keep int) {
	keep = min(keep, len(s.chunks))
	clear(s.chunks[keep:])
	s.chunks = s.chunks[:keep]
	for _, c := range s.chunks {
		clear(c)
	}
	s.reset()
}

// slabs are the messages of the family being built.
type slabs struct {
	metrics    slab[dto.Metric]
	pairs      slab[dto.LabelPair]
	pairPtrs   slab[*dto.LabelPair]
	counters   slab[dto.Counter]
	gauges     slab[dto.Gauge]
	untypeds   slab[dto.Untyped]
	summaries  slab[dto.Summary]
	histograms slab[dto.Histogram]
	quantiles  slab[dto.Quantile]
	buckets    slab[dto.Bucket]
	floats     slab[float64]
	uints      slab[uint64]
	ints       slab[int64]
	strs       slab[string]
}

// recycled is a slab of any type.
type recycled interface {
	reset()
	release(keep int)
}

// each calls do on every slab.
func (s *slabs) each(do func(recycled)) {
	for _, r := range []recycled{&s.metrics, &s.pairs, &s.pairPtrs, &s.counters, &s.gauges, &s.untypeds,
		&s.summaries, &s.histograms, &s.quantiles, &s.buckets, &s.floats, &s.uints, &s.ints, &s.strs} {
		do(r)
	}
}

func (s *slabs) reset() { s.each(recycled.reset) }

// release readies s for the merger's pool: a few chunks kept, none
// pointing anywhere.
func (s *slabs) release() { s.each(func(r recycled) { r.release(4) }) }

func (s *slabs) float(v float64) *float64 { p := s.floats.one(); *p = v; return p }
func (s *slabs) uint(v uint64) *uint64    { p := s.uints.one(); *p = v; return p }
func (s *slabs) str(v string) *string     { p := s.strs.one(); *p = v; return p }

// internMax bounds the strings a merge shares: past it, a string is made
// for each use.
const internMax = 1 << 16

// intern is b as a string, one string for equal bytes within a merge.
func (m *merger) intern(b []byte) string {
	if s, ok := m.strings[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(m.strings) < internMax {
		if m.strings == nil {
			m.strings = map[string]string{}
		}
		m.strings[s] = s
	}
	return s
}

// errPlannedText is a sample whose planned text expfmt's parser refuses:
// a bug of the plan, never input that passed the scan.
var errPlannedText = errors.New("exposition: planned text does not parse")

// buildPart is part p of family mf as expfmt's text parser reads its
// planned text: the metrics, in order, and the family's HELP.
func (m *merger) buildPart(mf *mfam, p part, out []*dto.Metric) ([]*dto.Metric, error) {
	s := p.src
	f := &s.sc.fams[p.fam]
	if f.n == 0 {
		return out, nil
	}
	typ := mf.typ.text()
	if typ == GaugeHistogram {
		typ = Histogram // written as one for the parser (ghClassic)
	}
	injected, err := m.injectedPairs(s)
	if err != nil {
		return out, err
	}
	clear(m.series)
	body := s.sc.body
	first := len(out)
	for k := f.first; k <= f.last; k++ {
		smp := &s.sc.samples[k]
		if smp.fam != p.fam || smp.flags&flagDrop != 0 {
			continue
		}
		name := m.outSampleName(m.famName[:0], mf, smp)
		m.famName = name
		member := parsedMember(typ, mf.name, name)
		if member < 0 {
			continue // another family to the parser: decodeFamily never read it
		}
		if len(name) == 0 || !utf8.Valid(name) {
			return out, fmt.Errorf("%w: metric name %q", errPlannedText, name)
		}
		m.pairs, _ = m.outLabels(m.pairs[:0], s, smp)
		labels := m.slabs.pairPtrs.take(len(m.pairs) + len(injected))[:0]
		bound := math.NaN() // le or quantile
		for i := range m.pairs {
			lp := &m.pairs[i]
			raw := body[lp.value.lo:lp.value.hi]
			if mf.rewrites(lp) {
				m.num = lp.appendValue(m.num[:0], body)
				raw = m.num
			}
			m.unescaped, err = unescapeLabel(m.unescaped[:0], raw)
			if err != nil {
				return out, err
			}
			if err := validLabel(lp.out, m.unescaped); err != nil {
				return out, err
			}
			if special := typ == Summary && string(lp.out) == "quantile" || typ == Histogram && string(lp.out) == "le"; special {
				if bound, err = parseFloat(m.unescaped); err != nil {
					return out, err
				}
				continue
			}
			pair := m.slabs.pairs.one()
			pair.Name, pair.Value = m.slabs.str(m.intern(lp.out)), m.slabs.str(m.intern(m.unescaped))
			labels = append(labels, pair)
		}
		labels = append(labels, injected...)
		v, err := parseFloat(body[smp.value.lo:smp.value.hi])
		if err != nil {
			return out, err
		}
		var metric *dto.Metric
		if typ == Summary || typ == Histogram {
			// One metric per series, as the parser's signature (labels
			// but le or quantile) tells it; the first sample's labels.
			m.key = m.signature(labels)
			if metric = m.series[string(m.key)]; metric == nil {
				metric = m.slabs.metrics.one()
				metric.Label = labels
				if m.series == nil {
					m.series = map[string]*dto.Metric{}
				}
				m.series[string(m.key)] = metric
				out = append(out, metric)
			}
		} else {
			metric = m.slabs.metrics.one()
			metric.Label = labels
			out = append(out, metric)
		}
		if err := m.setValue(metric, typ, member, bound, v); err != nil {
			return out, err
		}
		if !smp.ts.empty() {
			ts := body[smp.ts.lo:smp.ts.hi]
			var ms int64
			if smp.flags&flagOMTime != 0 {
				sec, _ := strconv.ParseFloat(string(ts), 64)
				ms = int64(sec * 1000)
			} else if ms, err = strconv.ParseInt(string(ts), 10, 64); err != nil {
				return out, fmt.Errorf("%w: timestamp %q", errPlannedText, ts)
			}
			metric.TimestampMs = m.slabs.ints.one()
			*metric.TimestampMs = ms
		}
	}
	if typ == Histogram {
		for _, metric := range out[first:] {
			normalizeHistogram(metric.Histogram)
			sortBuckets(metric.Histogram)
		}
	}
	return out, nil
}

// signature is a key of labels' names and values, in no order.
func (m *merger) signature(labels []*dto.LabelPair) []byte {
	if !slices.IsSortedFunc(labels, byName) {
		m.sorted = append(m.sorted[:0], labels...)
		slices.SortFunc(m.sorted, byName)
		labels = m.sorted
	}
	dst := m.key[:0]
	for _, l := range labels {
		dst = append(append(append(append(dst, l.GetName()...), 0xff), l.GetValue()...), 0xfe)
	}
	return dst
}

func byName(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) }

// Members of a family as expfmt's text parser tells them by name.
const (
	parsedPlain = iota
	parsedCount
	parsedSum
)

// parsedMember is the member a sample named name is of family name of type
// typ to expfmt's text parser, or -1 when it takes it for another family.
func parsedMember(typ Type, family, name []byte) int {
	if bytes.Equal(name, family) {
		return parsedPlain
	}
	if !bytes.HasPrefix(name, family) || typ != Summary && typ != Histogram {
		return -1
	}
	switch string(name[len(family):]) {
	case "_count":
		return parsedCount
	case "_sum":
		return parsedSum
	case "_bucket":
		if typ == Histogram {
			return parsedPlain
		}
	}
	return -1
}

// setValue gives metric sample value v as expfmt's text parser does: bound
// is the sample's le or quantile, NaN when it has none.
func (m *merger) setValue(metric *dto.Metric, typ Type, member int, bound, v float64) error {
	sl := &m.slabs
	switch typ {
	case Counter:
		metric.Counter = sl.counters.one()
		metric.Counter.Value = sl.float(v)
	case Gauge:
		metric.Gauge = sl.gauges.one()
		metric.Gauge.Value = sl.float(v)
	case Summary:
		if metric.Summary == nil {
			metric.Summary = sl.summaries.one()
		}
		sum := metric.Summary
		switch {
		case member == parsedCount:
			sum.SampleCount = sl.uint(uint64(v))
		case member == parsedSum:
			sum.SampleSum = sl.float(v)
		case !math.IsNaN(bound):
			q := sl.quantiles.one()
			q.Quantile, q.Value = sl.float(bound), sl.float(v)
			sum.Quantile = append(sum.Quantile, q)
		}
	case Histogram:
		if metric.Histogram == nil {
			metric.Histogram = sl.histograms.one()
		}
		h := metric.Histogram
		switch {
		case member == parsedCount:
			if u := uint64(v); v == float64(u) {
				h.SampleCount = sl.uint(u)
			} else if v < 0 {
				return fmt.Errorf("%w: negative count", errPlannedText)
			} else {
				h.SampleCountFloat = sl.float(v)
			}
		case member == parsedSum:
			h.SampleSum = sl.float(v)
		case !math.IsNaN(bound):
			b := sl.buckets.one()
			b.UpperBound = sl.float(bound)
			if u := uint64(v); v == float64(u) {
				b.CumulativeCount = sl.uint(u)
			} else if v < 0 {
				return fmt.Errorf("%w: negative bucket", errPlannedText)
			} else {
				b.CumulativeCountFloat = sl.float(v)
			}
			h.Bucket = append(h.Bucket, b)
		}
	default:
		metric.Untyped = sl.untypeds.one()
		metric.Untyped.Value = sl.float(v)
	}
	return nil
}

// sortBuckets puts h's buckets in the order of their bounds. The text
// parser reads every bucket line as a series wherever it stands, but
// Prometheus' protobuf parser stops at the +Inf bucket: a bucket written
// after it in protobuf output would be lost.
func sortBuckets(h *dto.Histogram) {
	byBound := func(a, b *dto.Bucket) int { return cmp.Compare(a.GetUpperBound(), b.GetUpperBound()) }
	if h != nil && !slices.IsSortedFunc(h.Bucket, byBound) {
		slices.SortStableFunc(h.Bucket, byBound)
	}
}

// normalizeHistogram is expfmt's: a histogram with a float count has all
// its counts as floats.
func normalizeHistogram(h *dto.Histogram) {
	if h == nil {
		return
	}
	floats := h.GetSampleCountFloat() != 0 || slices.ContainsFunc(h.GetBucket(), func(b *dto.Bucket) bool { return b.GetCumulativeCountFloat() != 0 })
	if !floats {
		return
	}
	if h.GetSampleCountFloat() == 0 {
		h.SampleCountFloat, h.SampleCount = new(float64(h.GetSampleCount())), nil
	}
	for _, b := range h.GetBucket() {
		if b.GetCumulativeCountFloat() == 0 {
			b.CumulativeCountFloat, b.CumulativeCount = new(float64(b.GetCumulativeCount())), nil
		}
	}
}

// injectedPairs is the labels the merge adds to source s's series, as the
// parser reads them from s.injected.
func (m *merger) injectedPairs(s *origin) ([]*dto.LabelPair, error) {
	in := s.injected
	if len(in) == 0 {
		return nil, nil
	}
	out := m.slabs.pairPtrs.take(bytes.Count(in, []byte(`="`)))[:0]
	for len(in) > 0 {
		eq := bytes.Index(in, []byte(`="`))
		if eq < 0 {
			return nil, fmt.Errorf("%w: injected labels %q", errPlannedText, s.injected)
		}
		name := in[:eq]
		end := eq + 2
		for end < len(in) && in[end] != '"' {
			if in[end] == '\\' {
				end++
			}
			end++
		}
		var err error
		if m.unescaped, err = unescapeLabel(m.unescaped[:0], in[eq+2:min(end, len(in))]); err != nil {
			return nil, err
		}
		if err := validLabel(name, m.unescaped); err != nil {
			return nil, err
		}
		pair := m.slabs.pairs.one()
		pair.Name, pair.Value = m.slabs.str(m.intern(name)), m.slabs.str(m.intern(m.unescaped))
		out = append(out, pair)
		in = bytes.TrimPrefix(in[min(end+1, len(in)):], []byte(","))
	}
	return out, nil
}

// validLabel is the parser's check of a label: a name that is UTF-8 and
// not __name__, a value that is UTF-8.
func validLabel(name, value []byte) error {
	if len(name) == 0 || !utf8.Valid(name) || string(name) == model.MetricNameLabel || !utf8.Valid(value) {
		return fmt.Errorf("%w: label %q=%q", errPlannedText, name, value)
	}
	return nil
}

// unescapeLabel appends label value raw (as written between its quotes)
// unescaped as the text parser does: \\, \" and \n, nothing else.
func unescapeLabel(dst, raw []byte) ([]byte, error) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		if i++; i == len(raw) {
			return dst, fmt.Errorf("%w: label value %q", errPlannedText, raw)
		}
		switch raw[i] {
		case '\\', '"':
			dst = append(dst, raw[i])
		case 'n':
			dst = append(dst, '\n')
		default:
			return dst, fmt.Errorf("%w: escape in label value %q", errPlannedText, raw)
		}
	}
	return dst, nil
}

// parseFloat is the text parser's: Go's syntax without p, P or _.
func parseFloat(b []byte) (float64, error) {
	if bytes.ContainsAny(b, "pP_") {
		return 0, fmt.Errorf("%w: value %q", errPlannedText, b)
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("%w: value %q", errPlannedText, b)
	}
	return v, nil
}

// helpText is the HELP the parser reads from the HELP line writeHeader
// writes for mf, or nil when it reads none.
func (m *merger) helpText(mf *mfam) (*string, error) {
	h := mf.help
	if bytes.Contains(h, []byte(`\"`)) {
		h = bytes.ReplaceAll(h, []byte(`\"`), []byte(`"`))
	}
	h = bytes.TrimLeft(h, " \t")
	if len(h) == 0 {
		return nil, nil
	}
	var err error
	if m.unescaped, err = unescapeLabel(m.unescaped[:0], h); err != nil {
		return nil, err
	}
	return m.slabs.str(string(m.unescaped)), nil
}
