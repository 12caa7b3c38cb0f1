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

// TestNoDuplicates: whatever one source's names become once escaped and
// relabelled, no output, in any format and escaping scheme, carries a
// label name twice in a series or one series twice.
func TestNoDuplicates(t *testing.T) {
	formats := []expfmt.Format{expfmt.FmtText, expfmt.FmtProtoDelim, expfmt.FmtOpenMetrics_1_0_0}
	schemes := []model.EscapingScheme{model.UnderscoreEscaping, model.DotsEscaping, model.ValueEncodingEscaping, model.NoEscaping}
	for _, tc := range []struct {
		name, body string
		labels     []string // the source's static labels
	}{
		{"label names the same once escaped", "m{\"a.b\"=\"1\",a_b=\"2\"} 1\n", nil},
		{"metric names the same once escaped", "{\"a.b\"} 1\na_b 2\n", nil},
		{"metric names the same once escaped, labelled", "{\"a.b\",x=\"1\"} 1\na_b{x=\"1\"} 2\na_b{x=\"2\"} 3\n", nil},
		{"a renamed label meets a label", "m{a=\"1\"} 1\nm{exported_a=\"1\"} 2\n", []string{"a", "s"}},
		{"renamed twice", "m{exported_exporter=\"x\",exporter=\"y\"} 1\n", []string{"exported_exporter", "s"}},
		{"escaped to a static label", "m{\"my.env\"=\"x\"} 1\n", []string{"my_env", "prod"}},
		{"escaped to the merge label", "m{\"exporter\"=\"x\"} 1\nm{exported_exporter=\"x\"} 2\n", nil},
	} {
		for _, format := range formats {
			for _, scheme := range schemes {
				what := fmt.Sprintf("%s, %s, %s", tc.name, FormatOf(string(format)), scheme)
				in := Input{Name: "src", ContentType: ctText, Body: []byte(tc.body)}
				for k := 0; k+1 < len(tc.labels); k += 2 {
					in.Labels = map[string]string{tc.labels[k]: tc.labels[k+1]}
				}
				var out bytes.Buffer
				rep, err := Merge(&out, Options{Label: "exporter", Format: format.WithEscapingScheme(scheme)}, []Input{in})
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if !rep.Sources[0].Up {
					t.Errorf("%s: source down: %v", what, rep.Sources[0].Err)
				}
				if dup := duplicate(t, format.WithEscapingScheme(scheme), out.Bytes()); dup != "" {
					t.Errorf("%s: want no duplicates, have %s\n%s", what, dup, out.Bytes())
				}
			}
		}
	}
}

// duplicate names a series that out carries twice, or one with a label
// name twice, or is empty.
func duplicate(t *testing.T, format expfmt.Format, out []byte) string {
	t.Helper()
	var fams []*dto.MetricFamily
	switch format.FormatType() {
	case expfmt.TypeProtoDelim:
		if err := decodeProto(out, func(mf *dto.MetricFamily) error {
			fams = append(fams, mf)
			return nil
		}); err != nil {
			t.Fatalf("protobuf output: %v", err)
		}
	case expfmt.TypeOpenMetrics:
		if err := Validate(ctOM, out); err != nil {
			return err.Error()
		}
		// Each sample line's name and label set, order aside.
		seen := map[string]bool{}
		for _, line := range strings.Split(string(out), "\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			series, _, _ := strings.Cut(line, "} ")
			name, labels, _ := strings.Cut(series, "{")
			ls := strings.Split(labels, ",")
			slices.Sort(ls)
			key := name + "{" + strings.Join(ls, ",")
			if seen[key] {
				return line
			}
			seen[key] = true
		}
		return ""
	default:
		p := expfmt.NewTextParser(model.UTF8Validation)
		parsed, err := p.TextToMetricFamilies(bytes.NewReader(out))
		if err != nil {
			return err.Error()
		}
		if err := Validate(ctText, out); err != nil {
			return err.Error()
		}
		for _, mf := range parsed {
			fams = append(fams, mf)
		}
	}
	seen := map[string]bool{}
	for _, mf := range fams {
		for _, m := range mf.GetMetric() {
			var ls []string
			names := map[string]bool{}
			for _, l := range m.GetLabel() {
				if names[l.GetName()] {
					return fmt.Sprintf("label %q twice in %s", l.GetName(), mf.GetName())
				}
				names[l.GetName()] = true
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(ls)
			key := mf.GetName() + "{" + strings.Join(ls, ",")
			if seen[key] {
				return key
			}
			seen[key] = true
		}
	}
	return ""
}

