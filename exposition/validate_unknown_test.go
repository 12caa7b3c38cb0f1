package exposition

import (
	"bytes"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// TestProtoUnknownFieldsDropped: a protobuf native histogram carrying an
// unknown field (field 100, a varint), which Prometheus' decoder skips and
// protobuf-go keeps, is merged without it: written back, an unknown field
// can make Prometheus' decoder refuse the whole protobuf answer (a field
// of the wrong wire type did, before it was refused on the way in as
// Prometheus refuses it: TestVerdictLexing).
func TestProtoUnknownFieldsDropped(t *testing.T) {
	h := &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
		PositiveSpan: []*dto.BucketSpan{{Offset: new(int32(0)), Length: new(uint32(1))}}, PositiveDelta: []int64{1}}
	h.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 100, protowire.VarintType), 1))
	msg, err := proto.Marshal(&dto.MetricFamily{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: h}}})
	if err != nil {
		t.Fatal(err)
	}
	body := append(protowire.AppendVarint(nil, uint64(len(msg))), msg...)
	if err := Validate(ctProto, body); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	var out bytes.Buffer
	if _, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, []Input{{Name: "pb", ContentType: ctProto, Body: body}}); err != nil {
		t.Fatal(err)
	}
	found := false
	// Read back as written, unknown fields kept.
	for rest := out.Bytes(); len(rest) > 0; {
		n, k := protowire.ConsumeVarint(rest)
		if k < 0 || n > uint64(len(rest)-k) {
			t.Fatalf("bad length prefix in the output")
		}
		mf := &dto.MetricFamily{}
		if err := proto.Unmarshal(rest[k:k+int(n)], mf); err != nil {
			t.Fatal(err)
		}
		rest = rest[k+int(n):]
		for _, m := range mf.GetMetric() {
			if m.Histogram != nil {
				found = true
				if u := m.Histogram.ProtoReflect().GetUnknown(); len(u) > 0 {
					t.Errorf("%s: unknown fields written back: %x", mf.GetName(), u)
				}
			}
		}
	}
	if !found {
		t.Error("the histogram is not in the output")
	}
}
