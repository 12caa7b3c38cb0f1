package exposition

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
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

// TestOpenMetricsEmptyExemplar: an exemplar without labels (" # {} 1"),
// which expfmt's encoder does not write, is in OpenMetrics output, from a
// protobuf source (counter and bucket) and from an OpenMetrics one, as the
// source has it; a label value holding the marker's text stays as it was.
func TestOpenMetricsEmptyExemplar(t *testing.T) {
	var pb bytes.Buffer
	enc := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim)
	empty := func(v float64) *dto.Exemplar { return &dto.Exemplar{Value: new(v)} }
	for _, mf := range []*dto.MetricFamily{
		{Name: new("c_total"), Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{
			{Label: []*dto.LabelPair{{Name: new("k"), Value: new(markedExemplar)}}, Counter: &dto.Counter{Value: new(5.0), Exemplar: empty(7)}},
		}},
		{Name: new("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: &dto.Histogram{
			SampleCount: new(uint64(3)), SampleSum: new(4.0), Bucket: []*dto.Bucket{
				{UpperBound: new(1.0), CumulativeCount: new(uint64(1)), Exemplar: &dto.Exemplar{Value: new(0.5), Timestamp: timestamppb.New(time.Unix(1625851153, 0))}},
				{UpperBound: new(2.0), CumulativeCount: new(uint64(2)), Exemplar: &dto.Exemplar{Label: []*dto.LabelPair{{Name: new("id"), Value: new("x")}}, Value: new(1.5)}},
			}}}}},
	} {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	om := "# TYPE o counter\no_total 1 # {} 3\n# TYPE g histogram\ng_bucket{le=\"+Inf\"} 1 # {} 2 1625851153.5\ng_count 1\ng_sum 2\n# EOF\n"
	inputs := []Input{{Name: "pb", ContentType: ctProto, Body: pb.Bytes()}, {Name: "om", ContentType: ctOM, Body: []byte(om)}}
	var out bytes.Buffer
	rep, err := Merge(&out, Options{Label: "exporter", Format: fmtOM}, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Conflicts) != 0 {
		t.Errorf("conflicts: want none, have %v", rep.Conflicts)
	}
	body := out.String()
	for _, want := range []string{
		"} 5.0 # {} 7.0\n",
		"le=\"1.0\"} 1 # {} 0.5 1.625851153e+09\n",
		"le=\"2.0\"} 2 # {id=\"x\"} 1.5\n",
		"o_total{exporter=\"om\"} 1.0 # {} 3.0\n",
		"g_bucket{exporter=\"om\",le=\"+Inf\"} 1 # {} 2.0 1.6258511535e+09\n",
		`k=" # {a=\"` + emptyExemplarValue + `\"} "`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("want %q in the output:\n%s", want, body)
		}
	}
	checkParses(t, fmtOM, out.Bytes())
}

// TestOpenMetricsCreatedPast2262: a protobuf source's created timestamp no
// nanosecond time holds (year 2383) is left out of OpenMetrics output,
// whose encoder would write it as another time (1799), for a summary as
// for a counter; protobuf output keeps it.
func TestOpenMetricsCreatedPast2262(t *testing.T) {
	far := &timestamppb.Timestamp{Seconds: 13_063_597_215}
	var pb bytes.Buffer
	enc := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim)
	for _, mf := range []*dto.MetricFamily{
		{Name: new("c_total"), Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{{Counter: &dto.Counter{Value: new(5.0), CreatedTimestamp: far}}}},
		{Name: new("s"), Type: dto.MetricType_SUMMARY.Enum(), Metric: []*dto.Metric{{Summary: &dto.Summary{SampleCount: new(uint64(1)), SampleSum: new(2.0), CreatedTimestamp: far}}}},
	} {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	inputs := []Input{{Name: "pb", ContentType: ctProto, Body: pb.Bytes()}}
	var om bytes.Buffer
	if _, err := Merge(&om, Options{Label: "exporter", Format: fmtOM}, inputs); err != nil {
		t.Fatal(err)
	}
	if body := om.String(); strings.Contains(body, "_created") || !strings.Contains(body, "s_count{exporter=\"pb\"} 1") {
		t.Errorf("want the series without _created lines:\n%s", body)
	}
	checkParses(t, fmtOM, om.Bytes())
	var out bytes.Buffer
	if _, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, inputs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte{0x08, 0x9f, 0xd9, 0x9a, 0xd5, 0x30}) {
		t.Errorf("protobuf output lost the created timestamp")
	}
}

