package exposition

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// keepOM is an OpenMetrics body with every feature text 0.0.4 cannot say.
const keepOM = `# TYPE c_seconds counter
# UNIT c_seconds seconds
# HELP c_seconds A counter.
c_seconds_total{a="1"} 1 # {t="x"} 1 1520879607.5
c_seconds_created{a="1"} 1520872607.25
# TYPE h histogram
h_bucket{le="1"} 1 # {t="y"} 0.5
h_bucket{le="+Inf"} 2
h_count 2
h_sum 3
h_created 1520872607
# TYPE gh gaugehistogram
gh_bucket{le="1"} 1 # {id="1"} 0.2
gh_bucket{le="+Inf"} 2
gh_gcount 2
gh_gsum 3
# TYPE i info
i_info{v="1"} 1
# TYPE s stateset
s{s="a"} 1
s{s="b"} 0
# TYPE q summary
q{quantile="0.5"} 1
q_count 2
q_sum 3
q_created 5.5
# TYPE g gauge
g 1 # {t="z"} 1
# TYPE "my.c" counter
{"my.c_total"} 4 # {t="u"} 2
{"my.c_created"} 1520872607.5
# EOF
`

// TestKeepOpenMetrics: OpenMetrics output keeps an OpenMetrics source's
// exemplars (counters, buckets), _created, UNIT, gauge histograms, infos
// and statesets; text output keeps what Prometheus reads from it by
// default (the _created series, a gauge histogram's samples as gauges) and
// leaves out what text cannot say (exemplars, UNIT).
func TestKeepOpenMetrics(t *testing.T) {
	for _, tc := range []struct {
		name        string
		format      expfmt.Format
		want, unwan []string
	}{
		{"text", fmtText, []string{
			`c_seconds_created{a="1",exporter="src"} 1520872607.25`,
			"# TYPE gh gauge\n",
			`gh_bucket{le="1",exporter="src"} 1`,
			`gh_gcount{exporter="src"} 2`,
			`gh_gsum{exporter="src"} 3`,
			`h_created{exporter="src"} 1520872607`,
			`q_created{exporter="src"} 5.5`,
			"# TYPE i_info gauge\n",
			`i_info{v="1",exporter="src"} 1`,
			"# TYPE s gauge\n",
			`my_c_created{exporter="src"} 1520872607.5`,
		}, []string{"# UNIT", " # {", "gaugehistogram"}},
		{"text, UTF-8", fmtText.WithEscapingScheme(model.NoEscaping), []string{
			`{"my.c_created",exporter="src"} 1520872607.5`,
		}, nil},
		{"OpenMetrics", fmtOM, []string{
			"# TYPE c_seconds counter\n# UNIT c_seconds seconds\n",
			`c_seconds_total{a="1",exporter="src"} 1.0 # {t="x"} 1.0 1.5208796075e+09`,
			// Not the source's float, which no float64 of nanoseconds
			// divided by 1e9 is (expfmt's way), but as many
			// milliseconds to Prometheus.
			`c_seconds_created{a="1",exporter="src"} 1.5208726072500002e+09`,
			`h_bucket{exporter="src",le="1.0"} 1 # {t="y"} 0.5`,
			`h_created{exporter="src"} 1.520872607e+09`,
			"# TYPE gh gaugehistogram\n",
			`gh_bucket{exporter="src",le="1.0"} 1 # {id="1"} 0.2`,
			`gh_gcount{exporter="src"} 2`,
			`gh_gsum{exporter="src"} 3.0`,
			`i_info{v="1",exporter="src"} 1.0`,
			`s{s="a",exporter="src"} 1.0`,
			`q_created{exporter="src"} 5.5`,
			`g{exporter="src"} 1.0` + "\n",
			`my_c_total{exporter="src"} 4.0 # {t="u"} 2.0`,
			`my_c_created{exporter="src"} 1.5208726075e+09`,
		}, []string{"gh_count", "gh_sum"}},
		{"OpenMetrics, UTF-8", fmtOM.WithEscapingScheme(model.NoEscaping), []string{
			`{"my.c_total",exporter="src"} 4.0 # {t="u"} 2.0`,
			`{"my.c_created",exporter="src"} 1.5208726075e+09`,
		}, nil},
	} {
		var out bytes.Buffer
		rep, err := Merge(&out, Options{Label: "exporter", Format: tc.format}, []Input{{Name: "src", ContentType: ctOM, Body: []byte(keepOM)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Conflicts) > 0 || !rep.Sources[0].Up {
			t.Errorf("%s: want no conflict, source up; have %v, %+v", tc.name, rep.Conflicts, rep.Sources[0])
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: want %q in\n%s", tc.name, w, out.String())
			}
		}
		for _, u := range tc.unwan {
			if strings.Contains(out.String(), u) {
				t.Errorf("%s: want no %q in\n%s", tc.name, u, out.String())
			}
		}
	}
}

// TestKeepOpenMetricsProtobuf: protobuf output carries an OpenMetrics
// source's exemplars, created timestamps (as Prometheus reads them, in
// milliseconds), units and gauge histograms, in both escaping schemes.
func TestKeepOpenMetricsProtobuf(t *testing.T) {
	for _, scheme := range []model.EscapingScheme{model.UnderscoreEscaping, model.NoEscaping} {
		var out bytes.Buffer
		if _, err := Merge(&out, Options{Label: "exporter", Format: fmtProto.WithEscapingScheme(scheme)}, []Input{{Name: "src", ContentType: ctOM, Body: []byte(keepOM)}}); err != nil {
			t.Fatal(err)
		}
		fams := map[string]*dto.MetricFamily{}
		if err := decodeProto(out.Bytes(), func(mf *dto.MetricFamily) error { fams[mf.GetName()] = mf; return nil }); err != nil {
			t.Fatal(err)
		}
		c := fams["c_seconds_total"]
		if c.GetUnit() != "seconds" || c.GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s: c_seconds_total: want unit seconds, counter; have %v", scheme, c)
		}
		cm := c.GetMetric()[0].GetCounter()
		if have := cm.GetCreatedTimestamp().AsTime().UnixMilli(); have != 1520872607250 {
			t.Errorf("%s: c_seconds_total created: want 1520872607250 ms, have %d", scheme, have)
		}
		if e := cm.GetExemplar(); e.GetValue() != 1 || e.GetTimestamp().AsTime().UnixMilli() != 1520879607500 || e.GetLabel()[0].GetValue() != "x" {
			t.Errorf("%s: c_seconds_total exemplar: have %v", scheme, e)
		}
		gh := fams["gh"]
		if gh.GetType() != dto.MetricType_GAUGE_HISTOGRAM {
			t.Fatalf("%s: gh: want a gauge histogram, have %v", scheme, gh)
		}
		h := gh.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 2 || h.GetSampleSum() != 3 || h.GetBucket()[0].GetExemplar().GetValue() != 0.2 {
			t.Errorf("%s: gh: have %v", scheme, h)
		}
		if have := fams["q"].GetMetric()[0].GetSummary().GetCreatedTimestamp().AsTime().UnixMilli(); have != 5500 {
			t.Errorf("%s: q created: want 5500 ms, have %d", scheme, have)
		}
		if have := fams["h"].GetMetric()[0].GetHistogram().GetBucket()[0].GetExemplar().GetValue(); have != 0.5 {
			t.Errorf("%s: h bucket exemplar: want 0.5, have %v", scheme, have)
		}
		name := "my_c_total"
		if scheme == model.NoEscaping {
			name = "my.c_total"
		}
		if m := fams[name].GetMetric(); len(m) != 1 || m[0].GetCounter().GetExemplar().GetValue() != 2 || m[0].GetCounter().GetCreatedTimestamp() == nil {
			t.Errorf("%s: %s: want its exemplar and created timestamp, have %v", scheme, name, fams[name])
		}
		if fams["i_info"] == nil || fams["s"] == nil || len(fams["s"].GetMetric()) != 2 {
			t.Errorf("%s: info and stateset: have %v, %v", scheme, fams["i_info"], fams["s"])
		}
	}
}

