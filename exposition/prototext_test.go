package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// refProtoText is the decoding path protoToText replaced: each family
// decoded, checked and written by expfmt (a timestamp of 0 and buckets
// past +Inf left out).
func refProtoText(body []byte) (string, error) {
	var b bytes.Buffer
	err := eachProto(body, func(mf *dto.MetricFamily, _ []byte) error {
		for _, m := range mf.GetMetric() {
			if m.GetTimestampMs() == 0 {
				m.TimestampMs = nil // Prometheus reads a timestamp of 0 as none
			}
			if m.Histogram != nil {
				m.Histogram.Bucket = readBuckets(m.Histogram) // nor a bucket past +Inf
			}
		}
		_, err := expfmt.MetricFamilyToText(&b, mf)
		return err
	})
	return b.String(), err
}

// sameProtoText reports how protoToText and the decoding path disagree on
// body: the same text, or the same error under the same stricter rule.
func sameProtoText(body []byte) string {
	want, wantErr := refProtoText(body)
	var b bytes.Buffer
	_, _, haveErr := protoToText(&b, body, false, nil)
	var wantPE, havePE *ParseError
	switch {
	case wantErr == nil && haveErr == nil:
		if b.String() != want {
			return fmt.Sprintf("text differs:\nwant %q\nhave %q", want, b.String())
		}
	case wantErr == nil || haveErr == nil:
		return fmt.Sprintf("want error %v, have %v", wantErr, haveErr)
	case !errors.As(wantErr, &wantPE) || !errors.As(haveErr, &havePE):
		return fmt.Sprintf("want %v, have %v: not parse errors", wantErr, haveErr)
	case wantPE.Stricter != havePE.Stricter || placeless(strings.ReplaceAll(wantPE.Msg, "\u00a0", " ")) != placeless(havePE.Msg): // protobuf-go randomises its errors' spaces
		return fmt.Sprintf("want error %q (stricter %q), have %q (stricter %q)", wantPE.Msg, wantPE.Stricter, havePE.Msg, havePE.Stricter)
	}
	return ""
}

// placeless is msg cut after errPlaces: the reference names the compacted
// spans that are out of place, checkPlaces the buckets.
func placeless(msg string) string {
	if i := strings.Index(msg, errPlaces.Error()); i >= 0 {
		return msg[:i+len(errPlaces.Error())]
	}
	return msg
}

// protoVectors are the protobuf bodies of the conformance suite and of
// testdata.
func protoVectors(t testing.TB) [][]byte {
	var bodies [][]byte
	for _, glob := range []string{"testdata/*.pb", "../conformance/testdata/vectors/*.pb"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, b)
		}
	}
	if len(bodies) < 30 {
		t.Fatalf("only %d protobuf vectors", len(bodies))
	}
	return bodies
}

// TestProtoText holds protoToText to the decoding path on every protobuf
// vector, on every field of every message in every wire type (the
// conformance suite's wire cases), and on what protobuf-go reads in its
// own way (fields twice, messages merged).
func TestProtoText(t *testing.T) {
	bodies := append(protoVectors(t), wireBodies()...)
	for _, c := range protoTextCases() {
		bodies = append(bodies, c)
	}
	texts := 0
	for i, body := range bodies {
		if problem := sameProtoText(body); problem != "" {
			t.Errorf("body %d %q: %s", i, body, problem)
		}
		if _, err := refProtoText(body); err == nil {
			texts++
		}
	}
	if texts < 100 {
		t.Errorf("only %d of %d bodies accepted: the cases show little text", texts, len(bodies))
	}
}

