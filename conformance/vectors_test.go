package conformance

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A vector is one exposition body from the upstream projects' tests.
type vector struct {
	name        string // file name under testdata/vectors
	contentType string
	body        []byte
}

// contentTypes maps a vector's file extension to the format it is read in.
var contentTypes = map[string]string{
	".prom": TextType,
	".om":   OpenMetricsType,
	".pb":   ProtobufType,
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "vectors", "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	for _, p := range paths {
		ct, ok := contentTypes[filepath.Ext(p)]
		if !ok {
			tb.Fatalf("%s: no format for extension %q", p, filepath.Ext(p))
		}
		body, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		vs = append(vs, vector{name: filepath.Base(p), contentType: ct, body: body})
	}
	if len(vs) == 0 {
		tb.Fatal("no vectors in testdata/vectors")
	}
	return vs
}

// check runs every property on v and gives the problems found, keyed
// "<vector>/verdict" and "<vector>/<output>"; it counts the stricter rules
// under which corral refused v and the documented rules under which an
// output left something out.
func check(v vector, stricter, documented map[string]int) map[string]string {
	problems := map[string]string{}
	ok, p, rule := Verdict(v.contentType, v.body)
	if rule != "" {
		stricter[rule]++
	}
	if p != "" {
		problems[v.name+"/verdict"] = p
	}
	if !ok {
		if validate(v.contentType, v.body) == nil {
			// corral accepts what Prometheus refuses: its answer must
			// still parse.
			for _, out := range Outputs() {
				if p := CheckAnswer(v.contentType, v.body, out); p != "" {
					problems[v.name+"/"+out.Name] = p
				}
			}
		}
		return problems
	}
	for _, out := range Outputs() {
		p, rules := checkMerge(v.contentType, v.body, out)
		if p != "" {
			problems[v.name+"/"+out.Name] = p
		}
		for _, r := range rules {
			documented[r]++
		}
	}
	return problems
}

// TestVectors holds corral to Prometheus' verdict on every upstream vector:
// a disagreement not listed in known fails, and so does a listed one that
// no longer occurs.
func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	known := knownDisagreements()
	have := map[string]string{}
	stricter, documented := map[string]int{}, map[string]int{}
	for _, v := range vs {
		for k, p := range check(v, stricter, documented) {
			have[k] = p
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := known[k]; !ok {
			t.Errorf("new disagreement %s:\n  have: %s\n  want: agreement (or an entry in known)", k, have[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(known)) {
		if _, ok := have[k]; !ok {
			t.Errorf("known disagreement %s no longer occurs (%s): remove it from known", k, known[k])
		}
	}
	t.Logf("%d vectors, %d known disagreements, refused under a stricter rule: %v, outputs leaving out under a documented rule: %v", len(vs), len(known), stricter, documented)
}

// TestKnownPatterns keeps the fuzzer's known shapes honest: each pattern's
// cause must still show among the vectors' known disagreements.
func TestKnownPatterns(t *testing.T) {
	causes := map[string]bool{}
	for _, c := range knownDisagreements() {
		causes[c] = true
	}
	for _, k := range knownPatterns() {
		if !causes[k.cause] {
			t.Errorf("pattern %q: cause %q no longer among the vectors' disagreements: remove the pattern", k.problem, k.cause)
		}
	}
}

// TestKnownPatternsCover checks that the fuzzer's patterns attribute every
// known disagreement of the vectors to the cause the table gives it.
func TestKnownPatternsCover(t *testing.T) {
	known := knownDisagreements()
	for _, v := range loadVectors(t) {
		for k, p := range check(v, map[string]int{}, map[string]int{}) {
			property := k[len(v.name)+1:]
			if have, want := knownClass(v.contentType, v.body, property, p), known[k]; have != want {
				t.Errorf("%s: %s\n  have cause: %q\n  want cause: %q", k, p, have, want)
			}
		}
	}
}