// FuzzMergeFormats: for any body a source returns, as text or as
// OpenMetrics, the merge in every format and escaping scheme writes whole
// output (OpenMetrics to # EOF) with no duplicate series or label names,
// and text and protobuf, which share the plan and no rule of their own but
// what protobuf cannot carry (misshapen samples), report the same.
func FuzzMergeFormats(f *testing.F) {
	for _, name := range append([]string{"histograms.prom", "summary.prom", "escapes.prom", "inputs/utf8_names.prom"}, mergeSeeds(f)...) {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("m{\"a.b\"=\"1\",a_b=\"2\"} 1\n{\"a.b\"} 1\na_b 2\nm{exporter=\"x\",exported_exporter=\"y\"} 1\n"))
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 0.5\nh_bucket{le=\"+Inf\"} 1.5\nh_sum 1\nh_count 1.5\nh 3\n"))
	f.Add(readFixture(f, "exemplars.om.txt"))
	f.Add([]byte("# TYPE c counter\n# UNIT c_seconds seconds\nc_total{a=\"1\"} 1 # {t=\"x\"} 1 1520879607.5\nc_created{a=\"1\"} 1520872607.25\n" +
		"# TYPE gh gaugehistogram\ngh_bucket{le=\"1\"} 1 # {id=\"1\"} 0.2\ngh_bucket{le=\"+Inf\"} 2\ngh_gcount 2\ngh_gsum 3\n" +
		"# TYPE i info\ni_info{v=\"1\"} 1\n# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n" +
		"# TYPE q summary\nq{quantile=\"0.5\"} 1\nq_count 2\nq_sum 3\nq_created 5\n# EOF\n"))
	f.Add([]byte("# TYPE gh_gcount gauge\ngh_gcount 1\n# TYPE h_created gauge\nh_created 2\n# TYPE q_created gauge\nq_created 3\nc_created 4\n"))
	good := readFixture(f, "summary.prom")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{ctText, ctOM} {
			mergeFormats(t, good, ct, body)
		}
	})
}

// goodOM is an OpenMetrics source beside the fuzzed one in
// FuzzMergeFormats: families whose members text writes in their block.
const goodOM = "# TYPE gh gaugehistogram\ngh_bucket{le=\"+Inf\"} 1\ngh_gcount 1\ngh_gsum 1\n" +
	"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\nh_created 5\n" +
	"# TYPE q summary\nq_count 1\nq_sum 1\nq_created 5\n# TYPE c counter\nc_total 1 # {t=\"x\"} 1\nc_created 5\n# EOF\n"

// mergeFormats is one FuzzMergeFormats check of body as ct.
func mergeFormats(t *testing.T, good []byte, ct string, body []byte) {
	inputs := []Input{
		{Name: "good", ContentType: ctText, Body: good},
		{Name: "goodom", ContentType: ctOM, Body: []byte(goodOM)},
		{Name: "fuzz", ContentType: ct, Body: body, Labels: map[string]string{"role": "x"}},
	}
	for _, scheme := range []model.EscapingScheme{model.UnderscoreEscaping, model.DotsEscaping, model.NoEscaping} {
		var reports []Report
		formatOnly := false // a family one of the formats cannot carry
		for _, format := range []expfmt.Format{expfmt.FmtText, expfmt.FmtProtoDelim, expfmt.FmtOpenMetrics_1_0_0} {
			format = format.WithEscapingScheme(scheme)
			var out bytes.Buffer
			rep, err := Merge(&out, Options{Label: "exporter", Format: format}, inputs)
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if dup := duplicate(t, format, out.Bytes()); dup != "" {
				t.Fatalf("%s: %s\ninput %q\noutput:\n%s", format, dup, body, out.Bytes())
			}
			if format.FormatType() == expfmt.TypeOpenMetrics && !bytes.HasSuffix(out.Bytes(), []byte("# EOF\n")) {
				t.Fatalf("%s: output cut short\ninput %q\noutput:\n%s", format, body, out.Bytes())
			}
			// A histogram or summary missing a part, a name UTF-8 text
			// cannot carry, is a conflict of some formats only.
			rep, lost := withoutFormatConflicts(rep)
			formatOnly = formatOnly || len(lost) > 0
			// Misshapen samples are text's only.
			for i := range rep.Sources {
				rep.Sources[i].Samples += rep.Sources[i].Misshapen
				rep.Sources[i].Misshapen = 0
			}
			reports = append(reports, rep)
		}
		text, proto := reports[0], reports[1]
		if formatOnly { // its samples are written in one format only
			for i := range text.Sources {
				text.Sources[i].Samples, proto.Sources[i].Samples = 0, 0
			}
		}
		if fmt.Sprint(text) != fmt.Sprint(proto) {
			t.Fatalf("%s, %s: text and protobuf reports differ\ninput %q\ntext  %v\nproto %v", ct, scheme, body, text, proto)
		}
	}
}