// TestOpenMetricsWholeFloatHistogram: a protobuf float histogram whose
// counts are whole numbers is written as an OpenMetrics histogram (expfmt
// refuses every float histogram); one with a fractional count is left out
// (TestOpenMetricsNeverCut).
func TestOpenMetricsWholeFloatHistogram(t *testing.T) {
	var pb bytes.Buffer
	if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(&dto.MetricFamily{
		Name: new("fh"), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCountFloat: new(3.0), SampleSum: new(1.5),
			Bucket: []*dto.Bucket{{UpperBound: new(1.0), CumulativeCountFloat: new(2.0)}, {UpperBound: new(2.0), CumulativeCountFloat: new(3.0)}}}}},
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := Merge(&out, Options{Label: "exporter", Format: fmtOM}, []Input{{Name: "pb", ContentType: ctProto, Body: pb.Bytes()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Conflicts) > 0 {
		t.Errorf("want no conflict, have %v", rep.Conflicts)
	}
	for _, want := range []string{`fh_bucket{exporter="pb",le="1.0"} 2` + "\n", `fh_bucket{exporter="pb",le="+Inf"} 3` + "\n", `fh_count{exporter="pb"} 3` + "\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("want %q in\n%s", want, out.String())
		}
	}
	checkParses(t, fmtOM, out.Bytes())
}

