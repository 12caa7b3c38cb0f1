package exposition

// The decoding path readProto replaced, kept as the reference it is held
// to (TestProtoText, FuzzProtoText) and as the tests' reader of protobuf
// output.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"
)

// decodeProto decodes every family of a delimited protobuf body, checks it
// as expfmt's decoder does (names and label values) and hands it to fn. The
// family passed to fn is fresh for each call. Each length prefix is held to
// the bytes that are left before anything is decoded or allocated: a
// hostile prefix fails the body, it never makes corral allocate past it.
func decodeProto(body []byte, fn func(*dto.MetricFamily) error) error {
	return eachProto(body, func(mf *dto.MetricFamily, _ []byte) error { return fn(mf) })
}

// eachProto is decodeProto that hands fn each family's message too (a slice
// of body).
func eachProto(body []byte, fn func(mf *dto.MetricFamily, msg []byte) error) error {
	seen := map[string]bool{}
	for i := 1; len(body) > 0; i++ {
		n, k := protowire.ConsumeVarint(body)
		if k < 0 {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: bad length prefix", i)}
		}
		if n > uint64(len(body)-k) {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: length %d runs past the end of the body (%d bytes left)", i, n, len(body)-k)}
		}
		if err := checkWire(body[k:k+int(n)], familyDescriptor); err != nil {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, err)}
		}
		mf, msg := &dto.MetricFamily{}, body[k:k+int(n):k+int(n)]
		if err := unmarshalFamily(msg, mf); err != nil {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, err), Stricter: StricterProtoEncoding}
		}
		body = body[k+int(n):]
		if len(mf.GetMetric()) == 0 {
			continue // Prometheus reads nothing of a family without metrics, nor checks it
		}
		if err := refCheckNames(mf); err != nil {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, err)}
		}
		if err := refCheckFamily(mf); err != nil {
			pe := &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, err)}
			if errors.Is(err, errTypeValue) {
				pe.Stricter = StricterProtoValue
			}
			return pe
		}
		if seen[mf.GetName()] {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: family %q again, after an earlier message", i, mf.GetName()), Stricter: StricterMetaTwice}
		}
		seen[mf.GetName()] = true
		if err := fn(mf, msg); err != nil {
			return err
		}
	}
	return nil
}

// refCheckNames holds mf's names, HELP and label values to what expfmt's
// decoder takes without escaping, and Prometheus' parser takes: UTF-8.
func refCheckNames(mf *dto.MetricFamily) error {
	if !model.UTF8Validation.IsValidMetricName(mf.GetName()) {
		return fmt.Errorf("invalid metric name %q", mf.GetName())
	}
	if !utf8.ValidString(mf.GetHelp()) {
		return fmt.Errorf("HELP of %q is not valid UTF-8", mf.GetName())
	}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l == nil {
				continue
			}
			if !model.LabelValue(l.GetValue()).IsValid() {
				return fmt.Errorf("invalid label value %q", l.GetValue())
			}
			if !model.UTF8Validation.IsValidLabelName(l.GetName()) {
				return fmt.Errorf("invalid label name %q", l.GetName())
			}
		}
	}
	return nil
}

// refCheckFamily verifies that every metric of mf carries the value its type
// promises.
func refCheckFamily(mf *dto.MetricFamily) error {
	afterNative := false
	for _, m := range mf.GetMetric() {
		if m == nil {
			return fmt.Errorf("family %q: empty metric", mf.GetName())
		}
		ok := false
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			ok = m.Counter != nil
		case dto.MetricType_GAUGE:
			ok = m.Gauge != nil
		case dto.MetricType_SUMMARY:
			ok = m.Summary != nil
		case dto.MetricType_UNTYPED:
			ok = m.Untyped != nil
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			ok = m.Histogram != nil
		default:
			return fmt.Errorf("family %q: unknown metric type %d", mf.GetName(), mf.GetType())
		}
		if !ok {
			return fmt.Errorf("family %q of type %s: metric without a %s value (%w)", mf.GetName(), mf.GetType(), mf.GetType(), errTypeValue)
		}
		if histogram := mf.GetType() == dto.MetricType_HISTOGRAM || mf.GetType() == dto.MetricType_GAUGE_HISTOGRAM; !histogram {
			continue // Prometheus reads no histogram of another type's metric
		}
		if err := refCheckSpans(m.Histogram, afterNative); err != nil {
			return fmt.Errorf("family %q: native histogram: %w", mf.GetName(), err)
		}
		afterNative = refNative(m.Histogram)
	}
	return nil
}

// refNative tells whether h is a native histogram: one with spans, a zero
// threshold above 0 or a zero count.
func refNative(h *dto.Histogram) bool {
	return len(h.GetPositiveSpan()) > 0 || len(h.GetNegativeSpan()) > 0 || h.GetZeroThreshold() > 0 || h.GetZeroCount() > 0
}

