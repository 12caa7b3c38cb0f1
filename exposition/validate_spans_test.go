package exposition

import (
	"bytes"
	"google.golang.org/protobuf/encoding/protodelim"
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestValidateNativeSpans: a protobuf native histogram whose spans describe
// another number of buckets than it has, on either side, is refused, as
// Prometheus' protobuf parser refuses it, and so is one whose counts or
// places its TSDB refuses; in a merge its source is down and
// the answer (which Prometheus would otherwise refuse whole) is still
// valid.
func TestValidateNativeSpans(t *testing.T) {
	span := func(n uint32) []*dto.BucketSpan { return []*dto.BucketSpan{{Offset: new(int32(0)), Length: new(n)}} }
	spans := func(offsetLength ...int64) []*dto.BucketSpan {
		var out []*dto.BucketSpan
		for i := 0; i < len(offsetLength); i += 2 {
			out = append(out, &dto.BucketSpan{Offset: new(int32(offsetLength[i])), Length: new(uint32(offsetLength[i+1]))})
		}
		return out
	}
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
		// A zero threshold of NaN is not above 0: without spans or a zero
		// count, Prometheus reads the histogram classic, unchecked.
		{"zero threshold NaN, classic", &dto.Histogram{SampleCount: new(uint64(48)), SampleSum: new(1.0), ZeroThreshold: new(math.NaN())}, true},
		// Where the buckets stand, as the TSDB checks the spans the
		// parser has compacted (empty buckets cut out).
		{"second span behind the first", &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(1.0), Schema: new(int32(0)),
			PositiveSpan: spans(0, 1, -1, 1), PositiveDelta: []int64{1, 0}}, false},
		{"second span on an empty bucket", &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(0)),
			PositiveSpan: spans(0, 2, -1, 1), PositiveDelta: []int64{1, -1, 0}}, true},
		{"behind an empty span's offset", &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(1.0), Schema: new(int32(0)),
			NegativeSpan: spans(0, 1, -3, 0, 4, 1), NegativeDelta: []int64{1, 0}}, true},
		{"float: second span behind the first", &dto.Histogram{SampleCountFloat: new(2.0), SampleSum: new(1.0), Schema: new(int32(0)),
			NegativeSpan: spans(5, 2, -2, 1), NegativeCount: []float64{1, 0, 1}}, false},
		{"float: behind an empty bucket", &dto.Histogram{SampleCountFloat: new(2.0), SampleSum: new(1.0), Schema: new(int32(0)),
			NegativeSpan: spans(5, 2, -1, 1), NegativeCount: []float64{1, 0, 1}}, true},
		{"first at MinInt32", &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(0)),
			PositiveSpan: spans(math.MinInt32, 1), PositiveDelta: []int64{1}}, false},
		{"first at MinInt32, empty", &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(0)),
			PositiveSpan: spans(math.MinInt32, 2), PositiveDelta: []int64{0, 1}}, true},
		{"past MaxInt32", &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(1.0), Schema: new(int32(0)),
			PositiveSpan: spans(math.MaxInt32, 1, 0, 1), PositiveDelta: []int64{1, 0}}, false},
		{"at MaxInt32", &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(0)),
			PositiveSpan: spans(math.MaxInt32-1, 2), PositiveDelta: []int64{0, 1}}, true},
		{"custom: one bucket at 0", &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(-53)),
			PositiveSpan: spans(-3, 4), PositiveDelta: []int64{0, 0, 0, 1}, NegativeSpan: spans(0, 1), NegativeDelta: []int64{0}}, true},
		{"custom: a bucket at 1", &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(-53)),
			PositiveSpan: spans(1, 1), PositiveDelta: []int64{1}}, false},
		{"custom: two buckets", &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(1.0), Schema: new(int32(-53)),
			PositiveSpan: spans(0, 1, 0, 1), PositiveDelta: []int64{1, 0}}, false},
		{"custom: a negative bucket", &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(-53)),
			NegativeSpan: spans(0, 1), NegativeDelta: []int64{1}}, false},
		{"custom: a zero threshold", &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(1.0), Schema: new(int32(-53)), ZeroThreshold: new(0.001),
			PositiveSpan: spans(0, 1), PositiveDelta: []int64{1}}, false},
		{"custom: float, a zero bucket", &dto.Histogram{SampleCountFloat: new(1.0), SampleSum: new(1.0), Schema: new(int32(-53)), ZeroCountFloat: new(1.0),
			PositiveSpan: spans(0, 1), PositiveCount: []float64{0}}, false},
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

