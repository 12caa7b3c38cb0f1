package exposition

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// series lists the series of a decoded exposition, one string each:
// family, type, labels sorted, and what the metric holds.
func series(fams []*dto.MetricFamily) []string {
	var out []string
	for _, mf := range fams {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(ls)
			var v string
			switch {
			case m.Summary != nil:
				v = fmt.Sprint(m.Summary.GetSampleCount(), m.Summary.GetSampleSum(), len(m.Summary.GetQuantile()))
			case m.Histogram != nil:
				v = fmt.Sprint(m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum())
			case m.Counter != nil:
				v = fmt.Sprint(m.Counter.GetValue())
			case m.Gauge != nil:
				v = fmt.Sprint(m.Gauge.GetValue())
			default:
				v = fmt.Sprint(m.GetUntyped().GetValue())
			}
			if strings.HasPrefix(mf.GetName(), "corral_source_scrape_duration") {
				v = "" // written with different precision
			}
			out = append(out, fmt.Sprintf("%s %s {%s} %s", mf.GetName(), mf.GetType(), strings.Join(ls, ","), v))
		}
	}
	slices.Sort(out)
	return out
}

// TestDecodedAgrees: the text and protobuf outputs of one merge carry the
// same families, series and values, and the same report, for every input
// set of the golden tests and for names that need escaping.
func TestDecodedAgrees(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs func(t testing.TB) []Input
	}{
		{"node, histograms, summary", func(t testing.TB) []Input {
			return []Input{in(t, "node", "node_exporter.prom"), in(t, "hist", "histograms.prom"), in(t, "rpc", "summary.prom")}
		}},
		{"conflicts and garbage", func(t testing.TB) []Input {
			return []Input{in(t, "b", "inputs/conflict_b.prom"), in(t, "a", "inputs/conflict_a.prom"), in(t, "x", "inputs/garbage.prom")}
		}},
		{"tricky", func(t testing.TB) []Input {
			var ins []Input
			for _, f := range []string{"duplicate_help", "duplicate_series", "empty", "exporter_label", "split_family", "suffix_families", "type_after_samples", "values"} {
				ins = append(ins, in(t, f, "inputs/"+f+".prom", "exported_exporter", "static"))
			}
			return ins
		}},
		{"utf8 names", func(t testing.TB) []Input { return []Input{in(t, "utf8", "inputs/utf8_names.prom")} }},
		{"openmetrics and protobuf input", func(t testing.TB) []Input {
			return []Input{in(t, "om", "exemplars.om.txt"), in(t, "pb", "node_exporter.pb")}
		}},
	} {
		for _, scheme := range []model.EscapingScheme{model.UnderscoreEscaping, model.DotsEscaping, model.ValueEncodingEscaping} {
			var text, proto bytes.Buffer
			textRep, err := Merge(&text, Options{Label: "exporter", Format: expfmt.FmtText.WithEscapingScheme(scheme)}, tc.inputs(t))
			if err != nil {
				t.Fatal(err)
			}
			protoRep, err := Merge(&proto, Options{Label: "exporter", Format: expfmt.FmtProtoDelim.WithEscapingScheme(scheme)}, tc.inputs(t))
			if err != nil {
				t.Fatal(err)
			}
			p := expfmt.NewTextParser(model.UTF8Validation)
			parsed, err := p.TextToMetricFamilies(bytes.NewReader(text.Bytes()))
			if err != nil {
				t.Fatalf("%s, %s: text output does not parse: %v", tc.name, scheme, err)
			}
			var fromText, fromProto []*dto.MetricFamily
			for _, mf := range parsed {
				fromText = append(fromText, mf)
			}
			if err := decodeProto(proto.Bytes(), func(mf *dto.MetricFamily) error {
				fromProto = append(fromProto, mf)
				return nil
			}); err != nil {
				t.Fatalf("%s, %s: protobuf output does not decode: %v", tc.name, scheme, err)
			}
			// What protobuf cannot carry, a histogram or summary missing a
			// part, is a conflict of protobuf's only (TestDecodedPartsMissing).
			protoRep, lost := withoutFormatConflicts(protoRep)
			fromText = slices.DeleteFunc(fromText, func(mf *dto.MetricFamily) bool { return lost[mf.GetName()] })
			want, have := series(fromText), series(fromProto)
			if !slices.Equal(want, have) {
				t.Errorf("%s, %s: series differ\nwant (text)  %q\nhave (proto) %q", tc.name, scheme, want, have)
			}
			if fmt.Sprint(textRep) != fmt.Sprint(protoRep) {
				t.Errorf("%s, %s: reports differ\nwant (text)  %v\nhave (proto) %v", tc.name, scheme, textRep, protoRep)
			}
		}
	}
}

