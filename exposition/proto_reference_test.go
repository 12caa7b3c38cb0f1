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
		if err := refCheckSpans(m.Histogram); err != nil {
			return fmt.Errorf("family %q: native histogram: %w", mf.GetName(), err)
		}
	}
	return nil
}

// refCheckSpans verifies native histogram h (one with spans, a zero
// threshold or a zero count) as checkNative does, from the decoded message:
// its spans against its buckets, its compacted spans (refCompact) as
// Prometheus' TSDB checks them, and its counts.
func refCheckSpans(h *dto.Histogram) error {
	if h == nil || len(h.GetPositiveSpan()) == 0 && len(h.GetNegativeSpan()) == 0 && !(h.GetZeroThreshold() > 0) && h.GetZeroCount() == 0 {
		return nil
	}
	if s := h.GetSchema(); (s < -4 || s > 8) && s != -53 {
		return fmt.Errorf("schema %d, neither exponential (-4 to 8) nor custom buckets (-53)", s)
	}
	float := h.GetSampleCountFloat() > 0 || h.GetZeroCountFloat() > 0 || len(h.GetPositiveCount()) > 0 || len(h.GetNegativeCount()) > 0
	for _, side := range []struct {
		name    string
		spans   []*dto.BucketSpan
		buckets int
	}{
		{"positive", h.GetPositiveSpan(), len(h.GetPositiveDelta())},
		{"negative", h.GetNegativeSpan(), len(h.GetNegativeDelta())},
	} {
		if float {
			side.buckets = len(h.GetPositiveCount())
			if side.name == "negative" {
				side.buckets = len(h.GetNegativeCount())
			}
		}
		total := 0
		for _, sp := range side.spans {
			total += int(sp.GetLength())
		}
		if total != side.buckets {
			return fmt.Errorf("%s spans describe %d buckets, it has %d", side.name, total, side.buckets)
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
	for _, side := range []struct {
		name   string
		spans  []*dto.BucketSpan
		deltas []int64
		counts []float64
	}{
		{"positive", h.GetPositiveSpan(), h.GetPositiveDelta(), h.GetPositiveCount()},
		{"negative", h.GetNegativeSpan(), h.GetNegativeDelta(), h.GetNegativeCount()},
	} {
		var empty []bool
		var c int64
		for _, d := range side.deltas {
			c += d
			empty = append(empty, c == 0)
		}
		if float {
			empty = empty[:0]
			for _, v := range side.counts {
				empty = append(empty, v == 0)
			}
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
	if float {
		counts := append(slices.Clone(h.GetPositiveCount()), h.GetNegativeCount()...)
		if slices.ContainsFunc(counts, func(c float64) bool { return c < 0 }) || h.GetZeroCountFloat() < 0 || h.GetSampleCountFloat() < 0 {
			return errors.New("a count below 0")
		}
		return nil
	}
	var n uint64
	for _, deltas := range [][]int64{h.GetPositiveDelta(), h.GetNegativeDelta()} {
		var c int64
		for _, d := range deltas {
			if c += d; c < 0 {
				return errors.New("a bucket's count below 0")
			}
			n += uint64(c)
		}
	}
	n += h.GetZeroCount()
	if math.IsNaN(h.GetSampleSum()) && n > h.GetSampleCount() || !math.IsNaN(h.GetSampleSum()) && n != h.GetSampleCount() {
		return fmt.Errorf("%d observations in its buckets, a count of %d", n, h.GetSampleCount())
	}
	return nil
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
