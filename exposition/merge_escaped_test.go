package exposition

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// TestMergeEscapedNames: two families of one source whose names are the
// same once escaped. Of different types, the first in the body is kept
// and the other left out for the source, as a conflict naming both; of
// one type, they are one family, whose series the same once escaped are
// duplicates. With UTF-8 names nothing meets, but an OpenMetrics counter
// c, whose samples are c_total, and a family c_total.
func TestMergeEscapedNames(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		format     expfmt.Format
		conflicts  string
		duplicates int
		want       []string // lines the output holds
		wantNot    []string // and does not
	}{
		{"counter first", "# TYPE \"a.b\" counter\n{\"a.b\"} 1\n# TYPE \"a b\" gauge\n{\"a b\"} 2\nc 4\n", fmtText,
			`[{a a_b gauge "a b" has the name of counter "a.b" once escaped}]`, 0,
			[]string{"# TYPE a_b counter", `a_b{exporter="a"} 1`, `c{exporter="a"} 4`}, []string{`a_b{exporter="a"} 2`}},
		{"untyped first", "{\"a b\"} 2\n# TYPE \"a.b\" counter\n{\"a.b\"} 1\n", fmtText,
			`[{a a_b counter "a.b" has the name of untyped "a b" once escaped}]`, 0,
			[]string{"# TYPE a_b untyped", `a_b{exporter="a"} 2`}, []string{`a_b{exporter="a"} 1`}},
		{"three", "# TYPE \"a.b\" counter\n{\"a.b\"} 1\n# TYPE \"a b\" gauge\n{\"a b\"} 2\n# TYPE \"a-b\" summary\n{\"a-b_sum\"} 3\n{\"a-b_count\"} 3\n", fmtText,
			`[{a a_b gauge "a b" has the name of counter "a.b" once escaped} {a a_b summary "a-b" has the name of counter "a.b" once escaped}]`, 0,
			[]string{"# TYPE a_b counter", `a_b{exporter="a"} 1`}, []string{`a_b{exporter="a"} 2`, "a_b_sum", "a_b_count"}},
		{"one type", "{\"a.b\"} 1\na_b 2\n", fmtText, `[]`, 1,
			[]string{`a_b{exporter="a"} 1`}, []string{`a_b{exporter="a"} 2`}},
		{"an OpenMetrics counter's samples", "# TYPE c counter\nc_total 1\n# TYPE d gauge\nc_total{x=\"1\"} 2\n# EOF\n", fmtUTF8,
			`[{a c_total untyped "c_total" has the name of counter "c" once written (an OpenMetrics counter's or info's name takes its suffix)}]`, 0,
			[]string{`c_total{exporter="a"} 1`}, []string{`c_total{exporter="a",x="1"} 2`}},
		{"utf-8 names", "# TYPE \"a.b\" counter\n{\"a.b\"} 1\n# TYPE \"a b\" gauge\n{\"a b\"} 2\n", fmtUTF8, `[]`, 0,
			[]string{`{"a.b",exporter="a"} 1`, `{"a b",exporter="a"} 2`}, nil},
	} {
		var out bytes.Buffer
		ct := ctText
		if strings.HasSuffix(tc.body, "# EOF\n") {
			ct = ctOM
		}
		rep, err := Merge(&out, Options{Label: "exporter", Format: tc.format}, []Input{{Name: "a", ContentType: ct, Body: []byte(tc.body)}})
		if err != nil {
			t.Fatal(err)
		}
		if have := fmt.Sprint(rep.Conflicts); have != tc.conflicts {
			t.Errorf("%s: conflicts\nwant %s\nhave %s", tc.name, tc.conflicts, have)
		}
		if !rep.Sources[0].Up || rep.Sources[0].Duplicates != tc.duplicates {
			t.Errorf("%s: want source up with %d duplicates, have %+v", tc.name, tc.duplicates, rep.Sources[0])
		}
		lines := strings.Split(out.String(), "\n")
		for _, w := range tc.want {
			if !containsLine(lines, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out.String())
			}
		}
		for _, w := range tc.wantNot {
			if strings.Contains(out.String(), w) {
				t.Errorf("%s: output holds %q:\n%s", tc.name, w, out.String())
			}
		}
	}
}

func containsLine(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}
