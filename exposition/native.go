package exposition

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The checks of a protobuf native histogram that Prometheus' scrape makes
// beyond its parser: its TSDB refuses a histogram (Histogram.Validate)
// whose counts or bucket places are wrong, and with it the whole scrape,
// so a merged answer carrying one would be refused whole.

// native tells whether Prometheus reads metric m's histogram as native:
// it has spans, a zero threshold above 0 (which NaN is not) or a zero
// count.
func (m *wireMetric) native() bool {
	h := &m.h
	return h.pos.spans > 0 || h.neg.spans > 0 || h.zeroThreshold > 0 || h.zeroCount > 0
}

// checkNative verifies metric m's native histogram as Prometheus does: its
// protobuf parser refuses the scrape when the spans describe another
// number of buckets than a side has (but for a native histogram after
// another in its family, afterNative, whose spans it does not compare),
// and its TSDB, once the parser has compacted the histogram, when the
// spans and buckets left differ in number, the schema is none it knows, a
// count is below 0, in an integer histogram the buckets and zero bucket
// do not add up to the count (at most the count, with a NaN sum), or the
// buckets do not stand where checkPlaces says. A merged answer carrying
// it would be refused whole.
func (m *wireMetric) checkNative(afterNative bool) error {
	if !m.native() {
		return nil
	}
	h := &m.h
	custom := h.schema == -53
	if (h.schema < -4 || h.schema > 8) && !custom {
		return fmt.Errorf("schema %d, neither exponential (-4 to 8) nor custom buckets (-53)", h.schema)
	}
	float := h.countFloat > 0 || h.zeroCountFloat > 0 || h.pos.counts > 0 || h.neg.counts > 0
	pos, neg := h.pos.compacted(float, afterNative), h.neg.compacted(float, afterNative)
	if h.pos.length != pos.buckets {
		return fmt.Errorf("positive spans describe %d buckets, it has %d", h.pos.length, pos.buckets)
	}
	if h.neg.length != neg.buckets {
		return fmt.Errorf("negative spans describe %d buckets, it has %d", h.neg.length, neg.buckets)
	}
	if custom {
		zero := h.zeroCount
		if float {
			zero = 0
			if h.zeroCountFloat != 0 {
				zero = 1
			}
		}
		if zero != 0 || h.zeroThreshold != 0 {
			return errors.New("custom buckets with a zero bucket")
		}
	}
	if err := m.checkPlaces(true, float, custom); err != nil {
		return fmt.Errorf("positive side: %w", err)
	}
	if err := m.checkPlaces(false, float, custom); err != nil {
		return fmt.Errorf("negative side: %w", err)
	}
	if float {
		if pos.below0 || neg.below0 || h.zeroCountFloat < 0 || h.countFloat < 0 {
			return errors.New("a count below 0")
		}
		return nil
	}
	if pos.below0 || neg.below0 {
		return errors.New("a bucket's count below 0")
	}
	n := pos.total + neg.total + h.zeroCount
	if n != h.count && (!math.IsNaN(h.sum) || n > h.count) {
		return fmt.Errorf("%d observations in its buckets, a count of %d", n, h.count)
	}
	return nil
}

// compactedSide is one side of a native histogram as the parser's
// Compact leaves it: its buckets, whether a count is below 0, and (of an
// integer histogram) the counts summed.
type compactedSide struct {
	buckets int
	below0  bool
	total   uint64
}

// compacted is side s of an integer or float histogram as Compact(0)
// leaves it for the TSDB to check. Where the parser has not compared its
// spans with its buckets (unchecked), Compact drops every bucket of a side
// whose spans describe none when it reworks the side at all: when it has
// a span (of length 0) or an empty bucket.
func (s *wireSide) compacted(float, unchecked bool) compactedSide {
	c := compactedSide{buckets: s.deltas, below0: s.intBelow0, total: s.total}
	empty := s.intEmpty
	if float {
		c, empty = compactedSide{buckets: s.counts, below0: s.floatBelow0}, s.floatEmpty
	}
	if unchecked && s.length == 0 && (s.spans > 0 || empty) {
		return compactedSide{}
	}
	return c
}