// protoTextCases are bodies protobuf-go reads in its own way.
func protoTextCases() map[string][]byte {
	str := func(num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
	}
	msg := func(num protowire.Number, parts ...[]byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), bytes.Join(parts, nil))
	}
	varint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
	}
	double := func(num protowire.Number, f float64) []byte {
		return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), math.Float64bits(f))
	}
	family := func(parts ...[]byte) []byte { return protowire.AppendBytes(nil, bytes.Join(parts, nil)) }
	label := func(n, v string) []byte { return msg(1, str(1, n), str(2, v)) }
	return map[string][]byte{
		"name, help, type twice": family(str(1, "a"), str(2, "x"), varint(3, 0), str(1, "b"), str(2, "y\\\n\""), varint(3, 1), msg(4, msg(2, double(1, 2)))),
		"gauge merged":           family(str(1, "g"), varint(3, 1), msg(4, label("a", "1"), msg(2, double(1, 3)), varint(6, 5), label("b", "x\"\\\n"), msg(2), varint(6, 7))),
		"label pair fields twice": family(str(1, "g"), varint(3, 1),
			msg(4, msg(1, str(1, "a"), str(2, "1"), str(1, "c"), str(2, "2")), msg(2, double(1, 0.25)))),
		"utf-8 names":               family(str(1, "ü.x"), str(2, ""), varint(3, 3), msg(4, label("ö-y", "v"), label("a:b", "w"), msg(5, double(1, math.Inf(-1))))),
		"utf-8 name without labels": family(str(1, "1x"), varint(3, 0), msg(4, msg(3, double(1, -1)))),
		"summary merged": family(str(1, "s"), varint(3, 2), msg(4, label("a", "b"),
			msg(4, varint(1, 3), double(2, 1.5), msg(3, double(1, 0.5), double(2, 7))),
			msg(4, msg(3, double(1, 0.9), double(2, math.NaN()), double(1, 0.99)), varint(1, 4)))),
		"histogram merged": family(str(1, "h"), varint(3, 4), msg(4,
			msg(7, varint(1, 3), double(2, 1.5), msg(3, varint(1, 1), double(2, 0.5))),
			msg(7, msg(3, double(4, 2.5), double(2, 1)), msg(3, varint(1, 3), double(2, math.Inf(1))), double(4, 3.5)))),
		"histogram without +Inf":   family(str(1, "h"), varint(3, 5), msg(4, varint(6, 1<<63), msg(7, varint(1, 9), msg(3, varint(1, 2), double(2, -0.0))))),
		"histogram negative count": family(str(1, "h"), varint(3, 4), msg(4, msg(7, double(4, -2), msg(3, double(4, -1), double(2, 1))))),
		"native histogram spans merged": family(str(1, "n"), varint(3, 4), msg(4, msg(7, varint(1, 2), double(6, 0.001), msg(12, varint(2, 1))),
			msg(7, msg(12, varint(2, 9), varint(2, 1)), varint(13, 2), msg(13, []byte{3})))),
		"native histogram spans short": family(str(1, "n"), varint(3, 4), msg(4, msg(7, varint(7, 1), msg(12, varint(2, 2)), varint(13, 2)))),
		"value of another type beside": family(str(1, "c"), varint(3, 0), msg(4, msg(2, double(1, 4)), msg(3), msg(7, varint(7, 1)))),
		"empty family then one":        append(family(str(1, "\xff")), family(str(1, "c"), msg(4, msg(3)))...),
		"unknown type":                 family(str(1, "c"), varint(3, 9), msg(4, msg(3))),
		"unknown fields":               family(str(1, "c"), varint(99, 1), msg(4, msg(3, double(1, 2), str(50, "x")), str(60, "y"))),
		"label value invalid":          family(str(1, "c"), msg(4, label("a", "\xff"), msg(3))),
		"label name empty":             family(str(1, "c"), msg(4, label("", "v"), msg(3))),
	}
}

