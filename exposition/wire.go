package exposition

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// familyDescriptor describes the messages of a protobuf exposition.
var familyDescriptor = (&dto.MetricFamily{}).ProtoReflect().Descriptor()

// Prometheus decodes protobuf with gogo protobuf's generated code (and a
// streaming decoder written like it), corral with protobuf-go. The two
// read malformed wire format differently. checkWire reads a message as
// gogo does, and refuses what gogo refuses: a known field of another wire
// type than its own (which protobuf-go would skip as unknown), a tag of
// field 0 or of the end-group type, a truncated or overflowing varint.
// What gogo reads and protobuf-go then refuses (a field number past
// protobuf's range, a malformed group, an over-long varint, a packed list
// cut mid-element, which gogo reads on past its end) is refused under the
// README's stricter rule (see readProto).

var (
	errWireOverflow = errors.New("proto: integer overflow")
	errWireLength   = errors.New("proto: negative length")
	errWireGroupEnd = errors.New("proto: unexpected end of group")
)

// gogoVarint reads a varint as gogo does: at most ten bytes, the bits past
// 64 dropped.
func gogoVarint(b []byte) (v uint64, n int, err error) {
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, 0, errWireOverflow
		}
		if n >= len(b) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		c := b[n]
		n++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, n, nil
		}
	}
}

// checkWire walks message b of type md, and the messages in it, as gogo
// reads them, and reports the first problem it refuses.
func checkWire(b []byte, md protoreflect.MessageDescriptor) error {
	for i := 0; i < len(b); {
		wire, n, err := gogoVarint(b[i:])
		if err != nil {
			return err
		}
		num, typ := int32(wire>>3), protowire.Type(wire&7)
		if typ == protowire.EndGroupType {
			return fmt.Errorf("proto: %s: end group for non-group", md.Name())
		}
		if num <= 0 {
			return fmt.Errorf("proto: %s: illegal tag %d", md.Name(), num)
		}
		fd := md.Fields().ByNumber(protoreflect.FieldNumber(num))
		if fd == nil {
			k, err := gogoSkip(b[i:])
			if err != nil {
				return err
			}
			if i += k; i > len(b) {
				return io.ErrUnexpectedEOF
			}
			continue
		}
		i += n
		want := wireType(fd.Kind())
		if typ != want && !(fd.IsList() && typ == protowire.BytesType && want != protowire.BytesType) {
			return fmt.Errorf("wrong wire type %d for field %s.%s", typ, md.Name(), fd.Name())
		}
		switch typ {
		case protowire.VarintType:
			_, n, err := gogoVarint(b[i:])
			if err != nil {
				return err
			}
			i += n
		case protowire.Fixed64Type:
			i += 8
		case protowire.Fixed32Type:
			i += 4
		case protowire.BytesType:
			length, n, err := gogoVarint(b[i:])
			if err != nil {
				return err
			}
			if int(length) < 0 || i+n+int(length) < 0 {
				return errWireLength
			}
			i += n
			if i+int(length) > len(b) {
				return io.ErrUnexpectedEOF
			}
			if want != protowire.BytesType { // a packed list
				k, err := gogoPacked(b, i, i+int(length), want)
				if err != nil {
					return err
				}
				i = k
				continue
			}
			if fd.Kind() == protoreflect.MessageKind {
				if err := checkWire(b[i:i+int(length)], fd.Message()); err != nil {
					return err
				}
				if fd == metricLabel {
					if err := checkLabelPair(b[i : i+int(length)]); err != nil {
						return err
					}
				}
			}
			i += int(length)
		}
		if i > len(b) {
			return io.ErrUnexpectedEOF
		}
	}
	return nil
}

// metricLabel is the field of a metric's labels.
var metricLabel = (&dto.Metric{}).ProtoReflect().Descriptor().Fields().ByName("label")

