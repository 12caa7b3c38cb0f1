package exposition

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// scanState is everything a scan leaves for the merge, as text.
func scanState(s *scanner, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprint(s.fams, s.samples, s.cur, s.line, s.suffixed, s.split)
}

// freshScan is body's scan by a scanner that has never seen another body.
func freshScan(body []byte, reserved [][]byte) string {
	s := newScanner()
	s.hashing, s.seed = true, 1
	return scanState(s, s.scan(body, false, reserved))
}

// memoScan scans prev, then body, with one memo-keeping scanner: whole, or
// received in pieces of piece bytes. It gives the scan of body and how many
// of its lines were replayed.
func memoScan(prev, body []byte, reserved [][]byte, piece int) (string, int) {
	s := newSourceScanner(NewSource())
	s.hashing, s.seed = true, 1
	s.scan(prev, false, reserved)
	if piece == 0 {
		err := s.scan(body, false, reserved)
		return scanState(s, err), s.memo.replayed
	}
	r := &Receiver{sc: s}
	s.reset(nil, false, reserved)
	piece = max(piece, len(body)/8) // a big body in a few pieces: each is a copy
	for n := piece; n < len(body); n += piece {
		r.Feed(bytes.Clone(body[:n]))
	}
	err := r.Finish(body)
	return scanState(s, err), s.memo.replayed
}

var valueRE = regexp.MustCompile(`(?m)^([^#\s][^\n]* )([0-9.e+-]+)$`)

// revalue gives every plain sample value of body a new value, as a
// source's next scrape does.
func revalue(body []byte, with string) []byte {
	return valueRE.ReplaceAll(body, []byte("${1}"+with))
}

