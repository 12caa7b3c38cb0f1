package exposition

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
)

// wireMetric is what the checks and the text read of a Metric message in
// one pass: of its value messages, the merge of each one's occurrences.
type wireMetric struct {
	msg   []byte
	has   uint8   // bit n for each value field n it has (2 to 7)
	ts    int64   // 0 when it has none (Prometheus reads 0 as none)
	value float64 // a counter's, gauge's or untyped's: the family type's
	count uint64  // a summary's
	sum   float64 // a summary's
	h     wireHistogram
}

// wireHistogram is what the checks and the text read of a Histogram.
type wireHistogram struct {
	count, zeroCount              uint64
	countFloat, sum               float64
	zeroThreshold, zeroCountFloat float64
	schema                        int32
	pos, neg                      wireSide
}

// wireSide is one side of a native histogram as Prometheus' TSDB checks
// it: its spans, its buckets of each kind (an integer histogram's deltas,
// a float histogram's counts), and of each kind whether a count is below 0
// or 0 (which makes the parser's Compact rework the side).
type wireSide struct {
	spans, length           int // the spans; their lengths summed
	deltas, counts          int
	last                    int64  // of the deltas, the last count
	total                   uint64 // and the counts summed
	intBelow0, intEmpty     bool
	floatBelow0, floatEmpty bool
}

// delta adds an integer bucket's delta d.
func (s *wireSide) delta(d int64) {
	s.deltas++
	s.last += d
	s.intBelow0 = s.intBelow0 || s.last < 0
	s.intEmpty = s.intEmpty || s.last == 0
	s.total += uint64(s.last)
}

// deltaList adds a packed list of deltas.
func (s *wireSide) deltaList(b []byte) {
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return // the wire check refuses it
		}
		s.delta(protowire.DecodeZigZag(v))
		b = b[n:]
	}
}

// count adds a float bucket's count f.
func (s *wireSide) count(f float64) {
	s.counts++
	s.floatBelow0 = s.floatBelow0 || f < 0
	s.floatEmpty = s.floatEmpty || f == 0
}