// refCheckSpans verifies native histogram h as checkNative does, from the
// decoded message: its spans against its buckets (after a native histogram,
// afterNative, once compacted), its compacted spans (refCompact) as
// Prometheus' TSDB checks them, and its counts.
func refCheckSpans(h *dto.Histogram, afterNative bool) error {
	if !refNative(h) {
		return nil
	}
	if s := h.GetSchema(); (s < -4 || s > 8) && s != -53 {
		return fmt.Errorf("schema %d, neither exponential (-4 to 8) nor custom buckets (-53)", s)
	}
	float := h.GetSampleCountFloat() > 0 || h.GetZeroCountFloat() > 0 || len(h.GetPositiveCount()) > 0 || len(h.GetNegativeCount()) > 0
	// Each side's bucket counts, integer or float, as absolute values.
	// After a native histogram, whose spans the parser does not compare
	// with its buckets, a side whose spans describe no bucket loses them
	// all in the parser's Compact(0) when it has a span or an empty bucket
	// to rework.
	sides := []struct {
		name   string
		spans  []*dto.BucketSpan
		ints   []int64   // an integer histogram's counts
		counts []float64 // the counts of either kind
	}{
		{"positive", h.GetPositiveSpan(), absolute(h.GetPositiveDelta()), nil},
		{"negative", h.GetNegativeSpan(), absolute(h.GetNegativeDelta()), nil},
	}
	for i := range sides {
		for _, c := range sides[i].ints {
			sides[i].counts = append(sides[i].counts, float64(c)) // exact in sign and in being 0
		}
	}
	if float {
		sides[0].counts, sides[1].counts = h.GetPositiveCount(), h.GetNegativeCount()
	}
	for i, side := range sides {
		total := 0
		for _, sp := range side.spans {
			total += int(sp.GetLength())
		}
		if afterNative && total == 0 && (len(side.spans) > 0 || slices.Contains(side.counts, 0)) {
			sides[i].ints, sides[i].counts = nil, nil
		} else if total != len(side.counts) {
			return fmt.Errorf("%s spans describe %d buckets, it has %d", side.name, total, len(side.counts))
		}
	}
	custom := h.GetSchema() == -53
	if custom {
		zero := h.GetZeroCount() != 0
		if float {
			zero = h.GetZeroCountFloat() != 0
		}
		if zero || h.GetZeroThreshold() != 0 {
			return errors.New("custom buckets with a zero bucket")
		}
	}
	for _, side := range sides {
		var empty []bool
		for _, c := range side.counts {
			empty = append(empty, c == 0)
		}
		spans := refCompact(side.spans, empty)
		if custom && (side.name == "negative" && len(spans) > 0 || len(spans) > 1 || len(spans) == 1 && (spans[0][0] != 0 || spans[0][1] != 1)) {
			return fmt.Errorf("%s side: %w: custom buckets at %v", side.name, errPlaces, spans)
		}
		var end int64
		for n, sp := range spans {
			if n > 0 && sp[0] < 0 || n == 0 && sp[0] == math.MinInt32 {
				return fmt.Errorf("%s side: %w: span %d with offset %d", side.name, errPlaces, n+1, sp[0])
			}
			if end += int64(sp[0]) + int64(sp[1]); end-1 > math.MaxInt32 {
				return fmt.Errorf("%s side: %w: span %d ends past index %d", side.name, errPlaces, n+1, math.MaxInt32)
			}
		}
	}
	counts := append(slices.Clone(sides[0].counts), sides[1].counts...)
	if slices.ContainsFunc(counts, func(c float64) bool { return c < 0 }) {
		if float {
			return errors.New("a count below 0")
		}
		return errors.New("a bucket's count below 0")
	}
	if float {
		if h.GetZeroCountFloat() < 0 || h.GetSampleCountFloat() < 0 {
			return errors.New("a count below 0")
		}
		return nil
	}
	n := h.GetZeroCount()
	for _, c := range append(sides[0].ints, sides[1].ints...) {
		n += uint64(c)
	}
	if math.IsNaN(h.GetSampleSum()) && n > h.GetSampleCount() || !math.IsNaN(h.GetSampleSum()) && n != h.GetSampleCount() {
		return fmt.Errorf("%d observations in its buckets, a count of %d", n, h.GetSampleCount())
	}
	return nil
}

// absolute is an integer histogram side's deltas as counts.
func absolute(deltas []int64) []int64 {
	var c int64
	counts := make([]int64, len(deltas))
	for i, d := range deltas {
		c += d
		counts[i] = c
	}
	return counts
}

// refCompact is spans (which describe len(empty) buckets) as Prometheus'
// Compact(0) leaves them, as {offset, length} pairs: every empty bucket
// cut out, and a span for each run of buckets left that stood side by side
// in one span, its offset from the end of the span before it (int32, as
// the sums of offsets wrap).
func refCompact(spans []*dto.BucketSpan, empty []bool) [][2]int32 {
	var out [][2]int32
	var idx, end int64 // the next bucket's index; where the last span left ends
	b, run := 0, false
	for _, sp := range spans {
		idx += int64(sp.GetOffset())
		run = run && sp.GetOffset() == 0 // a span of offset 0 goes on the one before
		for range sp.GetLength() {
			if empty[b] {
				run = false
			} else if run {
				out[len(out)-1][1]++
			} else {
				out = append(out, [2]int32{int32(idx - end), 1})
				run = true
			}
			if !empty[b] {
				end = idx + 1
			}
			b++
			idx++
		}
	}
	return out
}
