package exposition

import (
	"bytes"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestValidateNativeSpans: a protobuf native histogram whose spans describe
// another number of buckets than it has, on either side, is refused, as
// Prometheus' protobuf parser refuses it; in a merge its source is down and
// the answer (which Prometheus would otherwise refuse whole) is still
// valid.
func TestValidateNativeSpans(t *testing.T) {
	span := func(n uint32) []*dto.BucketSpan { return []*dto.BucketSpan{{Offset: new(int32(0)), Length: new(n)}} }
	for _, tc := range []struct {
		name string
		h    *dto.Histogram
		ok   bool
	}{
		{"consistent", &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveDelta: []int64{1, 1}, NegativeSpan: span(1), NegativeDelta: []int64{1}}, true},
		{"positive short", &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: span(3), PositiveDelta: []int64{1, 1}}, false},
		{"negative long", &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			NegativeSpan: span(1), NegativeDelta: []int64{1, 1}}, false},
		{"float counts", &dto.Histogram{SampleCountFloat: new(3.0), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveCount: []float64{1}}, false},
		{"classic", &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(1.0),
			Bucket: []*dto.Bucket{{UpperBound: new(1.0), CumulativeCount: new(uint64(3))}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pb bytes.Buffer
			if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(&dto.MetricFamily{
				Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: tc.h}},
			}); err != nil {
				t.Fatal(err)
			}
			err := Validate(ctProto, pb.Bytes())
			if (err == nil) != tc.ok {
				t.Errorf("Validate: want ok %v, have %v", tc.ok, err)
			}
			var out bytes.Buffer
			rep, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, []Input{{Name: "pb", ContentType: ctProto, Body: pb.Bytes()}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sources[0].Up != tc.ok {
				t.Errorf("source up: want %v, have %v (%v)", tc.ok, rep.Sources[0].Up, rep.Sources[0].Err)
			}
			checkParses(t, fmtProto, out.Bytes())
		})
	}
}