// checkPlaces checks where the buckets of one side of m's native
// histogram stand, as Prometheus' TSDB does on the spans its parser has
// compacted (Compact(0): every empty bucket cut out, the offsets, int32,
// adding up what was cut). Each bucket that is not empty must stand past
// the one before it, and the first not at index MinInt32 nor any past
// MaxInt32. With custom buckets (of which the parser reads no bounds),
// the negative side has none that is not empty, and the positive side at
// most one, at index 0. The spans describe as many buckets as the side
// has (checkNative has checked).
func (m *wireMetric) checkPlaces(positive, float, custom bool) error {
	spanNum, valueNum, typ := protowire.Number(9), protowire.Number(10), protowire.VarintType
	if positive {
		spanNum, valueNum = 12, 13
	}
	if float {
		valueNum, typ = valueNum+1, protowire.Fixed64Type
	}
	spans := histogramField{metric: m.msg, num: spanNum, typ: protowire.BytesType}
	values := histogramField{metric: m.msg, num: valueNum, typ: typ}
	var (
		idx, prev int64 // the next bucket's index; the last full bucket's
		count     int64 // an integer side's count so far (its buckets are deltas)
		end       int64 // the compacted spans' offsets and lengths, summed
		full      int   // buckets not empty so far
	)
	for sp, ok := spans.next(); ok; sp, ok = spans.next() {
		offset, length := wireSpan(sp.b)
		idx += int64(offset)
		for range length {
			v, ok := values.next()
			if !ok {
				return nil
			}
			empty := math.Float64frombits(v.v) == 0
			if !float {
				count += protowire.DecodeZigZag(v.v)
				empty = count == 0
			}
			if !empty {
				d := int32(idx - prev - 1) // the compacted offset before it
				if full == 0 {
					d = int32(idx)
				}
				switch {
				case custom && (!positive || full > 0 || d != 0):
					return fmt.Errorf("%w: custom buckets: a bucket at index %d", errPlaces, idx)
				case full == 0 && d == math.MinInt32:
					return fmt.Errorf("%w: a bucket at index %d", errPlaces, d)
				case full > 0 && d < 0:
					return fmt.Errorf("%w: a bucket at index %d, not past the one before it (%d)", errPlaces, idx, prev)
				}
				if end += int64(d) + 1; end-1 > math.MaxInt32 {
					return fmt.Errorf("%w: a bucket past index %d", errPlaces, math.MaxInt32)
				}
				prev, full = idx, full+1
			}
			idx++
		}
	}
	return nil
}

// errPlaces is checkPlaces' error.
var errPlaces = errors.New("buckets out of place")

// histogramField reads, in order, the values of one repeated field of a
// metric's histogram, packed or not, across the histogram's occurrences
// (which protobuf merges, repeated fields one after the other).
type histogramField struct {
	metric, hist, packed []byte
	num                  protowire.Number
	typ                  protowire.Type // of one value, unpacked
}

// next gives the next value; checkWire and goReads have passed the bytes.
func (c *histogramField) next() (wireField, bool) {
	for {
		switch {
		case len(c.packed) > 0:
			w := wireField{num: c.num, typ: c.typ}
			if c.typ == protowire.Fixed64Type {
				if len(c.packed) < 8 {
					return w, false
				}
				w.v, c.packed = binary.LittleEndian.Uint64(c.packed), c.packed[8:]
				return w, true
			}
			v, n := protowire.ConsumeVarint(c.packed)
			if n < 0 {
				return w, false
			}
			w.v, c.packed = v, c.packed[n:]
			return w, true
		case len(c.hist) > 0:
			var w wireField
			w, c.hist = nextField(c.hist)
			if w.num != c.num {
				continue
			}
			if w.typ == c.typ {
				return w, true
			}
			if w.typ == protowire.BytesType {
				c.packed = w.b
			}
		case len(c.metric) > 0:
			var w wireField
			if w, c.metric = nextField(c.metric); w.is(7, protowire.BytesType) {
				c.hist = w.b
			}
		default:
			return wireField{}, false
		}
	}
}

// wireSpan is a BucketSpan message's offset and length.
func wireSpan(msg []byte) (offset int32, length uint32) {
	for b := msg; len(b) > 0; {
		var w wireField
		switch w, b = nextField(b); {
		case w.is(1, protowire.VarintType):
			offset = int32(protowire.DecodeZigZag(w.v & math.MaxUint32))
		case w.is(2, protowire.VarintType):
			length = uint32(w.v)
		}
	}
	return offset, length
}
