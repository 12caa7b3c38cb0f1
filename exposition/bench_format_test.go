package exposition

import (
	"bytes"
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

// BenchmarkMergeFormats is a merge of one 100,000-series source, sent as
// text or protobuf, written in each output format: B/op against the body
// (body-B) is what issue 15's budget is about.
func BenchmarkMergeFormats(b *testing.B) {
	text := syntheticBody(100000, "app")
	sources := []struct {
		name, ct string
		body     []byte
	}{
		{"text", ctText, text},
		{"proto", ctProto, protoBody(b, text)},
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
