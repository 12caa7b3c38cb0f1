package exposition

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// mergeOne merges body as source s in format and fails on a conflict or a
// source left out; it gives the output, which parses (checkParses).
func mergeOne(t *testing.T, ct, body string, format expfmt.Format) string {
	t.Helper()
	var out bytes.Buffer
	rep, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{{Name: "s", ContentType: ct, Body: []byte(body)}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Sources[0].Up {
		t.Fatalf("source left out: %v", rep.Sources[0].Err)
	}
	if len(rep.Conflicts) > 0 {
		t.Errorf("conflicts: want none, have %v\n%s", rep.Conflicts, out.Bytes())
	}
	checkParses(t, format, out.Bytes())
	return out.String()
}

// TestBlockCanonicalLabels: Prometheus reads every sample after a
// histogram's TYPE line, of whatever name, with its le in canonical form
// ("120" as "120.0"), and after a summary's its quantile, until the next
// TYPE line. A sample of another family there is written with the label as
// Prometheus read it, in every format (its own family's TYPE would not
// have it read so); one of the family itself is left to its TYPE. A
// histogram's bucket after another TYPE line is read as of that type, so
// it is not the histogram's: it is of a family of its own name.
func TestBlockCanonicalLabels(t *testing.T) {
	const hist = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n%sh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"
	for _, tc := range []struct {
		name, ct, body string
		want, not      []string // in the text output; not in it
	}{
		{"other name in a histogram's block", ctText, fmt.Sprintf(hist, "other_bucket{le=\"120\"} 412\n"),
			[]string{`other_bucket{le="120.0",exporter="s"} 412`}, []string{`le="120"`}},
		{"other name after a histogram, before any other TYPE", ctText, fmt.Sprintf(hist, "") + "# HELP g a gauge without TYPE\ng{le=\"1e3\",x=\"y\"} 1\n",
			[]string{`g{le="1000.0",x="y",exporter="s"} 1`}, nil},
		{"quantile after a summary's TYPE", ctText, "# TYPE s summary\ns{quantile=\"1\"} 1\ns_sum 1\ns_count 1\nq{quantile=\"1\"} 2\n",
			[]string{`q{quantile="1.0",exporter="s"} 2`, `s{quantile="1",exporter="s"} 1`}, nil},
		{"le after a summary's TYPE: as written", ctText, "# TYPE s summary\ns_sum 1\ns_count 1\nq{le=\"1\"} 2\n",
			[]string{`q{le="1",exporter="s"} 2`}, nil},
		{"after a gauge's TYPE: as written", ctText, fmt.Sprintf(hist, "") + "# TYPE g gauge\ng{le=\"1\"} 1\n",
			[]string{`g{le="1",exporter="s"} 1`}, nil},
		{"one series once canonical", ctText, fmt.Sprintf(hist, "other{le=\"1\"} 1\nother{le=\"1.0\"} 2\n"),
			[]string{`other{le="1.0",exporter="s"} 1`}, []string{`other{le="1.0",exporter="s"} 2`}},
		{"a histogram's bucket after another TYPE line: a family of its own", ctText, fmt.Sprintf(hist, "") + "# TYPE g gauge\ng 1\nh_bucket{le=\"2\"} 2\n",
			[]string{"# TYPE h_bucket untyped\nh_bucket{le=\"2\",exporter=\"s\"} 2\n# TYPE h histogram\nh_bucket{le=\"1\",exporter=\"s\"} 1"}, []string{`le="2.0"`}},
		{"OpenMetrics", ctOM, fmt.Sprintf(hist, "other_bucket{le=\"2\"} 1\n") + "# EOF\n",
			[]string{`other_bucket{le="2.0",exporter="s"} 1`, `h_bucket{le="+Inf",exporter="s"} 2`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := mergeOne(t, tc.ct, tc.body, fmtText)
			for _, w := range tc.want {
				if !strings.Contains(text, w+"\n") {
					t.Errorf("want %s in:\n%s", w, text)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(text, n) {
					t.Errorf("want no %s in:\n%s", n, text)
				}
			}
			// OpenMetrics output: the same labels.
			om := mergeOne(t, tc.ct, tc.body, fmtOM)
			for _, w := range tc.want {
				labels := w[:strings.Index(w, ",exporter")]
				if !strings.Contains(om, labels) && !strings.HasPrefix(w, "s{") && !strings.HasPrefix(w, "h_") && !strings.HasPrefix(w, "#") { // the summary's and histogram's own: encoded from floats
					t.Errorf("want %s in the OpenMetrics output:\n%s", labels, om)
				}
			}
		})
	}
}

// TestBlockCanonicalSplit: a body scanned in two halves (linesSplit) whose
// second half starts with a HELP line and samples before any TYPE line
// reads them after the first half's last TYPE line, as the serial scan.
func TestBlockCanonicalSplit(t *testing.T) {
	var b strings.Builder
	b.WriteString("# TYPE h histogram\n")
	for i := 0; b.Len() < 2*splitScan; i++ {
		fmt.Fprintf(&b, "h_bucket{i=\"%d\",le=\"+Inf\"} 1\nh_sum{i=\"%d\"} 1\nh_count{i=\"%d\"} 1\n", i, i, i)
	}
	mid := b.Len()
	b.WriteString("# HELP o after the histogram's TYPE line\no{le=\"7\"} 1\n# TYPE g gauge\n")
	for i := 0; b.Len() < mid+3*splitScan/2; i++ {
		fmt.Fprintf(&b, "g{i=\"%d\"} 1\n", i)
	}
	body := b.String()
	if splitPoint([]byte(body), 0) != mid {
		t.Fatalf("the split falls at %d, not at the HELP line (%d)", splitPoint([]byte(body), 0), mid)
	}
	text := mergeOne(t, ctText, body, fmtText)
	if !strings.Contains(text, `o{le="7.0",exporter="s"} 1`+"\n") {
		i := strings.Index(text, "\no")
		t.Errorf(`want o{le="7.0",exporter="s"} 1, have %.60q`, text[max(i, 0):])
	}
}

// TestMemberNamedFamily: a family named like a member of a summary or
// histogram (a gauge foo_count beside a summary foo, in one source or
// two) is written just before it, where expfmt reads the summary's
// foo_count samples as the gauge's; nothing is left out and Prometheus
// reads every series.
func TestMemberNamedFamily(t *testing.T) {
	gauge := "# HELP foo_count A gauge.\n# TYPE foo_count gauge\nfoo_count{kind=\"gauge\"} 7\n"
	summary := "# HELP foo A summary.\n# TYPE foo summary\nfoo{quantile=\"0.5\"} 1\nfoo_sum 10\nfoo_count 5\n"
	hist := "# TYPE h_bucket counter\nh_bucket 3\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n# TYPE h_count_sum gauge\nh_count_sum 1\n"
	for _, tc := range []struct {
		name   string
		inputs []Input
		want   []string // lines in this order in the text output
	}{
		{"one source", []Input{{Name: "s", ContentType: ctText, Body: []byte(gauge + summary)}},
			[]string{"# TYPE foo_count gauge", `foo_count{kind="gauge",exporter="s"} 7`, "# TYPE foo summary", `foo_sum{exporter="s"} 10`}},
		{"two sources", []Input{{Name: "a", ContentType: ctText, Body: []byte(summary)}, {Name: "b", ContentType: ctText, Body: []byte(gauge)}},
			[]string{"# TYPE foo_count gauge", `foo_count{kind="gauge",exporter="b"} 7`, "# TYPE foo summary", `foo_count{exporter="a"} 5`}},
		{"histogram", []Input{{Name: "s", ContentType: ctText, Body: []byte(hist)}},
			[]string{"# TYPE h_bucket counter", "# TYPE h histogram", `h_count{exporter="s"} 1`, "# TYPE h_count_sum gauge"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
				var out bytes.Buffer
				rep, err := Merge(&out, Options{Label: "exporter", Format: format}, tc.inputs)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range rep.Conflicts {
					if !strings.HasSuffix(c.Reason, "cannot leave out") { // a summary without its _count, in OpenMetrics and protobuf
						t.Errorf("%s: conflict %v", format, c)
					}
				}
				checkParses(t, format, out.Bytes())
				if format != fmtText {
					continue
				}
				text := out.String()
				at := 0
				for _, w := range tc.want {
					i := strings.Index(text[at:], w+"\n")
					if i < 0 {
						t.Fatalf("want %q after offset %d in:\n%s", w, at, text)
					}
					at += i
				}
			}
		})
	}
}

// TestCanonicalDedup: two samples whose le (quantile) differ only in
// spelling ("1" and "1.0") are one series to Prometheus, which reads them
// in canonical form after a histogram's (summary's) TYPE line: the second
// is a duplicate, in every format, on the fast and the general path.
func TestCanonicalDedup(t *testing.T) {
	for _, tc := range []struct{ name, body, second string }{
		{"bucket", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n", `h_bucket{le="1.0",exporter="s"} 2`},
		{"bucket, general path", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{ le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n", `h_bucket{le="1.0",exporter="s"} 2`},
		{"quantile", "# TYPE s summary\ns{quantile=\"0.50\"} 1\ns{quantile=\"0.5\"} 2\ns_sum 1\ns_count 2\n", `s{quantile="0.5",exporter="s"} 2`},
		{"another family's le", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\no{le=\"1e3\"} 1\no{le=\"1000\"} 2\n", `o{le="1000.0",exporter="s"} 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
				var out bytes.Buffer
				rep, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{{Name: "s", ContentType: ctText, Body: []byte(tc.body)}})
				if err != nil {
					t.Fatal(err)
				}
				if have := rep.Sources[0].Duplicates; have != 1 {
					t.Errorf("%s: duplicates: want 1, have %d\n%s", format, have, out.Bytes())
				}
				checkParses(t, format, out.Bytes())
				if format == fmtText && strings.Contains(out.String(), tc.second+"\n") {
					t.Errorf("want no %s in:\n%s", tc.second, out.Bytes())
				}
			}
		})
	}
}

// TestMemberNamedFamilyDuplicate: an OpenMetrics source reads member
// samples by block, so a gauge foo_count and summary foo's foo_count can be
// one series twice; the later in the body is a duplicate, as Prometheus
// keeps the first.
func TestMemberNamedFamilyDuplicate(t *testing.T) {
	for _, tc := range []struct{ name, body, want, not string }{
		{"gauge first", "# TYPE foo_count gauge\nfoo_count 7\n# TYPE foo summary\nfoo_sum 1\nfoo_count 5\n# EOF\n", `foo_count{exporter="s"} 7`, `foo_count{exporter="s"} 5`},
		{"summary first", "# TYPE foo summary\nfoo_sum 1\nfoo_count 5\n# TYPE foo_count gauge\nfoo_count 7\n# EOF\n", `foo_count{exporter="s"} 5`, `foo_count{exporter="s"} 7`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			rep, err := Merge(&out, Options{Label: "exporter", Format: fmtText}, []Input{{Name: "s", ContentType: ctOM, Body: []byte(tc.body)}})
			if err != nil {
				t.Fatal(err)
			}
			if have := rep.Sources[0].Duplicates; have != 1 {
				t.Errorf("duplicates: want 1, have %d", have)
			}
			checkParses(t, fmtText, out.Bytes())
			if !strings.Contains(out.String(), tc.want+"\n") || strings.Contains(out.String(), tc.not+"\n") {
				t.Errorf("want %s, not %s, in:\n%s", tc.want, tc.not, out.Bytes())
			}
		})
	}
}