// TestReplayAgrees scans a body after another with a memo-keeping scanner
// and holds the result (families, samples, hashes, error and its line)
// against a scanner that never saw the first body: the memo may only make
// the scan faster. The values-only changes are replayed line for line.
func TestReplayAgrees(t *testing.T) {
	node := readFixture(t, "node_exporter.prom")
	hist := readFixture(t, "histograms.prom")
	big := syntheticBody(30000, "app") // > splitScan: the rest after a change is split
	exporter := [][]byte{[]byte("exporter")}
	samples := replayable(t)
	for _, tc := range []struct {
		name       string
		prev, body []byte
		reserved   [][]byte
		replayed   int // -1: any
	}{
		{"same body", node, node, exporter, samples(node)},
		{"new values", node, revalue(node, "12345.5"), exporter, samples(node)},
		{"longer and shorter values", revalue(hist, "1"), revalue(hist, "1.0000000000005e-07"), exporter, samples(hist)},
		{"big, new values", big, revalue(big, "42"), exporter, samples(big)},
		{"big, a series added in the middle", big, insertAfter(big, "app_metric_150{", "app_metric_150{instance=\"new\"} 1\n"), exporter, -1},
		{"NaN and Inf values", node, revalue(node, "NaN"), exporter, 566}, // HELP and TYPE lines only
		{"values out of range", node, revalue(node, "1e400"), exporter, 2},
		{"invalid values", hist, bytes.Replace(hist, []byte("} 0\n"), []byte("} 0x\n"), 1), exporter, -1},
		{"invalid UTF-8 value", hist, bytes.Replace(hist, []byte("} 0\n"), []byte("} 0\xff\n"), 1), exporter, -1},
		{"negative histogram count", hist, revalue(hist, "-1"), exporter, -1},
		// expfmt reads a histogram's own name with an le as a bucket.
		{"negative bucket under the family's name", []byte("# TYPE h histogram\nh{le=\"1\"} 2\n"), []byte("# TYPE h histogram\nh{le=\"1\"} -2\n"), exporter, -1},
		// Invalid UTF-8 anywhere is the first problem, as for the fresh scan.
		{"negative count, then invalid UTF-8", hist, append(revalue(hist, "-1"), "# \xff\n"...), exporter, -1},
		{"timestamps added", node, valueRE.ReplaceAll(node, []byte("${1}${2} 1700000000000")), exporter, 566},
		{"timestamps dropped", valueRE.ReplaceAll(node, []byte("${1}${2} 1700000000000")), node, exporter, 566},
		{"HELP changed", node, insertAfter(node, "# HELP go_goroutines", " (changed)"), exporter, -1},
		{"TYPE changed", node, bytes.Replace(node, []byte("# TYPE go_goroutines gauge"), []byte("# TYPE go_goroutines counter"), 1), exporter, -1},
		{"type conflict later", node, append(bytes.Clone(node), "# TYPE go_goroutines gauge\n"...), exporter, samples(node)},
		{"a series gone", node, removeLine(node, "go_goroutines "), exporter, -1},
		{"a label value changed", node, bytes.Replace(node, []byte(`version="go`), []byte(`version="GO`), 1), exporter, -1},
		{"a reserved label appears", node, bytes.Replace(node, []byte(`{version=`), []byte(`{exporter="x",version=`), 1), exporter, -1},
		{"an implicit family", []byte("a 1\nb{x=\"1\"} 2\n"), []byte("a 3\nb{x=\"1\"} 4\n"), exporter, 0},
		{"a family in two places", []byte("a 1\nb 2\na{x=\"1\"} 3\n"), []byte("a 4\nb 5\na{x=\"1\"} 6\n"), exporter, -1},
		{"duplicate series", []byte("a{x=\"1\"} 1\na{x=\"1\"} 2\n"), []byte("a{x=\"1\"} 3\na{x=\"1\"} 4\n"), exporter, 1},
		{"blank lines and indented samples", []byte("\n  {\"a\"} 1\n\n# TYPE b gauge\nb 2\n"), []byte("\n  {\"a\"} 1\n\n# TYPE b gauge\nb 3\n"), exporter, 2},
		{"a value right after the name", []byte("a-3\nb 1\n"), []byte("a-4\nb 1\n"), exporter, -1},
		{"a value right after the name, then a longer name", []byte("a-3\nb 1\n"), []byte("a5\nb 1\n"), exporter, -1},
		{"truncated", node, node[:len(node)-3], exporter, -1},
		{"more lines", node, append(bytes.Clone(node), "extra 1\n"...), exporter, samples(node)},
		{"fewer lines", node, node[:bytes.LastIndex(node[:len(node)-1], []byte("\n"))+1], exporter, -1},
		{"empty body", node, nil, exporter, 0},
		{"quoted names and escapes", append(readFixture(t, "inputs/utf8_names.prom"), readFixture(t, "escapes.prom")...),
			revalue(append(readFixture(t, "inputs/utf8_names.prom"), readFixture(t, "escapes.prom")...), "5"), exporter, -1},
		{"quoted names in HELP and TYPE", []byte("# HELP \"a.b\" x\n# TYPE \"a.b\" gauge\n{\"a.b\"} 1\n# TYPE c gauge\nc 1\n"),
			[]byte("# HELP \"a.b\" x\n# TYPE \"a.b\" gauge\n{\"a.b\"} 2\n# TYPE c gauge\nc 2\n"), exporter, 3},
		{"indented comments", []byte("  # HELP a x\n# TYPE a gauge\na 1\n"), []byte("  # HELP a x\n# TYPE a gauge\na 2\n"), exporter, 2},
		{"other reserved labels", node, node, [][]byte{[]byte("job")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := freshScan(tc.body, tc.reserved)
			for _, piece := range []int{0, 7919, 40000} {
				var have string
				var replayed int
				if tc.name == "other reserved labels" {
					// The memo was made for other labels: not used.
					s := newSourceScanner(NewSource())
					s.hashing, s.seed = true, 1
					s.scan(tc.prev, false, [][]byte{[]byte("exporter")})
					err := s.scan(tc.body, false, tc.reserved)
					have, replayed = scanState(s, err), s.memo.replayed
				} else {
					have, replayed = memoScan(tc.prev, tc.body, tc.reserved, piece)
				}
				if have != want {
					t.Fatalf("pieces of %d: want the fresh scan\n%.600s\nhave\n%.600s", piece, want, have)
				}
				if tc.replayed >= 0 && replayed != tc.replayed {
					t.Errorf("pieces of %d: replayed %d lines, want %d", piece, replayed, tc.replayed)
				}
			}
		})
	}
}