// withoutFormatConflicts gives rep without the conflicts of one output
// format only: a histogram or summary missing a part a decoded format
// always carries or with samples of different timestamps
// (TestDecodedPartsMissing), a name a text format with UTF-8 names cannot
// carry (TestWritableUTF8Names); and the families they left out.
func withoutFormatConflicts(rep Report) (Report, map[string]bool) {
	lost := map[string]bool{}
	rep.Conflicts = slices.DeleteFunc(slices.Clone(rep.Conflicts), func(c Conflict) bool {
		if strings.HasSuffix(c.Reason, "cannot leave out") || strings.HasSuffix(c.Reason, "cannot carry") {
			lost[c.Family] = true
			return true
		}
		return false
	})
	return rep, lost
}

// TestOpenMetricsNeverCut: a histogram with counts OpenMetrics 1.0 cannot
// carry (fractional, from text; float, from protobuf) is left out as a
// conflict of its source, and the rest of the output is whole, to # EOF.
func TestOpenMetricsNeverCut(t *testing.T) {
	frac := "# TYPE h histogram\nh_bucket{le=\"1\"} 0.5\nh_bucket{le=\"+Inf\"} 1.5\nh_sum 1\nh_count 1.5\n# TYPE z gauge\nz 1\n"
	var pb bytes.Buffer
	if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(&dto.MetricFamily{
		Name: new("fh"), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCountFloat: new(2.5), SampleSum: new(1.0),
			Schema: new(int32(0)), ZeroThreshold: new(0.001), ZeroCountFloat: new(0.5),
			PositiveSpan: []*dto.BucketSpan{{Offset: new(int32(0)), Length: new(uint32(1))}}, PositiveCount: []float64{2}}}},
	}); err != nil {
		t.Fatal(err)
	}
	inputs := []Input{
		{Name: "frac", ContentType: ctText, Body: []byte(frac)},
		{Name: "float", ContentType: ctProto, Body: pb.Bytes()},
		{Name: "whole", ContentType: ctText, Body: []byte("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n")},
		{Name: "nan", ContentType: ctText, Body: []byte("# TYPE h histogram\nh_bucket{le=\"1\"} NaN\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n")},
		{Name: "inf", ContentType: ctText, Body: []byte("# TYPE h histogram\nh_bucket{le=\"+Inf\"} +Inf\nh_sum 1\nh_count +Inf\n")},
	}
	for _, format := range []expfmt.Format{fmtOM, expfmt.FmtOpenMetrics_0_0_1} {
		var out bytes.Buffer
		rep, err := Merge(&out, Options{Label: "exporter", Format: format}, inputs)
		if err != nil {
			t.Fatal(err)
		}
		body := out.String()
		if !strings.HasSuffix(body, "# EOF\n") {
			t.Fatalf("%s: output cut short:\n%s", format, body)
		}
		for _, want := range []string{`z{exporter="frac"} 1`, `h_count{exporter="whole"} 2`, `corral_source_up{exporter="float"} 1`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: want %s in the output:\n%s", format, want, body)
			}
		}
		var conflicts []string
		for _, c := range rep.Conflicts {
			conflicts = append(conflicts, c.Source+"/"+c.Family)
			if c.Source != "float" && !strings.Contains(c.Reason, "is not a whole number: OpenMetrics 1.0 has no float histograms") {
				t.Errorf("%s: %s/%s: want the plan's reason, have %q", format, c.Source, c.Family, c.Reason)
			}
		}
		if want := "[float/fh frac/h inf/h nan/h]"; fmt.Sprint(conflicts) != want {
			t.Errorf("%s: conflicts: want %s, have %v", format, want, conflicts)
		}
		checkParses(t, format, out.Bytes())
	}
}

