package conformance

import (
	"fmt"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/corral-metrics/corral/exposition"
)

// TestWireFields gives corral and Prometheus (gogo protobuf's decoder)
// every field of every message of a protobuf exposition, and a field
// number no message knows, in every wire type, and each list of scalars
// packed with a length that is not a whole number of its elements: they
// must agree on each (or corral refuse under a stricter rule).
func TestWireFields(t *testing.T) {
	n := 0
	for _, c := range wireCases() {
		for _, f := range fieldsOf(c.md) {
			for _, inj := range injections(f) {
				body := c.wrap(append(c.inner(), inj.bytes...))
				n++
				ok, problem, stricter := Verdict(ProtobufType, body)
				if problem != "" {
					t.Errorf("%s field %d (%s) %s: %s", c.md.Name(), f.num, f.name, inj.name, problem)
				}
				t.Logf("%s field %d (%s) %s: ok %v, stricter %q", c.md.Name(), f.num, f.name, inj.name, ok, stricter)
			}
		}
	}
	if n < 200 {
		t.Fatalf("only %d cases", n)
	}
}

// A wireCase is a message somewhere in a family: its descriptor, a valid
// content for it, and how it is wrapped up into a delimited body.
type wireCase struct {
	md    protoreflect.MessageDescriptor
	inner func() []byte
	wrap  func(msg []byte) []byte
}

func wireCases() []wireCase {
	marshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		return b
	}
	field := func(num protowire.Number, msg []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), msg)
	}
	delimited := func(mf []byte) []byte { return protowire.AppendBytes(nil, mf) }
	family := func(typ dto.MetricType, metric []byte) []byte {
		mf := marshal(&dto.MetricFamily{Name: proto.String("a"), Type: typ.Enum()})
		return delimited(append(mf, field(4, metric)...))
	}
	one, two := 1.0, uint64(2)
	histogram := &dto.Histogram{SampleCount: &two, SampleSum: &one, Schema: proto.Int32(0), ZeroThreshold: &one,
		PositiveSpan: []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(1)}}, PositiveDelta: []int64{2}}
	counter := &dto.Counter{Value: &one}
	label := &dto.LabelPair{Name: proto.String("l"), Value: proto.String("v")}
	in := func(m proto.Message) func() []byte { return func() []byte { return marshal(m) } }
	metricWith := func(num protowire.Number) func(msg []byte) []byte {
		return func(msg []byte) []byte {
			typ := map[protowire.Number]dto.MetricType{2: dto.MetricType_GAUGE, 3: dto.MetricType_COUNTER, 4: dto.MetricType_SUMMARY, 5: dto.MetricType_UNTYPED, 7: dto.MetricType_HISTOGRAM}[num]
			return family(typ, field(num, msg))
		}
	}
	return []wireCase{
		{md: (&dto.MetricFamily{}).ProtoReflect().Descriptor(),
			inner: func() []byte {
				return append(marshal(&dto.MetricFamily{Name: proto.String("a"), Type: dto.MetricType_COUNTER.Enum()}), field(4, marshal(&dto.Metric{Counter: counter}))...)
			},
			wrap: delimited},
		{md: (&dto.Metric{}).ProtoReflect().Descriptor(), inner: in(&dto.Metric{Counter: counter}),
			wrap: func(msg []byte) []byte { return family(dto.MetricType_COUNTER, msg) }},
		{md: (&dto.LabelPair{}).ProtoReflect().Descriptor(), inner: in(label),
			wrap: func(msg []byte) []byte {
				return family(dto.MetricType_COUNTER, append(field(1, msg), marshal(&dto.Metric{Counter: counter})...))
			}},
		{md: (&dto.Gauge{}).ProtoReflect().Descriptor(), inner: in(&dto.Gauge{Value: &one}), wrap: metricWith(2)},
		{md: (&dto.Counter{}).ProtoReflect().Descriptor(), inner: in(counter), wrap: metricWith(3)},
		{md: (&dto.Summary{}).ProtoReflect().Descriptor(), inner: in(&dto.Summary{SampleCount: &two, SampleSum: &one}), wrap: metricWith(4)},
		{md: (&dto.Untyped{}).ProtoReflect().Descriptor(), inner: in(&dto.Untyped{Value: &one}), wrap: metricWith(5)},
		{md: (&dto.Histogram{}).ProtoReflect().Descriptor(), inner: in(histogram), wrap: metricWith(7)},
		{md: (&dto.Quantile{}).ProtoReflect().Descriptor(), inner: in(&dto.Quantile{Quantile: proto.Float64(0.5), Value: &one}),
			wrap: func(msg []byte) []byte {
				return metricWith(4)(append(marshal(&dto.Summary{SampleCount: &two, SampleSum: &one}), field(3, msg)...))
			}},
		{md: (&dto.Bucket{}).ProtoReflect().Descriptor(), inner: in(&dto.Bucket{CumulativeCount: &two, UpperBound: &one}),
			wrap: func(msg []byte) []byte {
				return metricWith(7)(append(marshal(&dto.Histogram{SampleCount: &two, SampleSum: &one}), field(3, msg)...))
			}},
		{md: (&dto.BucketSpan{}).ProtoReflect().Descriptor(), inner: in(&dto.BucketSpan{Offset: proto.Int32(0), Length: proto.Uint32(0)}),
			wrap: func(msg []byte) []byte { return metricWith(7)(append(marshal(histogram), field(12, msg)...)) }},
		{md: (&dto.Exemplar{}).ProtoReflect().Descriptor(), inner: in(&dto.Exemplar{Label: []*dto.LabelPair{label}, Value: &one}),
			wrap: func(msg []byte) []byte { return metricWith(3)(append(marshal(counter), field(2, msg)...)) }},
	}
}