// TestCreatedCollision: a family X_created beside an OpenMetrics
// histogram or summary X with _created samples is left out for its source
// in every format (text writes those samples as X_created series in X's
// block, which a family X_created cannot follow); beside one without, or
// beside a counter (whose block follows X_created's), it stays.
func TestCreatedCollision(t *testing.T) {
	inputs := []Input{
		{Name: "om", ContentType: ctOM, Body: []byte("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\nh_created 5\n" +
			"# TYPE q summary\nq_count 1\nq_sum 1\n# TYPE c counter\nc_total 1\nc_created 5\n# EOF\n")},
		{Name: "text", ContentType: ctText, Body: []byte("# TYPE h_created gauge\nh_created 7\n# TYPE q_created gauge\nq_created 8\n# TYPE c_created gauge\nc_created 9\n")},
	}
	for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
		var out bytes.Buffer
		rep, err := Merge(&out, Options{Label: "exporter", Format: format}, inputs)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Conflicts) != 1 || rep.Conflicts[0].Source != "text" || rep.Conflicts[0].Family != "h_created" {
			t.Errorf("%s: want the conflict text/h_created, have %v", format, rep.Conflicts)
		}
		for _, want := range []string{`q_created{exporter="text"}`, `c_created{exporter="text"}`} {
			if format.FormatType() != expfmt.TypeProtoDelim && !strings.Contains(out.String(), want) {
				t.Errorf("%s: want %s kept:\n%s", format, want, out.String())
			}
		}
		checkParses(t, format, out.Bytes())
	}
}

// TestKeepTimestamp: an OpenMetrics time (seconds) is given to the
// encoders so that Prometheus reads the same from the output: in
// OpenMetrics the same float where one exists, else the same
// milliseconds; in protobuf the milliseconds Prometheus' OpenMetrics parser
// reads (seconds times 1000, truncated); none past nanoseconds' range.
func TestKeepTimestamp(t *testing.T) {
	for _, sec := range []float64{0, 1, -5.5, 1520872607.25, 1520879607.789, 1520872607.123, 1600000000.999, 9223372035.5, -9223372035.5} {
		m := &merger{opts: Options{Format: fmtOM}}
		ts := m.timestamp(sec)
		if ts == nil {
			t.Errorf("%v: OpenMetrics: want a time, have none", sec)
			continue
		}
		v := float64(ts.AsTime().UnixNano()) / 1e9 // as expfmt writes it
		if v != sec && int64(v*1000) != int64(sec*1000) {
			t.Errorf("%v: OpenMetrics: written as %v, which Prometheus reads as %d ms, not %d", sec, v, int64(v*1000), int64(sec*1000))
		}
		m.opts.Format = fmtProto
		ts = m.timestamp(sec)
		if have := ts.GetSeconds()*1000 + int64(ts.GetNanos())/1e6; have != int64(sec*1000) {
			t.Errorf("%v: protobuf: want %d ms, have %d", sec, int64(sec*1000), have)
		}
	}
	for _, sec := range []float64{math.NaN(), math.Inf(1), 1e300, -1e300, 9223372037} {
		m := &merger{opts: Options{Format: fmtOM}}
		if ts := m.timestamp(sec); ts != nil {
			t.Errorf("%v: OpenMetrics: want none, have %v", sec, ts)
		}
	}
}

// TestGaugeHistogramCollision: a family named like a member of a gauge
// histogram gh (gh_bucket, gh_gcount, gh_gsum from OpenMetrics, gh_count
// and gh_sum from protobuf), which text writes in gh's block, is left out
// for its source in every format.
func TestGaugeHistogramCollision(t *testing.T) {
	inputs := []Input{
		{Name: "om", ContentType: ctOM, Body: []byte("# TYPE gh gaugehistogram\ngh_bucket{le=\"+Inf\"} 1\ngh_gcount 1\ngh_gsum 1\n# EOF\n")},
		{Name: "text", ContentType: ctText, Body: []byte("# TYPE gh_gcount gauge\ngh_gcount 7\n# TYPE gh_gsum gauge\ngh_gsum 8\n# TYPE gh_count gauge\ngh_count 9\n")},
	}
	for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
		var out bytes.Buffer
		rep, err := Merge(&out, Options{Label: "exporter", Format: format}, inputs)
		if err != nil {
			t.Fatal(err)
		}
		var have []string
		for _, c := range rep.Conflicts {
			have = append(have, c.Source+"/"+c.Family)
		}
		if want := "[text/gh_gcount text/gh_gsum text/gh_count]"; fmt.Sprint(have) != want {
			t.Errorf("%s: conflicts: want %s, have %v", format, want, have)
		}
		checkParses(t, format, out.Bytes())
	}
}

