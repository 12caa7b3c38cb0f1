package exposition

import (
	"bytes"
	"math"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
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
		bb := readBuckets(m.GetHistogram())
		if len(bb) == 0 || !math.IsInf(bb[len(bb)-1].GetUpperBound(), 1) {
			return len(bb) + 3 // and the +Inf bucket it adds
		}
		return len(bb) + 2
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
// messages, say, carries one timestamp for both). m is the merger, whose
// format and names the output has: for protobuf output, a series may need
// a metric more than the text has (seriesView); extra holds them, to write
// after parsed.
func (s *origin) restore(fi int32, parsed []*dto.Metric, m *merger) (extra []*dto.Metric, ok bool) {
	if s.protoAt(fi) {
		if carried, match := s.fromText(fi, parsed); carried {
			return nil, match
		}
	}
	sc, mf := s.sc, s.family(fi)
	if mf == nil {
		return nil, false
	}
	protobuf, written := m.opts.Format.FormatType() == expfmt.TypeProtoDelim, m.writtenLabels(s)
	if protobuf && nativeTwice(mf.GetMetric(), written) {
		return seriesView(mf.GetMetric(), parsed, true, written)
	}
	f := &sc.fams[fi]
	var kept []*dto.Metric
	var at []int32 // where each kept metric's lines start
	k := f.first
	for _, m := range mf.GetMetric() {
		if k > f.last {
			return nil, false
		}
		n := int32(textLines(mf.GetType(), m))
		if sc.samples[k].flags&flagDrop == 0 {
			kept, at = append(kept, m), append(at, k)
		} else if !sc.allDropped(k, min(k+n, f.last+1)) {
			// The text has the rest of it in an earlier metric of its
			// labels.
			return seriesView(mf.GetMetric(), parsed, false, written)
		}
		k += n
	}
	if k != f.last+1 || len(kept) != len(parsed) {
		// A message whose labels repeat an earlier one's: the text has
		// the lines the plan kept of both as one metric.
		return seriesView(mf.GetMetric(), parsed, false, written)
	}
	for i, m := range kept {
		p := parsed[i]
		p.Counter, p.Gauge, p.Untyped, p.Summary, p.Histogram = m.Counter, m.Gauge, m.Untyped, m.Summary, m.Histogram
		p.TimestampMs = timestamp(m)
		if !protobuf || !nativeHistogram(m.Histogram) {
			p.Histogram = sc.keptBuckets(at[i], m.Histogram)
		}
		p.Summary = sc.keptQuantiles(at[i], m.Summary)
	}
	return nil, true
}

// fromText is restore of family fi when its text carries all of it that
// Prometheus reads but created timestamps, metric by metric
// (carriedLines), so that its message need not be decoded: carried tells
// whether it does, and match whether the metrics the plan kept are those
// parsed, which then get their created timestamps from the wire.
func (s *origin) fromText(fi int32, parsed []*dto.Metric) (carried, match bool) {
	msg, fam := s.proto[fi].msg, &s.sc.fams[fi]
	var f wireFamily
	f.read(msg)
	k, starts := fam.first, false
	s.starts = s.starts[:0] // of the kept metrics
	match = true
	for m := range messages(msg, 4) {
		lines, start, ok := carriedLines(f.typ, m.b)
		if !ok {
			return false, false
		}
		switch {
		case k > fam.last:
			match = false
		case s.sc.samples[k].flags&flagDrop == 0:
			s.starts = append(s.starts, start)
			starts = starts || start.set
		case !s.sc.allDropped(k, min(k+int32(lines), fam.last+1)):
			match = false // the text has the rest of it in an earlier metric of its labels
		}
		k += int32(lines)
	}
	if match = match && k == fam.last+1 && len(s.starts) == len(parsed); match && starts {
		for i, start := range s.starts {
			start.setOn(parsed[i], f.typ)
		}
	}
	// Unmatched, the text's values stand, but not its created timestamps:
	// those the decoded family gives (seriesView).
	return match || !starts, match
}

// wholeFloat is the largest count every whole number up to which a float64
// holds, and so the text.
const wholeFloat = 1 << 53

// carriedLines is how many lines the text of metric message msg, of a
// family of type typ, has (as textLines), and whether they carry all of it
// that Prometheus reads but its created timestamp (start): a gauge,
// untyped, counter, summary or classic histogram, with no exemplar, float
// count, native part or field of any other kind; counts that are whole
// numbers in a float64 (up to 2^53); quantiles and bucket bounds in
// increasing order (Prometheus' protobuf parser reads no bucket past
// +Inf, the text parser does); and no NaN but the one the text's "NaN" is
// read as.
func carriedLines(typ dto.MetricType, msg []byte) (lines int, start wireTime, ok bool) {
	nan := math.Float64bits(math.NaN())
	float := func(w wireField) bool {
		return w.typ == protowire.Fixed64Type && (!math.IsNaN(math.Float64frombits(w.v)) || w.v == nan)
	}
	created := createdField(typ)
	switch typ {
	case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
		for v := range messages(msg, valueField(typ)) {
			for b := v.b; len(b) > 0; {
				var w wireField
				switch w, b = nextField(b); {
				case w.num == 1 && float(w):
				case created != 0 && w.is(created, protowire.BytesType) && start.read(w.b):
				default:
					return 0, start, false
				}
			}
		}
		return 1, start, true
	case dto.MetricType_SUMMARY, dto.MetricType_HISTOGRAM:
		const list = 3 // the quantiles or buckets
		n, last := 0, math.Inf(-1)
		for v := range messages(msg, valueField(typ)) {
			for b := v.b; len(b) > 0; {
				var w wireField
				switch w, b = nextField(b); {
				case w.is(1, protowire.VarintType) && w.v <= wholeFloat, w.num == 2 && float(w):
				case w.is(list, protowire.BytesType):
					bound, ok := listed(typ, w.b, float)
					if !ok || !(bound > last) {
						return 0, start, false
					}
					n, last = n+1, bound
				case w.is(created, protowire.BytesType) && start.read(w.b):
				default:
					return 0, start, false
				}
			}
		}
		if typ == dto.MetricType_HISTOGRAM && !math.IsInf(last, 1) {
			n++ // the +Inf bucket the text adds
		}
		return n + 2, start, true
	}
	return 0, start, false
}

// createdField is the field of the created timestamp in the value message
// of a family of type typ; 0 for none.
func createdField(typ dto.MetricType) protowire.Number {
	switch typ {
	case dto.MetricType_COUNTER:
		return 3
	case dto.MetricType_SUMMARY:
		return 4
	case dto.MetricType_HISTOGRAM:
		return 15
	}
	return 0
}

// setOn gives t, if set, to metric p of a family of type typ as its
// created timestamp.
func (t wireTime) setOn(p *dto.Metric, typ dto.MetricType) {
	if !t.set {
		return
	}
	ts := &timestamppb.Timestamp{Seconds: t.seconds, Nanos: t.nanos}
	switch typ {
	case dto.MetricType_COUNTER:
		p.Counter.CreatedTimestamp = ts
	case dto.MetricType_SUMMARY:
		p.Summary.CreatedTimestamp = ts
	case dto.MetricType_HISTOGRAM:
		p.Histogram.CreatedTimestamp = ts
	}
}

// wireTime is a google.protobuf.Timestamp read on the wire.
type wireTime struct {
	seconds int64
	nanos   int32
	set     bool
}

// read reads Timestamp message msg into t as protobuf-go would (the last
// occurrence of a field counts; a message given twice is the merge of
// both), and tells whether it holds nothing else.
func (t *wireTime) read(msg []byte) bool {
	t.set = true
	for b := msg; len(b) > 0; {
		var w wireField
		switch w, b = nextField(b); {
		case w.is(1, protowire.VarintType):
			t.seconds = int64(w.v)
		case w.is(2, protowire.VarintType):
			t.nanos = int32(w.v)
		default:
			return false
		}
	}
	return true
}

// listed reads a quantile (of a summary) or bucket (of a histogram)
// message for carriedLines: its quantile or bound, and whether the text
// carries it.
func listed(typ dto.MetricType, msg []byte, float func(wireField) bool) (float64, bool) {
	var bound float64
	for b := msg; len(b) > 0; {
		var w wireField
		w, b = nextField(b)
		switch {
		case w.num == 1 && typ == dto.MetricType_SUMMARY && float(w), w.num == 2 && typ == dto.MetricType_HISTOGRAM && float(w):
			bound = math.Float64frombits(w.v)
		case w.num == 2 && typ == dto.MetricType_SUMMARY && float(w), w.is(1, protowire.VarintType) && typ == dto.MetricType_HISTOGRAM && w.v <= wholeFloat:
		default:
			return 0, false
		}
	}
	return bound, true
}

// nativeHistogram tells whether Prometheus reads h as a native histogram
// (as its protobuf parser decides): in protobuf output it then reads no
// classic bucket as a series, and takes exemplars from the buckets, so the
// buckets stay as the source sent them.
func nativeHistogram(h *dto.Histogram) bool {
	return len(h.GetPositiveSpan()) > 0 || len(h.GetNegativeSpan()) > 0 || h.GetZeroThreshold() > 0 || h.GetZeroCount() > 0
}

// keptBuckets is histogram h, whose bucket lines start at sample k, without
// the buckets past +Inf (readBuckets) and those the plan left out:
// duplicates of an earlier bucket (two of one upper bound are one series,
// of which Prometheus keeps the first). h is the source's own message: a
// copy is changed.
func (sc *scanner) keptBuckets(k int32, h *dto.Histogram) *dto.Histogram {
	read := readBuckets(h)
	bb, dropped := keptLines(sc, k, read)
	if !dropped && len(read) == len(h.GetBucket()) {
		return h
	}
	h = proto.Clone(h).(*dto.Histogram)
	h.Bucket = bb
	return h
}

// allDropped tells whether the plan left out every sample from k to end
// (not included).
func (sc *scanner) allDropped(k, end int32) bool {
	for ; k < end; k++ {
		if sc.samples[k].flags&flagDrop == 0 {
			return false
		}
	}
	return true
}

// readBuckets is h's buckets up to the first +Inf one, those Prometheus'
// protobuf parser reads, and the text has lines for.
func readBuckets(h *dto.Histogram) []*dto.Bucket {
	bb := h.GetBucket()
	if i := slices.IndexFunc(bb, func(b *dto.Bucket) bool { return math.IsInf(b.GetUpperBound(), 1) }); i >= 0 {
		return bb[:i+1]
	}
	return bb
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
