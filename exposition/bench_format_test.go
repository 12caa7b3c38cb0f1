package exposition

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// protoBody is text body as a delimited protobuf body.
func protoBody(t testing.TB, body []byte) []byte {
	var pb bytes.Buffer
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	enc := expfmt.NewEncoder(&pb, expfmt.FmtProtoDelim)
	for _, name := range slices.Sorted(maps.Keys(fams)) {
		if err := enc.Encode(fams[name]); err != nil {
			t.Fatal(err)
		}
	}
	return pb.Bytes()
}

// histogramBody is a text body of n classic histograms of twelve buckets,
// a hundred to a family, as a client library's request durations.
func histogramBody(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		f := i / 100
		if i%100 == 0 {
			fmt.Fprintf(&b, "# HELP h%d_seconds A histogram.\n# TYPE h%d_seconds histogram\n", f, f)
		}
		for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
			fmt.Fprintf(&b, "h%d_seconds_bucket{handler=\"/api/%d\",le=\"%s\"} %d\n", f, i, le, i*7)
		}
		fmt.Fprintf(&b, "h%d_seconds_sum{handler=\"/api/%d\"} %d.25\nh%d_seconds_count{handler=\"/api/%d\"} %d\n", f, i, i*3, f, i, i*7)
	}
	return b.Bytes()
}

// BenchmarkMergeFormats is a merge of one 100,000-series source, sent as
// text or protobuf, and of 10,000 histograms (140,000 series) sent as
// protobuf, written in each output format: B/op against the body (body-B)
// is what issue 15's budget is about.
func BenchmarkMergeFormats(b *testing.B) {
	text := syntheticBody(100000, "app")
	sources := []struct {
		name, ct string
		body     []byte
	}{
		{"text", ctText, text},
		{"proto", ctProto, protoBody(b, text)},
		{"proto-histograms", ctProto, protoBody(b, histogramBody(10000))},
		{"proto-starts", ctProto, withStarts(b, protoBody(b, text))}, // created timestamps, as client_golang writes them
	}
	for _, src := range sources {
		for _, out := range []struct {
			name   string
			format expfmt.Format
		}{{"text", fmtText}, {"om", fmtOM}, {"proto", fmtProto}} {
			b.Run("source="+src.name+"/out="+out.name, func(b *testing.B) {
				ins := []Input{{Name: "big", ContentType: src.ct, Body: src.body}}
				var w bytes.Buffer
				b.ReportAllocs()
				for b.Loop() {
					w.Reset()
					if _, err := Merge(&w, Options{Label: "exporter", Format: out.format}, ins); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(src.body)), "body-B")
				b.ReportMetric(float64(w.Len()), "out-B")
			})
		}
	}
}