// TestDecodedEmptyFamily: a family all of whose samples the plan left out
// (a histogram's plain sample, OpenMetrics _created lines) is no conflict
// in the decoded formats: it is just not written.
func TestDecodedEmptyFamily(t *testing.T) {
	inputs := []Input{{Name: "s", ContentType: ctText, Body: []byte("# TYPE h histogram\nh 1\n# TYPE g gauge\ng 1\n")}}
	for _, format := range []expfmt.Format{fmtOM, fmtProto} {
		var out bytes.Buffer
		rep, err := Merge(&out, Options{Label: "exporter", Format: format}, inputs)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Conflicts) != 0 || rep.Sources[0].Misshapen != 1 {
			t.Errorf("%s: want no conflict and one misshapen sample, have %v", format, rep)
		}
		checkParses(t, format, out.Bytes())
	}
}

// TestProtobufBucketAfterInf: the text parser reads a bucket line after
// the +Inf bucket as a series, but Prometheus' protobuf parser stops at the
// +Inf bucket, so protobuf output must write it last. Two instances: a text
// source whose bucket lines are out of order, and a protobuf source of two
// classic histograms of one series (their buckets meet in one metric).
func TestProtobufBucketAfterInf(t *testing.T) {
	twoMessages := func() []byte {
		h := func(bounds ...float64) *dto.Metric {
			hist := &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(0.0)}
			for _, b := range bounds {
				hist.Bucket = append(hist.Bucket, &dto.Bucket{UpperBound: new(b), CumulativeCount: new(uint64(0))})
			}
			return &dto.Metric{Histogram: hist}
		}
		mf := &dto.MetricFamily{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{h(0.5, math.Inf(1)), h(0.25)}}
		var b bytes.Buffer
		if _, err := protodelim.MarshalTo(&b, mf); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, in := range []Input{
		{Name: "s", ContentType: ctText, Body: []byte("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_bucket{le=\"0.5\"} 0\nh_bucket{le=\"0.25\"} 0\nh_count 1\nh_sum 0\n")},
		{Name: "s", ContentType: ctProto, Body: twoMessages()},
	} {
		for _, format := range []expfmt.Format{fmtProto, expfmt.FmtProtoDelim.WithEscapingScheme(model.NoEscaping)} {
			var out bytes.Buffer
			if _, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{in}); err != nil {
				t.Fatal(err)
			}
			var bounds []float64
			for _, mf := range decodeProtoOut(t, out.Bytes()) {
				if mf.GetName() == "h" {
					for _, b := range mf.GetMetric()[0].GetHistogram().GetBucket() {
						bounds = append(bounds, b.GetUpperBound())
					}
				}
			}
			if want := []float64{0.25, 0.5, math.Inf(1)}; !slices.Equal(bounds, want) {
				t.Errorf("%s source, %s: want buckets %v (+Inf last), have %v", in.ContentType, format, want, bounds)
			}
		}
	}
}

