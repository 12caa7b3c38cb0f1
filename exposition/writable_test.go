package exposition

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestWritableUTF8Names: with UTF-8 names, a family whose metric or label
// name holds a NUL byte (text, OpenMetrics), or a label name holding ':'
// (OpenMetrics, whose encoder writes it unquoted), is left out for its
// source as a conflict, instead of making the whole answer one Prometheus
// refuses; names escaped to underscores, and protobuf, carry them.
func TestWritableUTF8Names(t *testing.T) {
	var nulName bytes.Buffer
	if err := expfmt.NewEncoder(&nulName, expfmt.FmtProtoDelim.WithEscapingScheme(model.NoEscaping)).Encode(&dto.MetricFamily{
		Name: new("a\x00b"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: new(1.0)}}},
	}); err != nil {
		t.Fatal(err)
	}
	textUTF8 := expfmt.FmtText.WithEscapingScheme(model.NoEscaping)
	omUTF8 := fmtOM.WithEscapingScheme(model.NoEscaping)
	protoUTF8 := fmtProto.WithEscapingScheme(model.NoEscaping)
	for _, tc := range []struct {
		name   string
		in     Input
		format expfmt.Format
		want   string // conflicts, source/family
	}{
		{"colon in a label name, OpenMetrics", Input{Name: "s", ContentType: ctText, Body: []byte("m{\"a:b\"=\"1\"} 1\n")}, omUTF8, "[s/m]"},
		{"colon first in a label name, OpenMetrics", Input{Name: "s", ContentType: ctText, Body: []byte("m{\":a\"=\"1\"} 1\n")}, omUTF8, "[s/m]"},
		{"colon in a label name, text", Input{Name: "s", ContentType: ctText, Body: []byte("m{\"a:b\"=\"1\"} 1\n")}, textUTF8, "[]"},
		{"colon in a label name, OpenMetrics escaped", Input{Name: "s", ContentType: ctText, Body: []byte("m{\"a:b\"=\"1\"} 1\n")}, fmtOM, "[]"},
		{"NUL in a metric name, text", Input{Name: "s", ContentType: ctProto, Body: nulName.Bytes()}, textUTF8, "[s/a\x00b]"},
		{"NUL in a metric name, OpenMetrics", Input{Name: "s", ContentType: ctProto, Body: nulName.Bytes()}, omUTF8, "[s/a\x00b]"},
		{"NUL in a metric name, protobuf", Input{Name: "s", ContentType: ctProto, Body: nulName.Bytes()}, protoUTF8, "[]"},
		{"NUL in a metric name, text escaped", Input{Name: "s", ContentType: ctProto, Body: nulName.Bytes()}, fmtText, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Body = append(bytes.Clone(in.Body), []byte("# TYPE z gauge\nz 1\n")...)
			if in.ContentType == ctProto {
				in.Body = tc.in.Body
			}
			var out bytes.Buffer
			rep, err := Merge(&out, Options{Label: "exporter", Format: tc.format}, []Input{in})
			if err != nil {
				t.Fatal(err)
			}
			var conflicts []string
			for _, c := range rep.Conflicts {
				conflicts = append(conflicts, c.Source+"/"+c.Family)
			}
			if have := fmt.Sprint(conflicts); have != tc.want {
				t.Errorf("conflicts: want %q, have %q", tc.want, have)
			}
			if tc.want != "[]" && (strings.Contains(out.String(), "\x00") || strings.Contains(out.String(), ":")) {
				t.Errorf("the name is in the output:\n%s", out.String())
			}
			if tc.format.FormatType() != expfmt.TypeProtoDelim && tc.want == "[]" && !strings.Contains(out.String(), "a") {
				t.Errorf("the series is not in the output:\n%s", out.String())
			}
		})
	}
}