// TestProtobufGaugeHistogram: a protobuf gauge histogram stays one in
// protobuf and OpenMetrics output (there with _gcount and _gsum, as
// OpenMetrics names them), and meets an OpenMetrics one of its name
// without a conflict; text writes its samples as gauges under the names
// Prometheus reads from protobuf (_count, _sum).
func TestProtobufGaugeHistogram(t *testing.T) {
	var pb bytes.Buffer
	if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(&dto.MetricFamily{
		Name: new("gh"), Type: dto.MetricType_GAUGE_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(3.0),
			Bucket: []*dto.Bucket{{UpperBound: new(1.0), CumulativeCount: new(uint64(1))}}}}},
	}); err != nil {
		t.Fatal(err)
	}
	inputs := []Input{
		{Name: "pb", ContentType: ctProto, Body: pb.Bytes()},
		{Name: "om", ContentType: ctOM, Body: []byte("# TYPE gh gaugehistogram\ngh_bucket{le=\"+Inf\"} 1\ngh_gcount 1\ngh_gsum 1\n# EOF\n")},
	}
	for _, tc := range []struct {
		format expfmt.Format
		want   []string
	}{
		{fmtText, []string{"# TYPE gh gauge\n", `gh_count{exporter="pb"} 2`, `gh_sum{exporter="pb"} 3`, `gh_gcount{exporter="om"} 1`}},
		{fmtOM, []string{"# TYPE gh gaugehistogram\n", `gh_gcount{exporter="pb"} 2`, `gh_gsum{exporter="pb"} 3.0`, `gh_gcount{exporter="om"} 1`}},
		{fmtProto, nil},
	} {
		var out bytes.Buffer
		rep, err := Merge(&out, Options{Label: "exporter", Format: tc.format}, inputs)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Conflicts) > 0 {
			t.Errorf("%s: want no conflict, have %v", tc.format, rep.Conflicts)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: want %q in\n%s", tc.format, w, out.String())
			}
		}
		checkParses(t, tc.format, out.Bytes())
		if tc.format.FormatType() != expfmt.TypeProtoDelim {
			continue
		}
		n := 0
		if err := decodeProto(out.Bytes(), func(mf *dto.MetricFamily) error {
			if mf.GetName() == "gh" {
				n = len(mf.GetMetric())
				if mf.GetType() != dto.MetricType_GAUGE_HISTOGRAM {
					t.Errorf("protobuf: gh: want a gauge histogram, have %v", mf.GetType())
				}
			}
			return nil
		}); err != nil || n != 2 {
			t.Errorf("protobuf: gh: want 2 metrics, have %d (%v)", n, err)
		}
	}
}

// TestGaugeHistogramStartInOpenMetrics: an OpenMetrics gauge histogram
// has no created timestamp, and Prometheus reads a _created line under it
// as a series of its own: a protobuf gauge histogram's created timestamp
// is left out of OpenMetrics output (FuzzConformance round 82) and kept in
// protobuf output.
func TestGaugeHistogramStartInOpenMetrics(t *testing.T) {
	var pb bytes.Buffer
	if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(&dto.MetricFamily{
		Name: new("gh"), Type: dto.MetricType_GAUGE_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(3.0),
			CreatedTimestamp: &timestamppb.Timestamp{Seconds: 10},
			Bucket:           []*dto.Bucket{{UpperBound: new(1.0), CumulativeCount: new(uint64(1))}}}}},
	}); err != nil {
		t.Fatal(err)
	}
	inputs := []Input{{Name: "pb", ContentType: ctProto, Body: pb.Bytes()}}
	var out bytes.Buffer
	if _, err := Merge(&out, Options{Label: "exporter", Format: fmtOM}, inputs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "gh_created") {
		t.Errorf("OpenMetrics: want no gh_created line, have\n%s", out.String())
	}
	checkParses(t, fmtOM, out.Bytes())
	out.Reset()
	if _, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, inputs); err != nil {
		t.Fatal(err)
	}
	var start int64
	if err := decodeProto(out.Bytes(), func(mf *dto.MetricFamily) error {
		if mf.GetName() == "gh" {
			start = mf.GetMetric()[0].GetHistogram().GetCreatedTimestamp().GetSeconds()
		}
		return nil
	}); err != nil || start != 10 {
		t.Errorf("protobuf: gh: want its created timestamp 10 s, have %d (%v)", start, err)
	}
}
