package exposition

import (
	"math"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// A protobuf source may give one series in two messages of a family.
// The plan reads the text, where the later message's lines are
// duplicates of the earlier's or, of a new bound, lines of the same
// metric; restore, which pairs each metric of the text with a message,
// then needs seriesView to give each series what Prometheus reads of it.

// nativeTwice tells whether of metrics ms one is a native histogram and
// two have one label set as written (written gives a metric's labels with
// the names the output writes).
func nativeTwice(ms []*dto.Metric, written func(*dto.Metric) []*dto.LabelPair) bool {
	return slices.ContainsFunc(ms, func(m *dto.Metric) bool { return nativeHistogram(m.Histogram) }) && repeats(ms, written)
}

// repeats tells whether two of metrics ms have one label set as written.
func repeats(ms []*dto.Metric, written func(*dto.Metric) []*dto.LabelPair) bool {
	seen := map[string]bool{}
	var key []string
	for _, m := range ms {
		var k string
		if k, key = labelsKey(written(m), key); seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

// labelsKey is labels ls as a key, in no order, made in scratch.
func labelsKey(ls []*dto.LabelPair, scratch []string) (string, []string) {
	scratch = scratch[:0]
	for _, l := range ls {
		scratch = append(scratch, l.GetName()+"\xff"+l.GetValue())
	}
	slices.Sort(scratch)
	return strings.Join(scratch, "\xfe"), scratch
}

// seriesView is restore of a family ms in which a series is in two
// messages (repeats; labels as written, which may make two series of the
// source one), as Prometheus reads it: of each series the first message,
// and of a histogram's buckets or a summary's quantiles the first of each
// bound, whichever message it is in. The plan, which reads the text, has
// one metric for the series; parsed[i], the text's metric of series i (in
// order), becomes the first message of the series, the first classic one
// carrying the buckets (quantiles) of bounds new to the series from later
// ones, whose timestamp must then be its own (one message has one), and
// which take its created timestamp. With native (protobuf output),
// Prometheus reads a native histogram message as its native histogram
// alone, so of each series it reads the first native histogram and, apart,
// the classic series of the messages that are not native: extra holds the
// first of the other kind. Without, every message is read as classic, and
// the bounds must be the text's. ok is false when no series is in two
// messages, the metrics are not the text's, or they cannot be written so.
func seriesView(ms, parsed []*dto.Metric, native bool, written func(*dto.Metric) []*dto.LabelPair) (extra []*dto.Metric, ok bool) {
	if len(parsed) == 0 {
		return nil, false
	}
	isNative := func(m *dto.Metric) bool { return native && nativeHistogram(m.Histogram) }
	var all []*seriesOf
	byKey := map[string]*seriesOf{}
	var key []string
	for _, m := range ms {
		ls := written(m)
		var k string
		k, key = labelsKey(ls, key)
		s := byKey[k]
		if s == nil {
			s = &seriesOf{first: m, labels: ls}
			byKey[k], all = s, append(all, s)
		} else if s.other == nil && isNative(m) != isNative(s.first) {
			s.other = m
		}
		if !isNative(m) && !s.addClassic(m) {
			return nil, false
		}
	}
	if len(all) == len(ms) || len(all) != len(parsed) {
		return nil, false
	}
	added := len(parsed[0].GetLabel()) - len(all[0].labels) // the merge label, static labels
	for i, s := range all {
		p := parsed[i]
		if !sameLabels(s.labels, p, added) || !native && !s.sameBounds(p) {
			return nil, false
		}
		m := s.written(s.first)
		p.Counter, p.Gauge, p.Untyped, p.Summary, p.Histogram = m.Counter, m.Gauge, m.Untyped, m.Summary, m.Histogram
		p.TimestampMs = timestamp(m)
		if s.other != nil {
			o := s.written(s.other)
			extra = append(extra, &dto.Metric{Label: p.Label, Histogram: o.Histogram, TimestampMs: timestamp(o)})
		}
	}
	return extra, true
}

// seriesOf is what seriesView reads of one series.
type seriesOf struct {
	first, other *dto.Metric      // the first message, and the first of the other kind
	labels       []*dto.LabelPair // first's, as written
	classic      *dto.Metric      // the first classic message
	buckets      []*dto.Bucket
	quantiles    []*dto.Quantile
	bounds       map[uint64]bool // of buckets or quantiles
	changed      bool            // buckets or quantiles are not classic's own
}

// addClassic reads classic message m of the series: the first gives the
// buckets (quantiles) Prometheus reads (the first of each bound, buckets
// up to +Inf), a later one those of new bounds. It is false when a later
// one has a new bound and another timestamp. A new bound of a later one
// with another created timestamp takes the first's: one message has one,
// and the values and exemplars are worth more than the start of a bound.
func (s *seriesOf) addClassic(m *dto.Metric) bool {
	first := s.classic == nil
	if first {
		s.classic, s.bounds = m, map[uint64]bool{}
	}
	// add tells whether bound b is new, and counts the change.
	add := func(b float64, inf bool) (bool, bool) {
		k := boundKey(b)
		if s.bounds[k] || !first && inf {
			// A later +Inf repeats the one the first's count gives.
			s.changed = s.changed || first
			return false, true
		}
		if !first && m.GetTimestampMs() != s.classic.GetTimestampMs() {
			return false, false
		}
		s.bounds[k] = true
		s.changed = s.changed || !first
		return true, true
	}
	if h := m.GetHistogram(); h != nil {
		read := readBuckets(h)
		s.changed = s.changed || first && len(read) != len(h.GetBucket())
		for _, b := range read {
			isNew, ok := add(b.GetUpperBound(), math.IsInf(b.GetUpperBound(), 1))
			if !ok {
				return false
			}
			if isNew {
				s.buckets = append(s.buckets, b)
			}
		}
	}
	for _, q := range m.GetSummary().GetQuantile() {
		isNew, ok := add(q.GetQuantile(), false)
		if !ok {
			return false
		}
		if isNew {
			s.quantiles = append(s.quantiles, q)
		}
	}
	return true
}

// written is message m as written: the first classic one with the
// buckets (in order: Prometheus reads none past +Inf) or quantiles of the
// series.
func (s *seriesOf) written(m *dto.Metric) *dto.Metric {
	if m != s.classic || !s.changed {
		return m
	}
	c := &dto.Metric{Counter: m.Counter, Gauge: m.Gauge, Untyped: m.Untyped, TimestampMs: m.TimestampMs}
	if m.Histogram != nil {
		c.Histogram = proto.Clone(m.Histogram).(*dto.Histogram)
		c.Histogram.Bucket = s.buckets
		sortBuckets(c.Histogram)
	}
	if m.Summary != nil {
		c.Summary = proto.Clone(m.Summary).(*dto.Summary)
		c.Summary.Quantile = s.quantiles
	}
	return c
}

// sameBounds tells whether the series' buckets or quantiles are as many
// as those of p, the text's metric of it (which has a +Inf bucket always,
// and none of bound NaN: expfmt's parser reads none), so that the plan
// and the messages agree.
func (s *seriesOf) sameBounds(p *dto.Metric) bool {
	n := 0
	switch {
	case p.Histogram != nil:
		inf := false
		for _, b := range s.buckets {
			inf = inf || math.IsInf(b.GetUpperBound(), 1)
			if !math.IsNaN(b.GetUpperBound()) {
				n++
			}
		}
		if !inf {
			n++
		}
		return n == len(p.Histogram.GetBucket())
	case p.Summary != nil:
		for _, q := range s.quantiles {
			if !math.IsNaN(q.GetQuantile()) {
				n++
			}
		}
		return n == len(p.Summary.GetQuantile())
	}
	return true
}

// boundKey is a bucket bound as a key: bounds of one key are one series.
func boundKey(b float64) uint64 {
	if math.IsNaN(b) {
		return math.Float64bits(math.NaN())
	}
	return math.Float64bits(b)
}

// timestamp is m's timestamp as Prometheus reads it: 0 is none.
func timestamp(m *dto.Metric) *int64 {
	if m.GetTimestampMs() == 0 {
		return nil
	}
	return m.TimestampMs
}

// sameLabels tells whether parsed, a metric the plan wrote, has labels ls
// (a source's message's, as written), and added more (the merge label,
// static labels).
func sameLabels(ls []*dto.LabelPair, parsed *dto.Metric, added int) bool {
	if len(parsed.GetLabel()) != len(ls)+added {
		return false
	}
	for _, l := range ls {
		if !slices.ContainsFunc(parsed.GetLabel(), func(p *dto.LabelPair) bool { return p.GetName() == l.GetName() && p.GetValue() == l.GetValue() }) {
			return false
		}
	}
	return true
}