// checkLabelPair holds each name and value a metric's LabelPair message b
// gives to what Prometheus' streaming decoder takes as it reads them: a
// name not empty and UTF-8, a value UTF-8. Protobuf keeps the last of a
// field given twice, but the decoder checks every one (checkWire has
// walked b).
func checkLabelPair(b []byte) error {
	for i := 0; i < len(b); {
		wire, n, _ := gogoVarint(b[i:])
		num, typ := wire>>3, protowire.Type(wire&7)
		if typ != protowire.BytesType || num > 2 {
			k, _ := gogoSkip(b[i:])
			i += k
			continue
		}
		length, k, _ := gogoVarint(b[i+n:])
		v := b[i+n+k : i+n+k+int(length)]
		switch {
		case num == 1 && (len(v) == 0 || !utf8.Valid(v)):
			return fmt.Errorf("invalid label name %q", v)
		case num == 2 && !utf8.Valid(v):
			return fmt.Errorf("invalid label value %q", v)
		}
		i += n + k + int(length)
	}
	return nil
}

// gogoPacked reads the elements of a packed list of wire type typ, from
// b[start:] to end, as gogo does, and gives where it stopped: it reads
// elements while it has not reached end, each of them whole, so that a
// list whose length is not a whole number of its elements (a double list
// of 12 bytes, a varint cut short) is read on past end into the fields
// after it, to the end of the message b at most. protobuf-go refuses such
// a list (readProto's stricter rule, goReads).
func gogoPacked(b []byte, start, end int, typ protowire.Type) (int, error) {
	i := start
	for i < end {
		switch typ {
		case protowire.Fixed64Type:
			i += 8
		case protowire.Fixed32Type:
			i += 4
		default:
			_, n, err := gogoVarint(b[i:])
			if err != nil {
				return 0, err
			}
			i += n
		}
		if i > len(b) {
			return 0, io.ErrUnexpectedEOF
		}
	}
	return i, nil
}

// gogoSkip is the length of the unknown field at the start of b, as gogo
// skips it: a group to its end, whatever the field numbers.
func gogoSkip(b []byte) (int, error) {
	depth := 0
	for i := 0; i < len(b); {
		wire, n, err := gogoVarint(b[i:])
		if err != nil {
			return 0, err
		}
		i += n
		switch protowire.Type(wire & 7) {
		case protowire.VarintType:
			_, n, err := gogoVarint(b[i:])
			if err != nil {
				return 0, err
			}
			i += n
		case protowire.Fixed64Type:
			i += 8
		case protowire.BytesType:
			length, n, err := gogoVarint(b[i:])
			if err != nil {
				return 0, err
			}
			if int(length) < 0 {
				return 0, errWireLength
			}
			if i += n; length > uint64(len(b)-i) {
				return 0, io.ErrUnexpectedEOF // not i += length: it may wrap
			}
			i += int(length)
		case protowire.StartGroupType:
			depth++
		case protowire.EndGroupType:
			if depth == 0 {
				return 0, errWireGroupEnd
			}
			depth--
		case protowire.Fixed32Type:
			i += 4
		default:
			return 0, fmt.Errorf("proto: illegal wire type %d", wire&7)
		}
		if depth == 0 {
			return i, nil
		}
	}
	return 0, io.ErrUnexpectedEOF
}

// wireType is the wire type of a field of kind k.
func wireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.VarintType
}

// errGoDecode is protobuf-go's error for wire format it refuses.
var errGoDecode = errors.New("proto: cannot parse invalid wire-format data")

