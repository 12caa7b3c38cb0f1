package exposition

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