type wireField struct {
	num  protowire.Number
	name string
	list bool // a list of scalars, which may come packed
}

// fieldsOf gives md's fields and one it does not know.
func fieldsOf(md protoreflect.MessageDescriptor) []wireField {
	var fs []wireField
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		list := fd.IsList() && fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind
		fs = append(fs, wireField{num: fd.Number(), name: string(fd.Name()), list: list})
	}
	return append(fs, wireField{num: 99, name: "unknown"})
}

type injection struct {
	name  string
	bytes []byte
}

// injections gives field f in every wire type, with a value of that type
// (for a length, empty and of 8 bytes), and, for a list of scalars,
// packed with lengths that cut an element.
func injections(f wireField) []injection {
	tag := func(typ protowire.Type) []byte { return protowire.AppendTag(nil, f.num, typ) }
	eight := []byte{1, 0, 0, 0, 0, 0, 0xf0, 0x3f}
	ins := []injection{
		{"varint", protowire.AppendVarint(tag(protowire.VarintType), 3)},
		{"fixed64", append(tag(protowire.Fixed64Type), eight...)},
		{"fixed32", append(tag(protowire.Fixed32Type), 0, 0, 0x80, 0x3f)},
		{"empty bytes", protowire.AppendBytes(tag(protowire.BytesType), nil)},
		{"8 bytes", protowire.AppendBytes(tag(protowire.BytesType), eight)},
		{"group", protowire.AppendTag(tag(protowire.StartGroupType), f.num, protowire.EndGroupType)},
		{"end group", tag(protowire.EndGroupType)},
	}
	if !f.list {
		return ins
	}
	for _, cut := range []int{1, 3, 7, 9} {
		// The list's bytes, then what the element cut short reads on
		// into (a varint field of the message, or bytes to its end).
		packed := protowire.AppendBytes(tag(protowire.BytesType), []byte{0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}[9-cut:])
		for _, after := range [][]byte{nil, {0x08, 0x01}, {0, 0, 0, 0, 0, 0, 0}} {
			ins = append(ins, injection{fmt.Sprintf("packed cut at %d then % x", cut, after), append(packed[:len(packed):len(packed)], after...)})
		}
	}
	return ins
}

// TestWirePackedReadPast gives corral and Prometheus a native histogram
// whose one bucket comes in a packed list cut short, its element ending in
// the bytes after the list: gogo reads on past the list's end, so
// Prometheus reads the bucket; protobuf-go refuses the list, so corral
// refuses the body under its stricter rule on malformed wire format.
func TestWirePackedReadPast(t *testing.T) {
	for _, tc := range []struct {
		name          string
		span, list    protowire.Number
		float         bool
		count         uint64 // the bucket's, as gogo reads it (the TSDB refuses another)
		cut, elsewise []byte // the list's bytes and the rest of its element
	}{
		{"negative_delta", 9, 10, false, 65, []byte{0x82}, []byte{0x01}},
		{"positive_delta", 12, 13, false, 8193, []byte{0x82, 0x80}, []byte{0x01}},
		{"negative_count", 9, 11, true, 1, []byte{0, 0, 0}, []byte{0, 0, 0, 0xf0, 0x3f}},
		{"positive_count", 12, 14, true, 1, []byte{0}, []byte{0, 0, 0, 0, 0, 0xf0, 0x3f}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			one := 1.0
			h := &dto.Histogram{SampleSum: &one, Schema: proto.Int32(0), ZeroThreshold: &one}
			if tc.float {
				h.SampleCountFloat = proto.Float64(1)
			} else {
				h.SampleCount = proto.Uint64(tc.count)
			}
			msg, err := proto.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			span, err := proto.Marshal(&dto.BucketSpan{Offset: proto.Int32(0), Length: proto.Uint32(1)})
			if err != nil {
				t.Fatal(err)
			}
			msg = protowire.AppendBytes(protowire.AppendTag(msg, tc.span, protowire.BytesType), span)
			msg = append(protowire.AppendBytes(protowire.AppendTag(msg, tc.list, protowire.BytesType), tc.cut), tc.elsewise...)
			metric := protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), msg)
			mf, err := proto.Marshal(&dto.MetricFamily{Name: proto.String("a"), Type: dto.MetricType_HISTOGRAM.Enum()})
			if err != nil {
				t.Fatal(err)
			}
			mf = protowire.AppendBytes(protowire.AppendTag(mf, 4, protowire.BytesType), metric)
			body := protowire.AppendBytes(nil, mf)
			if _, err := Parse(ProtobufType, body, Native); err != nil {
				t.Fatalf("Prometheus refuses the body (the case shows nothing): %v", err)
			}
			_, problem, stricter := Verdict(ProtobufType, body)
			if problem != "" || stricter != exposition.StricterProtoEncoding {
				t.Errorf("want agreement under proto-encoding, have problem %q, stricter %q", problem, stricter)
			}
		})
	}
}