// replayable counts a body's sample, HELP and TYPE lines: the lines a
// replay takes from the memo when only values changed.
func replayable(t testing.TB) func(b []byte) int {
	return func(b []byte) int {
		s := newScanner()
		if err := s.scan(b, false, nil); err != nil {
			t.Fatal(err)
		}
		return len(s.samples) + bytes.Count(b, []byte("\n# HELP ")) + bytes.Count(b, []byte("\n# TYPE ")) +
			bytes.Count(b[:min(len(b), 7)], []byte("# HELP ")) + bytes.Count(b[:min(len(b), 7)], []byte("# TYPE "))
	}
}

// TestReplaySteadyState: a source whose series stay put is replayed whole
// scrape after scrape, without copying its body again; a change makes the
// new body the memo.
func TestReplaySteadyState(t *testing.T) {
	body := readFixture(t, "node_exporter.prom")
	src := NewSource()
	s := newSourceScanner(src)
	s.hashing = true
	if err := s.scan(body, false, nil); err != nil || !bytes.Equal(src.memo.body, body) {
		t.Fatalf("first body: %v, not remembered", err)
	}
	kept := &src.memo.body[0]
	n := replayable(t)(body)
	for i := range 3 {
		next := revalue(body, fmt.Sprint(i))
		if err := s.scan(next, false, nil); err != nil {
			t.Fatal(err)
		}
		if s.memo.replayed != n || &src.memo.body[0] != kept {
			t.Fatalf("scrape %d: replayed %d of %d lines, memo copied again: %v", i, s.memo.replayed, n, &src.memo.body[0] != kept)
		}
	}
	changed := append(bytes.Clone(body), "extra 1\n"...)
	if err := s.scan(changed, false, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src.memo.body, changed) {
		t.Fatalf("the memo is not the changed body")
	}
	// All but "extra", whose line makes its family.
	if err := s.scan(revalue(changed, "7"), false, nil); err != nil || s.memo.replayed != n {
		t.Fatalf("after the change: replayed %d of %d lines (%v)", s.memo.replayed, n, err)
	}
	// An invalid body leaves the memo as it was.
	if err := s.scan(append(bytes.Clone(changed), "bad{ 1\n"...), false, nil); err == nil || !bytes.Equal(src.memo.body, changed) {
		t.Fatalf("an invalid body: err %v, memo changed %v", err, !bytes.Equal(src.memo.body, changed))
	}
}

func insertAfter(body []byte, at, text string) []byte {
	i := bytes.Index(body, []byte(at))
	if i < 0 {
		panic(at)
	}
	i += len(at)
	if strings.HasSuffix(text, "\n") {
		i = bytes.LastIndexByte(body[:i], '\n') + 1 // a line of its own, before
	}
	return append(append(bytes.Clone(body[:i]), text...), body[i:]...)
}

func removeLine(body []byte, prefix string) []byte {
	i := bytes.Index(body, []byte("\n"+prefix))
	if i < 0 {
		panic(prefix)
	}
	j := bytes.IndexByte(body[i+1:], '\n')
	return append(bytes.Clone(body[:i+1]), body[i+1+j+1:]...)
}