// TestOpenMetricsCounterWithoutTotal: a protobuf counter whose name does not
// end in _total is written to OpenMetrics as unknown (an OpenMetrics
// counter's samples end in _total), without its created timestamp, which
// an unknown family cannot have (Prometheus would read the X_created line
// as a series of its own); a counter X_total keeps its X_created line, and
// protobuf output keeps both created timestamps.
func TestOpenMetricsCounterWithoutTotal(t *testing.T) {
	created := &timestamppb.Timestamp{Seconds: 5}
	var pb bytes.Buffer
	enc := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim)
	for _, name := range []string{"foo", "bar_total"} {
		mf := &dto.MetricFamily{Name: new(name), Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{{Counter: &dto.Counter{Value: new(1.0), CreatedTimestamp: created}}}}
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	inputs := []Input{{Name: "pb", ContentType: ctProto, Body: pb.Bytes()}}
	var om bytes.Buffer
	if _, err := Merge(&om, Options{Label: "exporter", Format: fmtOM}, inputs); err != nil {
		t.Fatal(err)
	}
	body := om.String()
	for _, want := range []string{"# TYPE foo unknown\nfoo{exporter=\"pb\"} 1.0\n", "bar_total{exporter=\"pb\"} 1.0\nbar_created{exporter=\"pb\"} 5.0\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("want %q in:\n%s", want, body)
		}
	}
	if strings.Contains(body, "foo_created") {
		t.Errorf("want no foo_created line:\n%s", body)
	}
	checkParses(t, fmtOM, om.Bytes())
	var out bytes.Buffer
	if _, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, inputs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range decodeProtoOut(t, out.Bytes()) {
		if mf.GetName() == "foo" || mf.GetName() == "bar_total" {
			n++
			if c := mf.GetMetric()[0].GetCounter(); c.GetCreatedTimestamp().GetSeconds() != 5 {
				t.Errorf("%s: protobuf output lost the created timestamp: %v", mf.GetName(), c)
			}
		}
	}
	if n != 2 {
		t.Errorf("want both counters in protobuf output, have %d", n)
	}
}

// TestProtobufExemplarPastInt64: an OpenMetrics exemplar whose timestamp is
// past the milliseconds of an int64 (Prometheus reads the overflow of its
// conversion) is left out of protobuf output, its counter and the other
// exemplars kept with their times in milliseconds.
func TestProtobufExemplarPastInt64(t *testing.T) {
	body := "# TYPE a counter\na_total 1 # {id=\"far\"} 2 10000000000000000\n" +
		"# TYPE b counter\nb_total 1 # {id=\"neg\"} 2 -1e16\n" +
		"# TYPE c counter\nc_total 1 # {id=\"near\"} 3 9223372036854774\n# EOF\n"
	var out bytes.Buffer
	if _, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, []Input{{Name: "om", ContentType: ctOM, Body: []byte(body)}}); err != nil {
		t.Fatal(err)
	}
	have := map[string]*dto.Counter{}
	for _, mf := range decodeProtoOut(t, out.Bytes()) {
		if len(mf.GetMetric()) == 1 {
			have[mf.GetName()] = mf.GetMetric()[0].GetCounter()
		}
	}
	for _, name := range []string{"a_total", "b_total"} {
		if c, ok := have[name]; !ok || c.GetValue() != 1 || c.Exemplar != nil {
			t.Errorf("%s: want the counter without its exemplar, have %v", name, c)
		}
	}
	near := 9223372036854774.0
	want := int64(near * 1000) // as Prometheus reads it from the source
	e := have["c_total"].GetExemplar()
	if ts := e.GetTimestamp(); ts.GetSeconds()*1000+int64(ts.GetNanos()/1e6) != want {
		t.Errorf("c_total: want the exemplar at %d ms (as Prometheus reads it), have %v", want, e)
	}
}

