package exposition

import (
	"bytes"
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestValidateNativeSpans: a protobuf native histogram whose spans describe
// another number of buckets than it has, on either side, is refused, as
// Prometheus' protobuf parser refuses it, and so is one whose counts its
// TSDB refuses; in a merge its source is down and
// the answer (which Prometheus would otherwise refuse whole) is still
// valid.
func TestValidateNativeSpans(t *testing.T) {
	span := func(n uint32) []*dto.BucketSpan { return []*dto.BucketSpan{{Offset: new(int32(0)), Length: new(n)}} }
	for _, tc := range []struct {
		name string
		h    *dto.Histogram
		ok   bool
	}{
		{"consistent", &dto.Histogram{SampleCount: new(uint64(4)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveDelta: []int64{1, 1}, NegativeSpan: span(1), NegativeDelta: []int64{1}}, true},
		// Prometheus' TSDB refuses the counts below (Histogram.Validate),
		// which fails the scrape.
		{"count not the buckets'", &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001), ZeroCount: new(uint64(1)),
			PositiveSpan: span(2), PositiveDelta: []int64{1, 1}}, false},
		{"count above the buckets' with a NaN sum", &dto.Histogram{SampleCount: new(uint64(5)), SampleSum: new(math.NaN()), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveDelta: []int64{1, 1}}, true},
		{"count below the buckets' with a NaN sum", &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(math.NaN()), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveDelta: []int64{1, 1}}, false},
		{"bucket below 0", &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: span(3), PositiveDelta: []int64{2, -3, 2}}, false},
		{"float bucket below 0", &dto.Histogram{SampleCountFloat: new(3.0), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveCount: []float64{4, -1}}, false},
		{"schema past 8", &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(1.0), Schema: new(int32(9)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveDelta: []int64{1, 0}}, false},
		{"schema below -4", &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(1.0), Schema: new(int32(-5)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveDelta: []int64{1, 0}}, false},
		{"schema -4", &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(1.0), Schema: new(int32(-4)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveDelta: []int64{1, 0}}, true},
		{"float count not the buckets'", &dto.Histogram{SampleCountFloat: new(7.0), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: span(2), PositiveCount: []float64{1, 1}}, true},
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