// wireBodies are the conformance suite's wire cases (conformance/wire_test.go):
// every field of every message of a family, and one no message knows, in
// every wire type, and lists of scalars packed cut mid-element.
func wireBodies() [][]byte {
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
	family := func(typ dto.MetricType, metric []byte) []byte {
		mf := marshal(&dto.MetricFamily{Name: proto.String("a"), Type: typ.Enum()})
		return protowire.AppendBytes(nil, append(mf, field(4, metric)...))
	}
	one, two := 1.0, uint64(2)
	histogram := &dto.Histogram{SampleCount: &two, SampleSum: &one, Schema: proto.Int32(0), ZeroThreshold: &one,
		PositiveSpan: []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(1)}}, PositiveDelta: []int64{2}}
	counter := &dto.Counter{Value: &one}
	label := &dto.LabelPair{Name: proto.String("l"), Value: proto.String("v")}
	in := func(num protowire.Number, typ dto.MetricType, outer []byte) func(msg []byte) []byte {
		return func(msg []byte) []byte { return family(typ, append(outer, field(num, msg)...)) }
	}
	cases := []struct {
		m     proto.Message
		inner []byte
		wrap  func(msg []byte) []byte
	}{
		{&dto.MetricFamily{}, append(marshal(&dto.MetricFamily{Name: proto.String("a")}), field(4, marshal(&dto.Metric{Counter: counter}))...),
			func(msg []byte) []byte { return protowire.AppendBytes(nil, msg) }},
		{&dto.Metric{}, marshal(&dto.Metric{Counter: counter}), func(msg []byte) []byte { return family(dto.MetricType_COUNTER, msg) }},
		{&dto.LabelPair{}, marshal(label), in(1, dto.MetricType_COUNTER, marshal(&dto.Metric{Counter: counter}))},
		{&dto.Gauge{}, marshal(&dto.Gauge{Value: &one}), in(2, dto.MetricType_GAUGE, nil)},
		{&dto.Counter{}, marshal(counter), in(3, dto.MetricType_COUNTER, nil)},
		{&dto.Summary{}, marshal(&dto.Summary{SampleCount: &two, SampleSum: &one}), in(4, dto.MetricType_SUMMARY, nil)},
		{&dto.Untyped{}, marshal(&dto.Untyped{Value: &one}), in(5, dto.MetricType_UNTYPED, nil)},
		{&dto.Histogram{}, marshal(histogram), in(7, dto.MetricType_HISTOGRAM, nil)},
		{&dto.Quantile{}, marshal(&dto.Quantile{Quantile: proto.Float64(0.5), Value: &one}), func(msg []byte) []byte {
			return in(4, dto.MetricType_SUMMARY, nil)(append(marshal(&dto.Summary{SampleCount: &two, SampleSum: &one}), field(3, msg)...))
		}},
		{&dto.Bucket{}, marshal(&dto.Bucket{CumulativeCount: &two, UpperBound: &one}), func(msg []byte) []byte {
			return in(7, dto.MetricType_HISTOGRAM, nil)(append(marshal(&dto.Histogram{SampleCount: &two, SampleSum: &one}), field(3, msg)...))
		}},
		{&dto.BucketSpan{}, marshal(&dto.BucketSpan{Offset: proto.Int32(0), Length: proto.Uint32(0)}), func(msg []byte) []byte {
			return in(7, dto.MetricType_HISTOGRAM, nil)(append(marshal(histogram), field(12, msg)...))
		}},
		{&dto.Exemplar{}, marshal(&dto.Exemplar{Label: []*dto.LabelPair{label}, Value: &one}), func(msg []byte) []byte {
			return in(3, dto.MetricType_COUNTER, nil)(append(marshal(counter), field(2, msg)...))
		}},
	}
	eight := []byte{1, 0, 0, 0, 0, 0, 0xf0, 0x3f}
	var bodies [][]byte
	for _, c := range cases {
		fields := c.m.ProtoReflect().Descriptor().Fields()
		for i := range fields.Len() + 1 {
			num, list := protowire.Number(99), false
			if i < fields.Len() {
				fd := fields.Get(i)
				num = fd.Number()
				list = fd.IsList() && fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.StringKind
			}
			tag := func(typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
			ins := [][]byte{
				protowire.AppendVarint(tag(protowire.VarintType), 3),
				append(tag(protowire.Fixed64Type), eight...),
				append(tag(protowire.Fixed32Type), 0, 0, 0x80, 0x3f),
				protowire.AppendBytes(tag(protowire.BytesType), nil),
				protowire.AppendBytes(tag(protowire.BytesType), eight),
				protowire.AppendTag(tag(protowire.StartGroupType), num, protowire.EndGroupType),
				tag(protowire.EndGroupType),
			}
			for _, cut := range []int{1, 3, 7, 9} {
				if !list {
					break
				}
				packed := protowire.AppendBytes(tag(protowire.BytesType), []byte{0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}[9-cut:])
				for _, after := range [][]byte{nil, {0x08, 0x01}, {0, 0, 0, 0, 0, 0, 0}} {
					ins = append(ins, append(packed[:len(packed):len(packed)], after...))
				}
			}
			for _, inj := range ins {
				bodies = append(bodies, c.wrap(append(c.inner[:len(c.inner):len(c.inner)], inj...)))
			}
		}
	}
	return bodies
}

