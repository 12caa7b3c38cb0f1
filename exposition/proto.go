package exposition

import (
	"bytes"
	"math"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// protoToText writes a delimited protobuf body as text 0.0.4, UTF-8 names
// quoted, for the plan, straight from the wire (readProto). With keep,
// each family's message is returned too (a slice of body), for the decoded
// encoder to restore what text cannot carry: it decodes a family when it
// gets to it (origin.family), so a merge never holds a whole body's worth
// of decoded messages. The names of gauge histograms, which the text has
// as histograms, are appended to gh.
func protoToText(dst *bytes.Buffer, body []byte, keep bool, gh []string) ([]keptFamily, []string, error) {
	var msgs []keptFamily
	err := readProto(body, dst, func(f *wireFamily) {
		if keep {
			msgs = append(msgs, keptFamily{f.msg, string(f.name), string(f.unit)})
		}
		if f.typ == dto.MetricType_GAUGE_HISTOGRAM {
			gh = append(gh, string(f.name))
		}
	})
	return msgs, gh, err
}

// unmarshalFamily decodes one family's message. Unknown fields are dropped:
// written back into a merged answer, they can make Prometheus' decoder
// refuse it whole. protoToText refused what it would not read (goReads).
func unmarshalFamily(msg []byte, mf *dto.MetricFamily) error {
	return proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(msg, mf)
}

// keptFamily is a family's message in a protobuf body, with what the plan
// asks of every family before the encoder gets to it.
type keptFamily struct {
	msg        []byte
	name, unit string
}

// family is the message of family fi of a protobuf source whose messages
// were kept, decoded (protoToText read it on the wire as protobuf-go reads
// it); nil when the plan's family fi is not that message. The last one
// decoded is kept: a family's unit and its metrics are asked for one after
// the other.
func (s *origin) family(fi int32) *dto.MetricFamily {
	if !s.protoAt(fi) {
		return nil
	}
	if s.decoded == nil || s.decodedAt != fi {
		mf := &dto.MetricFamily{}
		if err := unmarshalFamily(s.proto[fi].msg, mf); err != nil {
			return nil // not reached: protoToText checked that protobuf-go reads it (goReads)
		}
		s.decoded, s.decodedAt = mf, fi
	}
	return s.decoded
}

// protoAt tells whether the plan's family fi is the kept message fi.
func (s *origin) protoAt(fi int32) bool {
	return len(s.proto) == len(s.sc.fams) && fi >= 0 && int(fi) < len(s.proto) && s.proto[fi].name == string(s.sc.fams[fi].name)
}

// textLines is how many sample lines expfmt.MetricFamilyToText writes for
// metric m of a family of type t.
func textLines(t dto.MetricType, m *dto.Metric) int {
	switch t {
	case dto.MetricType_SUMMARY:
		return len(m.GetSummary().GetQuantile()) + 2
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		n := len(m.GetHistogram().GetBucket()) + 2
		if b := m.GetHistogram().GetBucket(); len(b) == 0 || !math.IsInf(b[len(b)-1].GetUpperBound(), 1) {
			n++ // the +Inf bucket it adds
		}
		return n
	}
	return 1
}

// restore gives the metrics the plan kept of family fi of a protobuf
// source, read back from its text (parsed, in order), the values of the
// source's own messages: labels stay the plan's, values become the
// message's, with what text cannot carry (native histograms, exemplars,
// created timestamps). The text of family fi is the family's message
// written by protoToText, its metrics one after the other; a metric the
// plan kept has its first sample kept. It reports whether the metrics were
// matched: those that cannot be keep the text's values, which the caller
// then checks as a text source's (a metric read from lines of two
// messages, say, carries one timestamp for both).
func (s *origin) restore(fi int32, parsed []*dto.Metric, protobuf bool) bool {
	if s.protoAt(fi) && textCarries(s.proto[fi].msg) {
		return s.linesMatch(fi, len(parsed))
	}
	sc, mf := s.sc, s.family(fi)
	if mf == nil {
		return false
	}
	f := &sc.fams[fi]
	var kept []*dto.Metric
	var at []int32 // where each kept metric's lines start
	k := f.first
	for _, m := range mf.GetMetric() {
		if k > f.last {
			return false
		}
		if sc.samples[k].flags&flagDrop == 0 {
			kept, at = append(kept, m), append(at, k)
		}
		k += int32(textLines(mf.GetType(), m))
	}
	if k != f.last+1 {
		return false
	}
	if len(kept) != len(parsed) {
		// A message whose labels repeat an earlier one's: the text has
		// the lines the plan kept of both as one metric.
		if !protobuf {
			return false
		}
		if kept, at = firstOfLabels(kept, at); len(kept) != len(parsed) {
			return false
		}
		for _, m := range kept {
			if !nativeHistogram(m.Histogram) {
				return false
			}
		}
		// In protobuf output Prometheus reads native histograms, and of
		// two with one series the first: the later messages add nothing.
	}
	for i, m := range kept {
		p := parsed[i]
		p.Counter, p.Gauge, p.Untyped, p.Summary, p.Histogram = m.Counter, m.Gauge, m.Untyped, m.Summary, m.Histogram
		if p.TimestampMs = m.TimestampMs; m.GetTimestampMs() == 0 {
			p.TimestampMs = nil // Prometheus reads a timestamp of 0 as none
		}
		if !protobuf || !nativeHistogram(m.Histogram) {
			p.Histogram = sc.keptBuckets(at[i], m.Histogram)
		}
		p.Summary = sc.keptQuantiles(at[i], m.Summary)
	}
	return true
}

// textCarries tells whether the text of family message msg carries all
// of it that Prometheus reads, so that restore need not decode it: the
// family is of gauges, untyped or counters, none with an exemplar or a
// created timestamp, nor a NaN but the one the text's "NaN" is read as.
func textCarries(msg []byte) bool {
	var f wireFamily
	f.read(msg)
	var value protowire.Number
	switch f.typ {
	case dto.MetricType_COUNTER:
		value = 3
	case dto.MetricType_GAUGE:
		value = 2
	case dto.MetricType_UNTYPED:
		value = 5
	default:
		return false
	}
	nan := math.Float64bits(math.NaN())
	for m := range messages(msg, 4) {
		for v := range messages(m.b, value) {
			for b := v.b; len(b) > 0; {
				var w wireField
				if w, b = nextField(b); !w.is(1, protowire.Fixed64Type) || math.IsNaN(math.Float64frombits(w.v)) && w.v != nan {
					return false
				}
			}
		}
	}
	return true
}

// linesMatch is restore of family fi when its text carries it all
// (textCarries): it tells whether the kept metrics, a line each, are the n
// parsed.
func (s *origin) linesMatch(fi int32, n int) bool {
	f := &s.sc.fams[fi]
	k, kept := f.first, 0
	for range messages(s.proto[fi].msg, 4) {
		if k > f.last {
			return false
		}
		if s.sc.samples[k].flags&flagDrop == 0 {
			kept++
		}
		k++
	}
	return k == f.last+1 && kept == n
}

// firstOfLabels is metrics ms (whose lines start at at) without those
// whose labels, as a set, repeat an earlier one's.
func firstOfLabels(ms []*dto.Metric, at []int32) ([]*dto.Metric, []int32) {
	seen := map[string]bool{}
	var keptMs []*dto.Metric
	var keptAt []int32
	var key []string
	for i, m := range ms {
		key = key[:0]
		for _, l := range m.GetLabel() {
			key = append(key, l.GetName()+"\xff"+l.GetValue())
		}
		slices.Sort(key)
		k := strings.Join(key, "\xfe")
		if seen[k] {
			continue
		}
		seen[k] = true
		keptMs, keptAt = append(keptMs, m), append(keptAt, at[i])
	}
	return keptMs, keptAt
}

// nativeHistogram tells whether Prometheus reads h as a native histogram
// (as its protobuf parser decides): in protobuf output it then reads no
// classic bucket as a series, and takes exemplars from the buckets, so the
// buckets stay as the source sent them.
func nativeHistogram(h *dto.Histogram) bool {
	return len(h.GetPositiveSpan()) > 0 || len(h.GetNegativeSpan()) > 0 || h.GetZeroThreshold() > 0 || h.GetZeroCount() > 0
}

// keptBuckets is histogram h, whose bucket lines start at sample k, without
// the buckets the plan left out: duplicates of an earlier bucket (two of
// one upper bound are one series, of which Prometheus keeps the first).
// h is the source's own message: a copy is changed.
func (sc *scanner) keptBuckets(k int32, h *dto.Histogram) *dto.Histogram {
	bb, dropped := keptLines(sc, k, h.GetBucket())
	if !dropped {
		return h
	}
	h = proto.Clone(h).(*dto.Histogram)
	h.Bucket = bb
	return h
}

// keptQuantiles is summary q without the quantiles the plan left out, as
// keptBuckets.
func (sc *scanner) keptQuantiles(k int32, q *dto.Summary) *dto.Summary {
	qq, dropped := keptLines(sc, k, q.GetQuantile())
	if !dropped {
		return q
	}
	q = proto.Clone(q).(*dto.Summary)
	q.Quantile = qq
	return q
}

// keptLines is items, one a sample line from sample k on, without those the
// plan left out; dropped tells whether it left one out (items is returned
// as it is otherwise).
func keptLines[T any](sc *scanner, k int32, items []T) (kept []T, dropped bool) {
	for i, x := range items {
		if sc.samples[k+int32(i)].flags&flagDrop != 0 {
			if !dropped {
				kept, dropped = append(make([]T, 0, len(items)), items[:i]...), true
			}
			continue
		}
		if dropped {
			kept = append(kept, x)
		}
	}
	if !dropped {
		return items, false
	}
	return kept, true
}

// unit is family fi's unit: its OpenMetrics # UNIT, or its protobuf
// message's (kept for a decoded output only); nil for none.
func (s *origin) unit(fi int32) []byte {
	if f := &s.sc.fams[fi]; !f.unit.empty() {
		return s.sc.body[f.unit.lo:f.unit.hi]
	}
	if !s.protoAt(fi) || s.proto[fi].unit == "" {
		return nil
	}
	return []byte(s.proto[fi].unit)
}