// A metric of a family of another type than histogram may carry a
// histogram too: Prometheus reads the value of the family's type alone,
// so a native histogram it would refuse there is no reason to refuse the
// source (FuzzConformance round 75: a counter with a zero count of 48).
func TestValidateHistogramOfOtherType(t *testing.T) {
	bad := &dto.Histogram{SampleCount: new(uint64(0)), ZeroThreshold: new(0.001), ZeroCount: new(uint64(48))}
	one := new(1.0)
	for typ, m := range map[dto.MetricType]*dto.Metric{
		dto.MetricType_COUNTER: {Counter: &dto.Counter{Value: one}, Histogram: bad},
		dto.MetricType_GAUGE:   {Gauge: &dto.Gauge{Value: one}, Histogram: bad},
		dto.MetricType_UNTYPED: {Untyped: &dto.Untyped{Value: one}, Histogram: bad},
		dto.MetricType_SUMMARY: {Summary: &dto.Summary{SampleCount: new(uint64(1)), SampleSum: one}, Histogram: bad},
	} {
		var pb bytes.Buffer
		if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(&dto.MetricFamily{Name: new("m"), Type: typ.Enum(), Metric: []*dto.Metric{m}}); err != nil {
			t.Fatal(err)
		}
		if err := Validate(ctProto, pb.Bytes()); err != nil {
			t.Errorf("%s: want valid, have %v", typ, err)
		}
	}
}

// Prometheus' protobuf parser compares a native histogram's spans with its
// buckets, but not those of one that follows a native histogram in its
// family (FuzzConformance round 79): that one is compacted unchecked, and
// Compact(0) drops every bucket of a side whose spans describe none when
// it reworks the side (it has a span, or an empty bucket), so the TSDB
// checks the histogram without them. Each case is refused first in its
// family, and as second as Prometheus takes it.
func TestValidateNativeAfterNative(t *testing.T) {
	spans := func(lengths ...uint32) []*dto.BucketSpan {
		var out []*dto.BucketSpan
		for _, n := range lengths {
			out = append(out, &dto.BucketSpan{Offset: new(int32(1)), Length: new(n)})
		}
		return out
	}
	first := &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
		PositiveSpan: spans(2), PositiveDelta: []int64{1, 0}}
	for _, tc := range []struct {
		name   string
		h      *dto.Histogram
		second bool // accepted after a native histogram
	}{
		{"spans of length 0, a bucket", &dto.Histogram{SampleCount: new(uint64(0)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: spans(0, 0), PositiveDelta: []int64{24}}, true},
		{"spans of length 0, the bucket counted", &dto.Histogram{SampleCount: new(uint64(24)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: spans(0), PositiveDelta: []int64{24}}, false},
		{"spans of length 0, a bucket below 0", &dto.Histogram{SampleCount: new(uint64(0)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			NegativeSpan: spans(0), NegativeDelta: []int64{-2}}, true},
		{"no spans, an empty bucket", &dto.Histogram{SampleCount: new(uint64(0)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveDelta: []int64{3, -3}}, true},
		{"no spans, buckets", &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveDelta: []int64{3}}, false},
		{"spans short", &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: spans(1), PositiveDelta: []int64{1, 1}}, false},
		{"float: spans of length 0, a bucket", &dto.Histogram{SampleCountFloat: new(1.0), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			PositiveSpan: spans(0), PositiveCount: []float64{-1}}, true},
		{"float: no spans, an empty bucket", &dto.Histogram{SampleCountFloat: new(1.0), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			NegativeCount: []float64{2, 0}}, true},
		{"float: no spans, buckets", &dto.Histogram{SampleCountFloat: new(1.0), SampleSum: new(1.0), Schema: new(int32(0)), ZeroThreshold: new(0.001),
			NegativeCount: []float64{2}}, false},
	} {
		for _, pos := range []string{"first", "second"} {
			t.Run(tc.name+"/"+pos, func(t *testing.T) {
				metrics := []*dto.Metric{{Histogram: tc.h}}
				want := false
				if pos == "second" {
					metrics = []*dto.Metric{{Label: []*dto.LabelPair{{Name: new("a"), Value: new("1")}}, Histogram: first}, {Histogram: tc.h}}
					want = tc.second
				}
				var pb bytes.Buffer
				if _, err := protodelim.MarshalTo(&pb, &dto.MetricFamily{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: metrics}); err != nil {
					t.Fatal(err)
				}
				if err := Validate(ctProto, pb.Bytes()); (err == nil) != want {
					t.Errorf("Validate: want ok %v, have %v", want, err)
				}
				var out bytes.Buffer
				rep, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, []Input{{Name: "pb", ContentType: ctProto, Body: pb.Bytes()}})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Sources[0].Up != want {
					t.Errorf("source up: want %v, have %v (%v)", want, rep.Sources[0].Up, rep.Sources[0].Err)
				}
				checkParses(t, fmtProto, out.Bytes())
			})
		}
	}
}