// countList adds a packed list of float counts.
func (s *wireSide) countList(b []byte) {
	for ; len(b) >= 8; b = b[8:] {
		s.count(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	}
}

// span adds a BucketSpan message.
func (s *wireSide) span(msg []byte) {
	_, n := wireSpan(msg)
	s.spans++
	s.length += int(n)
}

// read reads metric msg of a family of type typ.
func (m *wireMetric) read(msg []byte, typ dto.MetricType) {
	*m = wireMetric{msg: msg}
	var value protowire.Number // the field of typ's single value
	switch typ {
	case dto.MetricType_COUNTER:
		value = 3
	case dto.MetricType_GAUGE:
		value = 2
	case dto.MetricType_UNTYPED:
		value = 5
	}
	for b := msg; len(b) > 0; {
		var w wireField
		w, b = nextField(b)
		if w.is(6, protowire.VarintType) {
			m.ts = int64(w.v)
			continue
		}
		if w.typ != protowire.BytesType || w.num < 2 || w.num > 7 || w.num == 6 {
			continue
		}
		m.has |= 1 << w.num
		switch w.num {
		case value:
			for v := w.b; len(v) > 0; {
				var x wireField
				if x, v = nextField(v); x.is(1, protowire.Fixed64Type) {
					m.value = math.Float64frombits(x.v)
				}
			}
		case 4:
			for v := w.b; len(v) > 0; {
				var x wireField
				switch x, v = nextField(v); {
				case x.is(1, protowire.VarintType):
					m.count = x.v
				case x.is(2, protowire.Fixed64Type):
					m.sum = math.Float64frombits(x.v)
				}
			}
		case 7:
			m.h.read(w.b)
		}
	}
}

// read reads one occurrence of a histogram into h.
func (h *wireHistogram) read(msg []byte) {
	for b := msg; len(b) > 0; {
		var w wireField
		w, b = nextField(b)
		f := math.Float64frombits(w.v)
		switch w.typ {
		case protowire.VarintType:
			switch w.num {
			case 1:
				h.count = w.v
			case 5:
				h.schema = int32(protowire.DecodeZigZag(w.v & math.MaxUint32))
			case 7:
				h.zeroCount = w.v
			case 10:
				h.neg.delta(protowire.DecodeZigZag(w.v))
			case 13:
				h.pos.delta(protowire.DecodeZigZag(w.v))
			}
		case protowire.Fixed64Type:
			switch w.num {
			case 2:
				h.sum = f
			case 4:
				h.countFloat = f
			case 6:
				h.zeroThreshold = f
			case 8:
				h.zeroCountFloat = f
			case 11:
				h.neg.count(f)
			case 14:
				h.pos.count(f)
			}
		case protowire.BytesType:
			switch w.num {
			case 9:
				h.neg.span(w.b)
			case 12:
				h.pos.span(w.b)
			case 10:
				h.neg.deltaList(w.b)
			case 13:
				h.pos.deltaList(w.b)
			case 11:
				h.neg.countList(w.b)
			case 14:
				h.pos.countList(w.b)
			}
		}
	}
}

// protoText writes families as expfmt.MetricFamilyToText writes them
// decoded, byte for byte, but for a timestamp of 0, which it leaves out
// as Prometheus reads it. Its slices are reused from family to family.
type protoText struct {
	out    []byte // a metric's lines
	labels []byte // the metric's labels, as each of its lines has them
	m      wireMetric
}

func (t *protoText) family(dst *bytes.Buffer, f *wireFamily) {
	bare := legacyName(f.name)
	out := t.out[:0]
	if f.hasHelp {
		out = appendTextName(append(out, "# HELP "...), f.name, bare)
		out = append(appendHelp(append(out, ' '), f.help), '\n')
	}
	out = appendTextName(append(out, "# TYPE "...), f.name, bare)
	switch f.typ {
	case dto.MetricType_COUNTER:
		out = append(out, " counter\n"...)
	case dto.MetricType_GAUGE:
		out = append(out, " gauge\n"...)
	case dto.MetricType_SUMMARY:
		out = append(out, " summary\n"...)
	case dto.MetricType_UNTYPED:
		out = append(out, " untyped\n"...)
	default: // histograms, gauge ones too (checkValues refused the others)
		out = append(out, " histogram\n"...)
	}
	for w := range messages(f.msg, 4) {
		m := &t.m
		m.read(w.b, f.typ)
		t.readLabels()
		switch f.typ {
		case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
			out = t.sample(out, f, bare, "", "", 0, m.value)
		case dto.MetricType_SUMMARY:
			out = t.quantiles(out, f, bare)
			out = t.sample(out, f, bare, "_sum", "", 0, m.sum)
			out = t.sample(out, f, bare, "_count", "", 0, float64(m.count))
		default:
			out = t.buckets(out, f, bare)
			out = t.sample(out, f, bare, "_sum", "", 0, m.h.sum)
			out = t.sample(out, f, bare, "_count", "", 0, m.h.countValue())
		}
		dst.Write(out)
		out = out[:0]
	}
	dst.Write(out)
	t.out = out
}

// countValue is the histogram's count as the text has it.
func (h *wireHistogram) countValue() float64 {
	if h.countFloat != 0 {
		return h.countFloat
	}
	return float64(h.count)
}

// readLabels writes the metric's labels for its lines.
func (t *protoText) readLabels() {
	t.labels = t.labels[:0]
	for w := range messages(t.m.msg, 1) {
		if len(t.labels) > 0 {
			t.labels = append(t.labels, ',')
		}
		name, value := wireLabel(w.b)
		t.labels = append(appendTextName(t.labels, name, legacyName(name)), '=', '"')
		t.labels = append(appendEscaped(t.labels, value), '"')
	}
}

// quantiles writes the metric's quantile lines.
func (t *protoText) quantiles(out []byte, f *wireFamily, bare bool) []byte {
	for w := range messages(t.m.msg, 4) {
		for x := range messages(w.b, 3) {
			var q, v float64
			for y := x.b; len(y) > 0; {
				var z wireField
				switch z, y = nextField(y); {
				case z.is(1, protowire.Fixed64Type):
					q = math.Float64frombits(z.v)
				case z.is(2, protowire.Fixed64Type):
					v = math.Float64frombits(z.v)
				}
			}
			out = t.sample(out, f, bare, "", "quantile", q, v)
		}
	}
	return out
}

// buckets writes the metric's bucket lines, with the +Inf bucket expfmt
// adds when there is none, and none past the +Inf bucket, where
// Prometheus' protobuf parser stops reading (expfmt writes them).
func (t *protoText) buckets(out []byte, f *wireFamily, bare bool) []byte {
	inf := false
	for w := range messages(t.m.msg, 7) {
		for x := range messages(w.b, 3) {
			if inf {
				return out
			}
			var count uint64
			var countFloat, bound float64
			for y := x.b; len(y) > 0; {
				var z wireField
				switch z, y = nextField(y); {
				case z.is(1, protowire.VarintType):
					count = z.v
				case z.is(2, protowire.Fixed64Type):
					bound = math.Float64frombits(z.v)
				case z.is(4, protowire.Fixed64Type):
					countFloat = math.Float64frombits(z.v)
				}
			}
			v := countFloat
			if v == 0 {
				v = float64(count)
			}
			out = t.sample(out, f, bare, "_bucket", "le", bound, v)
			inf = inf || math.IsInf(bound, 1)
		}
	}
	if !inf {
		out = t.sample(out, f, bare, "_bucket", "le", math.Inf(1), t.m.h.countValue())
	}
	return out
}

// sample writes one line as expfmt's writeSample does: the name with
// suffix, the metric's labels and the extra one (le, quantile), the value
// and the metric's timestamp. A name that is not legacy goes in the
// braces, quoted.
func (t *protoText) sample(out []byte, f *wireFamily, bare bool, suffix, extra string, extraValue, value float64) []byte {
	braces := len(t.labels) > 0 || extra != ""
	if bare {
		out = append(append(out, f.name...), suffix...)
		if braces {
			out = append(out, '{')
		}
	} else {
		out = append(appendEscaped(append(out, '{', '"'), f.name), suffix...)
		out = append(out, '"')
		if braces {
			out = append(out, ',')
		}
	}
	out = append(out, t.labels...)
	if extra != "" {
		if len(t.labels) > 0 {
			out = append(out, ',')
		}
		out = append(appendTextFloat(append(append(out, extra...), '=', '"'), extraValue), '"')
	}
	if braces || !bare {
		out = append(out, '}')
	}
	out = appendTextFloat(append(out, ' '), value)
	if t.m.ts != 0 { // Prometheus' protobuf parser reads a timestamp of 0 as none
		out = strconv.AppendInt(append(out, ' '), t.m.ts, 10)
	}
	return append(out, '\n')
}

// appendTextName appends a name as expfmt's text writer does: as it is if
// bare (legacy), quoted otherwise.
func appendTextName(out, name []byte, bare bool) []byte {
	if bare {
		return append(out, name...)
	}
	return append(appendEscaped(append(out, '"'), name), '"')
}

// appendHelp appends HELP text escaped for text 0.0.4 (quotes stay).
func appendHelp(out, help []byte) []byte {
	for _, c := range help {
		switch c {
		case '\\':
			out = append(out, '\\', '\\')
		case '\n':
			out = append(out, '\\', 'n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// appendTextFloat appends f as expfmt's writeFloat writes it.
func appendTextFloat(out []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(out, '1')
	case f == 0:
		return append(out, '0')
	case f == -1:
		return append(out, "-1"...)
	case math.IsNaN(f):
		return append(out, "NaN"...)
	case math.IsInf(f, 1):
		return append(out, "+Inf"...)
	case math.IsInf(f, -1):
		return append(out, "-Inf"...)
	}
	return strconv.AppendFloat(out, f, 'g', -1, 64)
}