// FuzzProtoText: for any bytes, protoToText and the decoding path agree,
// on the bytes as a body, as one family's message, and (past their first
// byte, which picks the type) as a metric of a family.
func FuzzProtoText(f *testing.F) {
	for _, b := range protoVectors(f) {
		f.Add(b)
	}
	for _, b := range wireBodies() {
		f.Add(b)
	}
	for _, b := range protoTextCases() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bodies := [][]byte{b, protowire.AppendBytes(nil, b)}
		if len(b) > 0 {
			mf := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "a")
			mf = protowire.AppendVarint(protowire.AppendTag(mf, 3, protowire.VarintType), uint64(b[0]%6))
			mf = protowire.AppendBytes(protowire.AppendTag(mf, 4, protowire.BytesType), b[1:])
			bodies = append(bodies, protowire.AppendBytes(nil, mf))
		}
		for _, body := range bodies {
			if problem := sameProtoText(body); problem != "" {
				t.Errorf("body %q: %s", body, problem)
			}
		}
	})
}

// TestWireSchema holds wireMsg's fields to client_model's descriptors.
func TestWireSchema(t *testing.T) {
	msgs := map[protoreflect.FullName]wireMsg{}
	var walk func(md protoreflect.MessageDescriptor, m wireMsg)
	walk = func(md protoreflect.MessageDescriptor, m wireMsg) {
		if prev, ok := msgs[md.FullName()]; ok {
			if prev != m && !(md.FullName() == "io.prometheus.client.Gauge" || md.FullName() == "io.prometheus.client.Untyped") {
				t.Errorf("%s is %d and %d", md.FullName(), prev, m)
			}
			return
		}
		msgs[md.FullName()] = m
		for num := protowire.Number(1); num < 30; num++ {
			typ, list, sub, known := m.field(num)
			fd := md.Fields().ByNumber(num)
			if known != (fd != nil) {
				t.Errorf("%s field %d: known %v", md.FullName(), num, known)
				continue
			}
			if fd == nil {
				continue
			}
			wantList := fd.IsList() && fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind
			if typ != wireType(fd.Kind()) || list != wantList || (sub != msgNone) != (fd.Kind() == protoreflect.MessageKind) {
				t.Errorf("%s field %d (%s): have type %d, list %v, message %d", md.FullName(), num, fd.Name(), typ, list, sub)
			}
			if sub != msgNone {
				walk(fd.Message(), sub)
			}
		}
	}
	walk(familyDescriptor, msgFamily)
	if len(msgs) != 13 {
		t.Errorf("%d messages, want 13", len(msgs))
	}
}