// TestProtobufSecondMessageOfLabels: of two classic histograms of one
// series in a protobuf family, Prometheus reads every bucket, the first of
// each bound; the second's first bucket repeats the first's, its second
// does not, and must be in every output (its message could not be
// restored: its lines went to the first's metric).
func TestProtobufSecondMessageOfLabels(t *testing.T) {
	h := func(bounds ...float64) *dto.Metric {
		hist := &dto.Histogram{SampleCount: new(uint64(1)), SampleSum: new(0.0), Schema: new(int32(3))} // a field text cannot carry: the message is decoded
		for _, b := range bounds {
			hist.Bucket = append(hist.Bucket, &dto.Bucket{UpperBound: new(b), CumulativeCount: new(uint64(0))})
		}
		return &dto.Metric{Histogram: hist}
	}
	var in bytes.Buffer
	if _, err := protodelim.MarshalTo(&in, &dto.MetricFamily{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{h(1), h(1, 2)}}); err != nil {
		t.Fatal(err)
	}
	for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
		var out bytes.Buffer
		if _, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{{Name: "s", ContentType: ctProto, Body: in.Bytes()}}); err != nil {
			t.Fatal(err)
		}
		var bounds []float64
		if format == fmtProto {
			for _, mf := range decodeProtoOut(t, out.Bytes()) {
				for _, m := range mf.GetMetric() {
					for _, b := range m.GetHistogram().GetBucket() {
						bounds = append(bounds, b.GetUpperBound())
					}
				}
			}
			if len(bounds) > 0 && !math.IsInf(bounds[len(bounds)-1], 1) {
				bounds = append(bounds, math.Inf(1)) // Prometheus reads it from the count
			}
		} else {
			for _, le := range []string{"1", "2", "+Inf"} {
				for _, w := range []string{`le="` + le + `"`, `le="` + le + `.0"`} {
					if bytes.Contains(out.Bytes(), []byte(w)) {
						v, _ := strconv.ParseFloat(le, 64)
						bounds = append(bounds, v)
					}
				}
			}
		}
		if want := []float64{1, 2, math.Inf(1)}; !slices.Equal(bounds, want) {
			t.Errorf("%s: want buckets %v, have %v:\n%s", format, want, bounds, out.Bytes())
		}
	}
}

// A series in two histogram messages, one native: with native histograms,
// Prometheus reads the native histogram of the one and the classic series
// of the other, where the text (and the plan) has the later one's series
// for duplicates. Protobuf output writes both, the classic one with the
// buckets of later classic messages of new bounds, in order.
func TestProtobufNativeAndClassicOfOneSeries(t *testing.T) {
	classic := func(count uint64, bounds ...float64) *dto.Metric {
		h := &dto.Histogram{SampleCount: new(count), SampleSum: new(float64(count))}
		for i, b := range bounds {
			h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: new(b), CumulativeCount: new(uint64(i))})
		}
		return &dto.Metric{Histogram: h}
	}
	native := func(count uint64) *dto.Metric {
		m := classic(count, 1)
		m.Histogram.ZeroThreshold, m.Histogram.ZeroCount = new(0.5), new(count)
		return m
	}
	for _, c := range []struct {
		name    string
		metrics []*dto.Metric
		want    string // counts of the metrics written, native ones marked n, and classic bounds
	}{
		{"native then classic", []*dto.Metric{native(5), classic(7, 1, 2)}, "n5 7[1 2]"},
		{"classic then native", []*dto.Metric{classic(7, 1, 2), native(5)}, "7[1 2] n5"},
		{"later classic adds a bound", []*dto.Metric{native(5), classic(7, 1, math.Inf(1), 4), classic(9, 3, 1)}, "n5 7[1 3 +Inf]"},
		{"later native adds nothing", []*dto.Metric{native(5), native(6), classic(7, 2)}, "n5 7[2]"},
	} {
		var in bytes.Buffer
		if _, err := protodelim.MarshalTo(&in, &dto.MetricFamily{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: c.metrics}); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, []Input{
			{Name: "s", ContentType: ctProto, Body: in.Bytes()},
			{Name: "static", Labels: map[string]string{"site": "x"}, ContentType: ctProto, Body: in.Bytes()},
		}); err != nil {
			t.Fatal(err)
		}
		var have []string
		for _, mf := range decodeProtoOut(t, out.Bytes()) {
			for _, m := range mf.GetMetric() {
				h := m.GetHistogram()
				if mf.GetName() != "h" {
					continue
				}
				if h.GetZeroCount() > 0 {
					have = append(have, fmt.Sprintf("n%d", h.GetSampleCount()))
					continue
				}
				var bounds []string
				for _, b := range h.GetBucket() {
					bounds = append(bounds, strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64))
				}
				have = append(have, fmt.Sprintf("%d[%s]", h.GetSampleCount(), strings.Join(bounds, " ")))
			}
		}
		if got := strings.Join(have, " "); got != c.want+" "+c.want {
			t.Errorf("%s: want %s, have %s", c.name, c.want, got)
		}
	}
}

