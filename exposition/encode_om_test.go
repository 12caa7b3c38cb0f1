package exposition

import (
	"bytes"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestOpenMetricsExemplars: a protobuf exemplar OpenMetrics cannot carry
// (a timestamp past 2262, which its encoder would write as another time,
// or past 9999, which it refuses; a label holding a NUL byte or bytes that
// are not UTF-8, which make Prometheus refuse the answer) is left out of
// OpenMetrics output, its metric and the other exemplars kept; protobuf
// output keeps it.
func TestOpenMetricsExemplars(t *testing.T) {
	good := &dto.Exemplar{Label: []*dto.LabelPair{{Name: new("id"), Value: new("good")}}, Value: new(1.0), Timestamp: timestamppb.New(time.Unix(1625851153, 0))}
	for _, tc := range []struct {
		name string
		bad  *dto.Exemplar
	}{
		{"year 3000", &dto.Exemplar{Label: []*dto.LabelPair{{Name: new("id"), Value: new("bad")}}, Value: new(2.0), Timestamp: timestamppb.New(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))}},
		{"year 12000", &dto.Exemplar{Label: []*dto.LabelPair{{Name: new("id"), Value: new("bad")}}, Value: new(2.0), Timestamp: &timestamppb.Timestamp{Seconds: 316_000_000_000}}},
		{"label value not UTF-8", &dto.Exemplar{Label: []*dto.LabelPair{{Name: new("id"), Value: new("bad\xb5")}}, Value: new(2.0)}},
		{"NUL in a label name", &dto.Exemplar{Label: []*dto.LabelPair{{Name: new("i\x00d"), Value: new("bad")}}, Value: new(2.0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pb bytes.Buffer
			enc := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim)
			for _, mf := range []*dto.MetricFamily{
				{Name: new("c_total"), Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{
					{Label: []*dto.LabelPair{{Name: new("k"), Value: new("bad")}}, Counter: &dto.Counter{Value: new(5.0), Exemplar: tc.bad}},
					{Label: []*dto.LabelPair{{Name: new("k"), Value: new("good")}}, Counter: &dto.Counter{Value: new(6.0), Exemplar: good}},
				}},
				{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: &dto.Histogram{
					SampleCount: new(uint64(3)), SampleSum: new(4.0), Bucket: []*dto.Bucket{
						{UpperBound: new(1.0), CumulativeCount: new(uint64(1)), Exemplar: good},
						{UpperBound: new(2.0), CumulativeCount: new(uint64(2)), Exemplar: tc.bad},
					}}}}},
			} {
				if err := enc.Encode(mf); err != nil {
					t.Fatal(err)
				}
			}
			inputs := []Input{{Name: "pb", ContentType: ctProto, Body: pb.Bytes()}}
			var om bytes.Buffer
			rep, err := Merge(&om, Options{Label: "exporter", Format: fmtOM}, inputs)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Conflicts) != 0 {
				t.Errorf("conflicts: want none, have %v", rep.Conflicts)
			}
			body := om.String()
			for _, want := range []string{"c_total{k=\"bad\",exporter=\"pb\"} 5.0\n", `id="good"`, "h_bucket{exporter=\"pb\",le=\"2.0\"} 2\n", "# EOF\n"} {
				if !strings.Contains(body, want) {
					t.Errorf("want %s in the output:\n%s", want, body)
				}
			}
			if have := strings.Count(body, `id="good"`); have != 2 {
				t.Errorf("good exemplars: want 2, have %d:\n%s", have, body)
			}
			if strings.Contains(body, "bad\xb5") || strings.Contains(body, "\x00") || strings.Contains(body, `id="bad"`) || strings.Contains(body, " -") {
				t.Errorf("an exemplar OpenMetrics cannot carry is in the output:\n%s", body)
			}
			checkParses(t, fmtOM, om.Bytes())
			var pbOut bytes.Buffer
			if _, err := Merge(&pbOut, Options{Label: "exporter", Format: fmtProto}, inputs); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(pbOut.Bytes(), []byte("bad")) {
				t.Errorf("protobuf output lost the exemplar")
			}
		})
	}
}