// TestProtoTextAllocs: protoToText allocates per body and per family,
// never per series, and Validate hardly at all. Under the race detector,
// whose sync.Pool drops what it is given at random (the table of family
// names is pooled, and one made anew grows), Validate's bound is a loose
// one, still far below one a series: .ci/run runs this test without it too.
func TestProtoTextAllocs(t *testing.T) {
	validateBound := 5.0
	if raceEnabled {
		validateBound = 100
	}
	body := protoBody(t, syntheticBody(20000, "app"))
	var b bytes.Buffer
	if _, _, err := protoToText(&b, body, false, nil); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(5, func() {
		b.Reset()
		if _, _, err := protoToText(&b, body, false, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 20 {
		t.Errorf("%v allocations for 20,000 series", allocs)
	}
	if allocs := testing.AllocsPerRun(5, func() {
		if err := Validate(ctProto, body); err != nil {
			t.Fatal(err)
		}
	}); allocs > validateBound {
		t.Errorf("Validate: %v allocations for 20,000 series, want at most %v", allocs, validateBound)
	}
}

// TestRestoreWithoutDecoding: a protobuf source's metrics whose text
// carries all Prometheus reads of them are merged to OpenMetrics and
// protobuf without decoding their messages (which cost some twenty
// allocations a series); what the text cannot carry (an exemplar, a
// created timestamp, a NaN of another payload, such as Prometheus' stale
// marker, a count past 2^53) still comes from the message, and buckets
// past +Inf, which Prometheus' protobuf parser does not read, are left
// out.
func TestRestoreWithoutDecoding(t *testing.T) {
	gauges := syntheticBody(20000, "app")
	gauges = gauges[:bytes.Index(gauges, []byte("# HELP app_metric_9_total_seconds"))] // before the first histogram
	text := bytes.NewBuffer(slices.Clip(gauges))
	text.WriteString("# TYPE h_seconds histogram\n# TYPE s_seconds summary\n")
	for i := range 100 {
		for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
			fmt.Fprintf(text, "h_seconds_bucket{handler=\"/api/%d\",le=\"%s\"} %d\n", i, le, i*7)
		}
		fmt.Fprintf(text, "h_seconds_sum{handler=\"/api/%d\"} %d.25\nh_seconds_count{handler=\"/api/%d\"} %d\n", i, i*3, i, i*7)
		for _, q := range []string{"0.5", "0.9", "0.99"} {
			fmt.Fprintf(text, "s_seconds{handler=\"/api/%d\",quantile=\"%s\"} %d\n", i, q, i)
		}
		fmt.Fprintf(text, "s_seconds_sum{handler=\"/api/%d\"} %d.25\ns_seconds_count{handler=\"/api/%d\"} %d\n", i, i*3, i, i*7)
	}
	series := bytes.Count(text.Bytes(), []byte("\n")) - 2*bytes.Count(text.Bytes(), []byte("# TYPE"))
	body := protoBody(t, text.Bytes())
	var out bytes.Buffer
	for _, body := range [][]byte{body, withStarts(t, body)} {
		for _, format := range []expfmt.Format{fmtOM, fmtProto} {
			merge := func() {
				out.Reset()
				if _, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{{Name: "pb", ContentType: ctProto, Body: body}}); err != nil {
					t.Fatal(err)
				}
			}
			merge()
			bound := float64(2 * series)
			if raceEnabled {
				bound *= 2 // the pools drop at random (TestProtoTextAllocs); decoding cost ten a series
			}
			if allocs := testing.AllocsPerRun(3, merge); allocs > bound {
				t.Errorf("%s: %v allocations for %d series of gauges, counters, summaries and histograms (%d bytes)", format, allocs, series, len(body))
			}
		}
	}

	stale := math.Float64frombits(0x7ff0000000000002)
	label := func(v string) []*dto.LabelPair { return []*dto.LabelPair{{Name: new("a"), Value: new(v)}} }
	bucket := func(bound float64, e *dto.Exemplar) *dto.Bucket {
		return &dto.Bucket{UpperBound: new(bound), CumulativeCount: new(uint64(1)), Exemplar: e}
	}
	// Each metric must come out as its message has it, which its text
	// cannot carry.
	fams := []*dto.MetricFamily{
		{Name: new("c_total"), Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{
			{Label: label("exemplar"), Counter: &dto.Counter{Value: new(1.0), Exemplar: &dto.Exemplar{Value: new(0.5)}}},
			{Label: label("stale"), Counter: &dto.Counter{Value: new(stale)}},
		}},
		{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{
			{Label: label("exemplar"), Histogram: &dto.Histogram{SampleCount: new(uint64(1)), Bucket: []*dto.Bucket{bucket(1, &dto.Exemplar{Value: new(0.5)})}}},
			{Label: label("past +Inf"), Histogram: &dto.Histogram{SampleCount: new(uint64(1)), Bucket: []*dto.Bucket{bucket(1, nil), bucket(math.Inf(1), nil), bucket(0.5, nil)}}},
			{Label: label("count past 2^53"), Histogram: &dto.Histogram{SampleCount: new(uint64(1<<53 + 1))}},
		}},
		{Name: new("s"), Type: dto.MetricType_SUMMARY.Enum(), Metric: []*dto.Metric{
			{Label: label("created"), Summary: &dto.Summary{SampleCount: new(uint64(1)), CreatedTimestamp: &timestamppb.Timestamp{Seconds: 5, Nanos: 7}}},
		}},
		{Name: new("created_total"), Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{
			{Label: label("created"), Counter: &dto.Counter{Value: new(1.0), CreatedTimestamp: &timestamppb.Timestamp{Seconds: 5, Nanos: 7}}},
			{Label: label("none"), Counter: &dto.Counter{Value: new(1.0)}},
		}},
		{Name: new("created_h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{
			{Label: label("none"), Histogram: &dto.Histogram{SampleCount: new(uint64(1))}},
			{Label: label("created"), Histogram: &dto.Histogram{SampleCount: new(uint64(1)), CreatedTimestamp: &timestamppb.Timestamp{Seconds: 5, Nanos: 7}}},
		}},
	}
	check := func(have *dto.MetricFamily) {
		for _, m := range have.GetMetric() {
			switch a := m.GetLabel()[0].GetValue(); a {
			case "exemplar":
				if m.GetCounter().GetExemplar().GetValue() != 0.5 && m.GetHistogram().GetBucket()[0].GetExemplar().GetValue() != 0.5 {
					t.Errorf("%s{a=%q}: want the exemplar kept, have %v", have.GetName(), a, m)
				}
			case "stale":
				if math.Float64bits(m.GetCounter().GetValue()) != math.Float64bits(stale) {
					t.Errorf("%s{a=%q}: want the stale marker's bits kept, have %x", have.GetName(), a, math.Float64bits(m.GetCounter().GetValue()))
				}
			case "past +Inf":
				if bb := m.GetHistogram().GetBucket(); len(bb) != 2 || bb[0].GetUpperBound() != 1 || !math.IsInf(bb[1].GetUpperBound(), 1) {
					t.Errorf("%s{a=%q}: want the buckets up to +Inf, as Prometheus reads them, have %v", have.GetName(), a, bb)
				}
			case "count past 2^53":
				if m.GetHistogram().GetSampleCount() != 1<<53+1 {
					t.Errorf("%s{a=%q}: want the count kept, have %v", have.GetName(), a, m.GetHistogram())
				}
			case "created", "none":
				var ts *timestamppb.Timestamp
				switch {
				case m.Summary != nil:
					ts = m.Summary.CreatedTimestamp
				case m.Counter != nil:
					ts = m.Counter.CreatedTimestamp
				case m.Histogram != nil:
					ts = m.Histogram.CreatedTimestamp
				}
				if (a == "created") != (ts != nil) || ts.GetSeconds() != 0 && (ts.GetSeconds() != 5 || ts.GetNanos() != 7) {
					t.Errorf("%s{a=%q}: want the created timestamp as the message has it, have %v", have.GetName(), a, m)
				}
			}
		}
	}
	for _, mf := range fams {
		for only := range mf.GetMetric() { // each metric alone, and all
			single := proto.Clone(mf).(*dto.MetricFamily)
			single.Metric = single.Metric[only : only+1]
			for _, mf := range []*dto.MetricFamily{mf, single} {
				var b bytes.Buffer
				if _, err := protodelim.MarshalTo(&b, mf); err != nil {
					t.Fatal(err)
				}
				out.Reset()
				if _, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, []Input{{Name: "pb", ContentType: ctProto, Body: b.Bytes()}}); err != nil {
					t.Fatal(err)
				}
				for _, have := range decodeProtoOut(t, out.Bytes()) {
					check(have)
				}
			}
		}
	}
}