// A series in two histogram messages whose later one adds a bound under
// another created timestamp: one message has one, so the series is
// written as one metric with the first's, keeping the values and the
// exemplar of the new bound. Before, the family fell back to the text's
// values and lost every exemplar and created timestamp; so it did when a
// label name of the series is escaped in the output (FuzzConformance
// round 70), as here ("a.b", written a_b).
func TestSeriesTwiceNewBound(t *testing.T) {
	at := func(s int64) *timestamppb.Timestamp { return &timestamppb.Timestamp{Seconds: s} }
	bucket := func(b float64, c uint64, ex float64) *dto.Bucket {
		return &dto.Bucket{UpperBound: new(b), CumulativeCount: new(c), Exemplar: &dto.Exemplar{Label: []*dto.LabelPair{{Name: new("t"), Value: new("x")}}, Value: new(ex)}}
	}
	var in bytes.Buffer
	labels := []*dto.LabelPair{{Name: new("a.b"), Value: new("1")}}
	if _, err := protodelim.MarshalTo(&in, &dto.MetricFamily{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{
		{Label: labels, Histogram: &dto.Histogram{SampleCount: new(uint64(2)), SampleSum: new(1.0), Bucket: []*dto.Bucket{bucket(1, 1, 0.5)}, CreatedTimestamp: at(100)}},
		{Label: labels, Histogram: &dto.Histogram{SampleCount: new(uint64(3)), SampleSum: new(2.0), Bucket: []*dto.Bucket{bucket(1, 1, 0.7), bucket(5, 2, 4)}, CreatedTimestamp: at(200)}},
	}}); err != nil {
		t.Fatal(err)
	}
	om := mergeOne(t, ctProto, in.String(), fmtOM)
	for _, want := range []string{`h_bucket{a_b="1",exporter="s",le="1.0"} 1 # {t="x"} 0.5`, `h_bucket{a_b="1",exporter="s",le="5.0"} 2 # {t="x"} 4`, `h_count{a_b="1",exporter="s"} 2`, `h_created{a_b="1",exporter="s"} 100`} {
		if !strings.Contains(om, want) {
			t.Errorf("OpenMetrics: want %s in:\n%s", want, om)
		}
	}
	var ms []*dto.Metric
	for _, mf := range decodeProtoOut(t, []byte(mergeOne(t, ctProto, in.String(), fmtProto))) {
		if mf.GetName() == "h" {
			ms = append(ms, mf.GetMetric()...)
		}
	}
	if len(ms) != 1 {
		t.Fatalf("protobuf: want one metric of h, have %v", ms)
	}
	h := ms[0].GetHistogram()
	var bounds []float64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	if !slices.Equal(bounds, []float64{1, 5}) || h.GetBucket()[1].GetExemplar().GetValue() != 4 || h.GetCreatedTimestamp().GetSeconds() != 100 || h.GetSampleCount() != 2 {
		t.Errorf("protobuf: want count 2, buckets 1 and 5 (exemplar 4), created 100; have %v", h)
	}
}
