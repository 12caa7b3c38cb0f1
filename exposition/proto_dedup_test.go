package exposition

import (
	"bytes"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestProtobufDuplicateBuckets: a protobuf histogram with two buckets of
// one upper bound (a summary with two of one quantile) holds one series
// twice; the plan writes the first once, and the decoded outputs, which
// give each metric its source's own message back, do too.
func TestProtobufDuplicateBuckets(t *testing.T) {
	var pb bytes.Buffer
	if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(&dto.MetricFamily{
		Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(1.0), Bucket: []*dto.Bucket{
			{UpperBound: new(1.0), CumulativeCount: new(uint64(1))},
			{UpperBound: new(1.0), CumulativeCount: new(uint64(2))},
			{UpperBound: new(2.0), CumulativeCount: new(uint64(3))},
		}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(&dto.MetricFamily{
		Name: new("s"), Type: dto.MetricType_SUMMARY.Enum(),
		Metric: []*dto.Metric{{Summary: &dto.Summary{SampleCount: new(uint64(3)), SampleSum: new(1.0), Quantile: []*dto.Quantile{
			{Quantile: new(0.5), Value: new(1.0)}, {Quantile: new(0.5), Value: new(2.0)}, {Quantile: new(0.9), Value: new(3.0)},
		}}}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
		var out bytes.Buffer
		rep, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{{Name: "s", ContentType: ctProto, Body: pb.Bytes()}})
		if err != nil {
			t.Fatal(err)
		}
		if have := rep.Sources[0].Duplicates; have != 2 {
			t.Errorf("%s: duplicates: want 2, have %d", format, have)
		}
		fams, err := decodeAll(format, out.Bytes())
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, out.Bytes())
		}
		for _, mf := range fams {
			for _, m := range mf.GetMetric() {
				if n := len(m.GetHistogram().GetBucket()); mf.GetName() == "h" && n != 3 && n != 2 {
					t.Errorf("%s: h has %d buckets", format, n)
				}
				for i, b := range m.GetHistogram().GetBucket() {
					if i > 0 && b.GetUpperBound() == m.GetHistogram().GetBucket()[i-1].GetUpperBound() {
						t.Errorf("%s: h has bucket %v twice:\n%s", format, b.GetUpperBound(), out.Bytes())
					}
					if b.GetUpperBound() == 1 && b.GetCumulativeCount() != 1 {
						t.Errorf("%s: want the first bucket 1 (count 1), have count %d", format, b.GetCumulativeCount())
					}
				}
				for i, q := range m.GetSummary().GetQuantile() {
					if i > 0 && q.GetQuantile() == m.GetSummary().GetQuantile()[i-1].GetQuantile() {
						t.Errorf("%s: s has quantile %v twice:\n%s", format, q.GetQuantile(), out.Bytes())
					}
				}
			}
		}
	}
}

// decodeAll reads a merged output back as families.
func decodeAll(format expfmt.Format, out []byte) ([]*dto.MetricFamily, error) {
	if format.FormatType() == expfmt.TypeOpenMetrics {
		// expfmt decodes no OpenMetrics: without its # EOF, this output
		// reads as text.
		format, out = fmtText, []byte(strings.TrimSuffix(string(out), "# EOF\n"))
	}
	dec := expfmt.NewDecoder(bytes.NewReader(out), expfmt.NewFormat(format.FormatType()))
	var fams []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err != nil {
			if err.Error() == "EOF" {
				return fams, nil
			}
			return fams, err
		}
		fams = append(fams, mf)
	}
}

// TestProtobufNativeDuplicateBuckets: a native histogram's classic buckets
// are no series to Prometheus reading protobuf, which takes its exemplars
// from them: protobuf output keeps them as the source sent them, a
// duplicate's exemplar included; OpenMetrics output, where they are
// series, writes the first of two once.
func TestProtobufNativeDuplicateBuckets(t *testing.T) {
	var pb bytes.Buffer
	ts := &timestamppb.Timestamp{Seconds: 1}
	if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(&dto.MetricFamily{
		Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(1.0),
			Schema: new(int32(0)), ZeroThreshold: new(0.001), ZeroCount: new(uint64(1)),
			PositiveSpan: []*dto.BucketSpan{{Offset: new(int32(0)), Length: new(uint32(1))}}, PositiveDelta: []int64{2},
			Bucket: []*dto.Bucket{
				{UpperBound: new(1.0), CumulativeCount: new(uint64(1))},
				{UpperBound: new(1.0), CumulativeCount: new(uint64(2)), Exemplar: &dto.Exemplar{Value: new(0.5), Timestamp: ts}},
				{UpperBound: new(2.0), CumulativeCount: new(uint64(3))},
			}}}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format  expfmt.Format
		buckets int // 1, 1, 2 in protobuf; 1, 2, +Inf in OpenMetrics
	}{{fmtProto, 3}, {fmtOM, 3}} {
		var out bytes.Buffer
		if _, err := Merge(&out, Options{Label: "exporter", Format: tc.format}, []Input{{Name: "s", ContentType: ctProto, Body: pb.Bytes()}}); err != nil {
			t.Fatal(err)
		}
		fams, err := decodeAll(tc.format, out.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", tc.format, err)
		}
		for _, mf := range fams {
			if mf.GetName() != "h" {
				continue
			}
			bb := mf.GetMetric()[0].GetHistogram().GetBucket()
			if len(bb) != tc.buckets {
				t.Errorf("%s: want %d buckets, have %d:\n%s", tc.format, tc.buckets, len(bb), out.Bytes())
			}
			if tc.format == fmtProto && len(bb) == 3 && bb[1].GetExemplar() == nil {
				t.Errorf("protobuf: the second bucket lost its exemplar")
			}
			if tc.format == fmtOM && len(bb) == 3 && bb[0].GetUpperBound() == bb[1].GetUpperBound() {
				t.Errorf("OpenMetrics: bucket %v twice:\n%s", bb[0].GetUpperBound(), out.Bytes())
			}
		}
	}
}