// withStarts is protobuf body with a created timestamp on every counter,
// summary and histogram, as client_golang writes them.
func withStarts(t testing.TB, body []byte) []byte {
	var out bytes.Buffer
	for _, mf := range decodeProtoOut(t, body) {
		for _, m := range mf.GetMetric() {
			ts := &timestamppb.Timestamp{Seconds: 1_700_000_000, Nanos: 123_456_789}
			switch {
			case m.Counter != nil:
				m.Counter.CreatedTimestamp = ts
			case m.Summary != nil:
				m.Summary.CreatedTimestamp = ts
			case m.Histogram != nil:
				m.Histogram.CreatedTimestamp = ts
			}
		}
		if _, err := protodelim.MarshalTo(&out, mf); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// TestProtoZeroTimestamp: Prometheus' protobuf parser reads a timestamp of
// 0 as none, so every output of a protobuf source leaves it out (text read
// back as Prometheus reads it would otherwise carry a timestamp of 0); any
// other timestamp is kept.
func TestProtoZeroTimestamp(t *testing.T) {
	var in bytes.Buffer
	for _, mf := range []*dto.MetricFamily{
		{Name: new("g"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{
			{Label: []*dto.LabelPair{{Name: new("a"), Value: new("zero")}}, Gauge: &dto.Gauge{Value: new(1.0)}, TimestampMs: new(int64(0))},
			{Label: []*dto.LabelPair{{Name: new("a"), Value: new("five")}}, Gauge: &dto.Gauge{Value: new(1.0)}, TimestampMs: new(int64(5))},
		}},
		{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{
			{Label: []*dto.LabelPair{{Name: new("a"), Value: new("zero")}}, Histogram: &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0)}, TimestampMs: new(int64(0))},
		}},
	} {
		if _, err := protodelim.MarshalTo(&in, mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
		var out bytes.Buffer
		if _, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{{Name: "pb", ContentType: ctProto, Body: in.Bytes()}}); err != nil {
			t.Fatal(err)
		}
		fams := map[string]*dto.MetricFamily{}
		if format == fmtProto {
			for _, mf := range decodeProtoOut(t, out.Bytes()) {
				fams[mf.GetName()] = mf
			}
		} else {
			parser := expfmt.NewTextParser(model.UTF8Validation)
			text := out.Bytes()
			if format == fmtOM { // expfmt reads no OpenMetrics: its timestamps are seconds
				text = bytes.ReplaceAll(bytes.ReplaceAll(text, []byte(" 0.005\n"), []byte(" 5\n")), []byte("# EOF\n"), nil)
			}
			var err error
			if fams, err = parser.TextToMetricFamilies(bytes.NewReader(text)); err != nil {
				t.Fatalf("%s: %v\n%s", format, err, out.Bytes())
			}
		}
		n := 0
		for _, name := range []string{"g", "h"} {
			for _, m := range fams[name].GetMetric() {
				n++
				var a string
				for _, l := range m.GetLabel() {
					if l.GetName() == "a" {
						a = l.GetValue()
					}
				}
				if want := map[string]int64{"zero": 0, "five": 5}[a]; m.GetTimestampMs() != want || want == 0 && m.TimestampMs != nil {
					t.Errorf("%s: %s{a=%q}: want timestamp %d (0: none), have %v", format, name, a, want, m.TimestampMs)
				}
			}
		}
		if n != 3 {
			t.Errorf("%s: %d metrics of g and h, want 3:\n%s", format, n, out.Bytes())
		}
	}
}