// decodeProtoOut reads delimited protobuf output.
func decodeProtoOut(t testing.TB, b []byte) []*dto.MetricFamily {
	t.Helper()
	var fams []*dto.MetricFamily
	dec := expfmt.NewDecoder(bytes.NewReader(b), fmtProto)
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			return fams
		}
		fams = append(fams, mf)
	}
}

// Prometheus reads an OpenMetrics sample's timestamp as int64(seconds*1000):
// every one OpenMetrics output writes reads as the source's milliseconds,
// where the encoder's shortest decimal of ms/1000 reads as ms-1 for about
// one in a hundred (8168, written 8.168).
func TestOpenMetricsSampleTimesReadAsGiven(t *testing.T) {
	var body strings.Builder
	body.WriteString("# TYPE m gauge\n")
	var times []int64
	for ms := int64(0); ms < 20000; ms++ {
		times = append(times, ms)
	}
	for ms := int64(1e15); ms < 1e15+2000; ms++ {
		times = append(times, ms)
	}
	for i, ms := range times {
		fmt.Fprintf(&body, "m{i=\"%d\"} 1 %d\n", i, ms)
	}
	misread := 0
	for line := range strings.Lines(mergeOne(t, ctText, body.String(), fmtOM)) {
		if !strings.HasPrefix(line, "m{") {
			continue
		}
		fields := strings.Fields(line)
		i, err := strconv.Atoi(strings.Split(strings.Split(fields[0], `i="`)[1], `"`)[0])
		if err != nil {
			t.Fatal(line, err)
		}
		s, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatal(line, err)
		}
		if read := int64(s * 1000); read != times[i] {
			t.Errorf("%q: Prometheus reads %d ms, want %d", line, read, times[i])
		}
		if int64(float64(times[i])/1000*1000) != times[i] {
			misread++
		}
	}
	if misread < 100 {
		t.Errorf("only %d timestamps the encoder's text would misread: the test no longer tries the case", misread)
	}
}

// TestOpenMetricsCreatedReadAsProtobuf: a protobuf source's created
// timestamp, written to OpenMetrics, reads as the millisecond Prometheus
// reads from the source (seconds*1000 + nanos/1e6): before 1970 with a
// part of a millisecond (-5 s + 0.231567104 s reads as -4769, its float
// -4.768432896 as -4768), and at whole milliseconds whose float falls
// below them (8.168 s reads as 8167).
func TestOpenMetricsCreatedReadAsProtobuf(t *testing.T) {
	var created []*timestamppb.Timestamp
	for i := range int32(4000) {
		s := int64(i/2 - 1000)
		nanos := i * 7_919_311 % 1e9 // parts of a millisecond
		if i%2 == 1 {
			nanos = i * 1e6 % 1e9 // whole milliseconds
		}
		created = append(created, &timestamppb.Timestamp{Seconds: s, Nanos: nanos})
	}
	mf := &dto.MetricFamily{Name: new("c_total"), Type: dto.MetricType_COUNTER.Enum()}
	for i, ts := range created {
		mf.Metric = append(mf.Metric, &dto.Metric{
			Label:   []*dto.LabelPair{{Name: new("i"), Value: new(strconv.Itoa(i))}},
			Counter: &dto.Counter{Value: new(1.0), CreatedTimestamp: ts},
		})
	}
	var pb bytes.Buffer
	if err := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim).Encode(mf); err != nil {
		t.Fatal(err)
	}
	misread := 0
	for line := range strings.Lines(mergeOne(t, ctProto, pb.String(), fmtOM)) {
		if !strings.HasPrefix(line, "c_created{") {
			continue
		}
		fields := strings.Fields(line)
		i, err := strconv.Atoi(strings.Split(strings.Split(fields[0], `i="`)[1], `"`)[0])
		if err != nil {
			t.Fatal(line, err)
		}
		s, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			t.Fatal(line, err)
		}
		ts := created[i]
		want := ts.GetSeconds()*1000 + int64(ts.GetNanos())/1e6
		if read := int64(s * 1000); read != want {
			t.Errorf("%q: Prometheus reads %d ms, want %d", line, read, want)
		}
		if int64(float64(ts.AsTime().UnixNano())/1e9*1000) != want {
			misread++
		}
	}
	if misread < 500 {
		t.Errorf("only %d created timestamps expfmt's text would misread: the test no longer tries the case", misread)
	}
}