// goReads tells whether protobuf-go's Unmarshal reads message b of type m
// (its checks, not its decoding): tags of a field number in protobuf's
// range, not ending a group, each value whole; a packed list of whole
// elements; a field of another wire type than its own, or unknown, skipped
// as protowire skips it (a group to its matching end).
func goReads(b []byte, m wireMsg) bool {
	for len(b) > 0 {
		tag, n := protowire.ConsumeVarint(b)
		if n < 0 || tag>>3 < uint64(protowire.MinValidNumber) || tag>>3 > uint64(protowire.MaxValidNumber) {
			return false
		}
		b = b[n:]
		num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
		if typ == protowire.EndGroupType {
			return false
		}
		want, list, sub, known := m.field(num)
		switch {
		case known && typ == want && sub != msgNone:
			v, k := protowire.ConsumeBytes(b)
			if k < 0 || !goReads(v, sub) {
				return false
			}
			n = k
		case known && list && typ == protowire.BytesType:
			v, k := protowire.ConsumeBytes(b)
			if k < 0 {
				return false
			}
			for len(v) > 0 {
				e := protowire.ConsumeFieldValue(num, want, v)
				if e < 0 {
					return false
				}
				v = v[e:]
			}
			n = k
		default:
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return false
			}
		}
		b = b[n:]
	}
	return true
}

// wireMsg is a message of the exposition's schema (client_model's
// metrics.proto, which TestWireSchema holds it to).
type wireMsg uint8

const (
	msgNone wireMsg = iota // a scalar
	msgFamily
	msgMetric
	msgLabel
	msgValue // Gauge and Untyped
	msgCounter
	msgSummary
	msgQuantile
	msgHistogram
	msgBucket
	msgSpan
	msgExemplar
	msgTimestamp
)

// field is field num of m: its wire type, whether it is a list of scalars
// (which may come packed), and the message it holds; known is false for a
// field m does not have.
func (m wireMsg) field(num protowire.Number) (typ protowire.Type, list bool, sub wireMsg, known bool) {
	const (
		varint = protowire.VarintType
		double = protowire.Fixed64Type
		bytes  = protowire.BytesType
	)
	type f struct {
		typ  protowire.Type
		list bool
		sub  wireMsg
	}
	var fs []f // fields 1 on
	switch m {
	case msgFamily:
		fs = []f{{typ: bytes}, {typ: bytes}, {typ: varint}, {bytes, false, msgMetric}, {typ: bytes}}
	case msgMetric:
		fs = []f{{bytes, false, msgLabel}, {bytes, false, msgValue}, {bytes, false, msgCounter}, {bytes, false, msgSummary},
			{bytes, false, msgValue}, {typ: varint}, {bytes, false, msgHistogram}}
	case msgLabel:
		fs = []f{{typ: bytes}, {typ: bytes}}
	case msgValue:
		fs = []f{{typ: double}}
	case msgCounter:
		fs = []f{{typ: double}, {bytes, false, msgExemplar}, {bytes, false, msgTimestamp}}
	case msgSummary:
		fs = []f{{typ: varint}, {typ: double}, {bytes, false, msgQuantile}, {bytes, false, msgTimestamp}}
	case msgQuantile:
		fs = []f{{typ: double}, {typ: double}}
	case msgHistogram:
		fs = []f{{typ: varint}, {typ: double}, {bytes, false, msgBucket}, {typ: double}, {typ: varint}, {typ: double}, {typ: varint},
			{typ: double}, {bytes, false, msgSpan}, {varint, true, 0}, {double, true, 0}, {bytes, false, msgSpan}, {varint, true, 0},
			{double, true, 0}, {bytes, false, msgTimestamp}, {bytes, false, msgExemplar}}
	case msgBucket:
		fs = []f{{typ: varint}, {typ: double}, {bytes, false, msgExemplar}, {typ: double}}
	case msgSpan:
		fs = []f{{typ: varint}, {typ: varint}}
	case msgExemplar:
		fs = []f{{bytes, false, msgLabel}, {typ: double}, {bytes, false, msgTimestamp}}
	case msgTimestamp:
		fs = []f{{typ: varint}, {typ: varint}}
	}
	if num < 1 || int(num) > len(fs) {
		return 0, false, msgNone, false
	}
	x := fs[num-1]
	return x.typ, x.list, x.sub, true
}