// FuzzReplay: for any two bodies, scanning the second after the first with
// a memo gives the fresh scan of the second.
func FuzzReplay(f *testing.F) {
	for _, name := range []string{"node_exporter.prom", "histograms.prom", "summary.prom", "escapes.prom"} {
		b := readFixture(f, name)
		f.Add(b, revalue(b, "3.5"))
		f.Add(b, revalue(b, "-1"))
	}
	f.Add([]byte("a 1\n# TYPE a gauge\n"), []byte("a 2\n# TYPE a gauge\n"))
	f.Fuzz(func(t *testing.T, prev, body []byte) {
		reserved := [][]byte{[]byte("exporter")}
		want := freshScan(body, reserved)
		if have, _ := memoScan(prev, body, reserved, 0); have != want {
			t.Fatalf("prev %q\nbody %q\nwant %.500s\nhave %.500s", prev, body, want, have)
		}
	})
}

// TestMergeMemo merges scrape after scrape through each source's own
// Source, as the gateway does, and holds every merge against a merge of
// the same bodies from scratch: replayed bodies, a memo with duplicate
// series, a family dropped for a type conflict while another source has it
// (its duplicates must be found again once it is merged), and a source
// that changes its series.
func TestMergeMemo(t *testing.T) {
	dups := []byte("# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n# TYPE y counter\ny_total 3\n")
	clash := []byte("# TYPE x counter\nx 1\n")
	node := readFixture(t, "node_exporter.prom")
	scanners := map[string]*Source{}
	rounds := []map[string][]byte{
		{"a-clash": clash, "dups": dups, "node": node},
		{"a-clash": clash, "dups": revalue(dups, "5"), "node": revalue(node, "6")},
		{"a-clash": clash, "dups": revalue(dups, "7"), "node": revalue(node, "8")},
		{"dups": revalue(dups, "9"), "node": revalue(node, "10")}, // x merged again: its duplicate found again
		{"dups": revalue(dups, "11"), "node": append(revalue(node, "12"), "extra 1\n"...)},
		{"dups": revalue(dups, "13"), "node": append(revalue(node, "14"), "# TYPE extra gauge\nextra{n=\"2\"} 2\nextra{n=\"3\"} 3\n"...)},
		{"dups": revalue(dups, "15"), "node": append(revalue(node, "16"), "# TYPE extra gauge\nextra{n=\"2\"} 2\nextra{n=\"3\"} 4\n"...)},
	}
	for r, bodies := range rounds {
		var ins []Input
		for _, name := range slices.Sorted(maps.Keys(bodies)) {
			ins = append(ins, Input{Name: name, ContentType: ctText, Body: bodies[name]})
		}
		var want, have bytes.Buffer
		wantRep, _ := Merge(&want, Options{Label: "exporter"}, ins)
		for i := range ins {
			sc := scanners[ins[i].Name]
			if sc == nil {
				sc = NewSource()
				scanners[ins[i].Name] = sc
			}
			ins[i].Received = sc.Receive(ctText, "exporter", &ins[i])
			ins[i].Received.Finish(ins[i].Body)
		}
		haveRep, _ := Merge(&have, Options{Label: "exporter"}, ins)
		var replayed int
		for i := range ins {
			if ins[i].Name == "node" {
				replayed = ins[i].Received.sc.memo.replayed
			}
		}
		for i := range ins {
			ins[i].Received.Release()
		}
		if r == len(rounds)-1 && replayed != replayable(t)(bodies["node"]) {
			t.Errorf("node: the last round replayed %d lines, want all", replayed)
		}
		if !bytes.Equal(want.Bytes(), have.Bytes()) || fmt.Sprint(wantRep) != fmt.Sprint(haveRep) {
			t.Fatalf("round %d: merged from memos differently\nwant %v\n%s\nhave %v\n%s", r, wantRep, want.Bytes(), haveRep, have.Bytes())
		}
	}
	if !slices.Contains(scanners["node"].memo.distinct, expfmt.FmtText) {
		t.Errorf("node: its memo has no duplicate series but does not say distinct")
	}
	if slices.Contains(scanners["dups"].memo.distinct, expfmt.FmtText) {
		t.Errorf("dups: its memo has duplicate series but says distinct")
	}
}
