package exposition

import (
	"bytes"
	"fmt"
	"testing"
)

// TestSourceReuse: one Source receiving a source's bodies one after the
// other, big, bad, small and big again, gives the verdicts and merges that
// the pool's Receivers give; it keeps its tables across bodies of one size
// and lets them go when the source shrinks.
func TestSourceReuse(t *testing.T) {
	sc := NewSource()
	big := syntheticBody(20000, "app")
	for _, step := range []struct {
		name      string
		body      []byte
		wantTable bool // the samples table of big is still held after the scan
	}{
		{"big", big, true},
		{"big again", big, true},
		{"bad", append(bytes.Clone(big[:len(big)/2]), "bad{a=\"1\",a=\"2\"} 1\n"...), true},
		{"small", readFixture(t, "summary.prom"), false},
		{"big after small", big, true},
	} {
		in := Input{Name: "src", ContentType: ctText, Body: step.body}
		r := sc.Receive(ctText, "exporter", &in)
		for n := 50000; n < len(step.body); n += 50000 {
			r.Feed(step.body[:n])
		}
		haveErr := fmt.Sprint(r.Finish(step.body))
		if want := fmt.Sprint(Validate(ctText, step.body)); haveErr != want {
			t.Errorf("%s: want %s, have %s", step.name, want, haveErr)
		}
		var want, have bytes.Buffer
		wantRep, _ := Merge(&want, Options{Label: "exporter"}, []Input{{Name: "src", ContentType: ctText, Body: step.body}})
		in.Received = r
		haveRep, _ := Merge(&have, Options{Label: "exporter"}, []Input{in})
		if !bytes.Equal(want.Bytes(), have.Bytes()) || fmt.Sprint(wantRep) != fmt.Sprint(haveRep) {
			t.Errorf("%s: merge of the Source's scan differs\nwant %v\nhave %v", step.name, wantRep, haveRep)
		}
		r.Release()
		if len(sc.idle) != 1 {
			t.Fatalf("%s: want the scanner back in the Source, have %d idle", step.name, len(sc.idle))
		}
		if have := cap(sc.idle[0].samples) >= 20000; have != step.wantTable {
			t.Errorf("%s: samples table kept: want %v, have %v (cap %d)", step.name, step.wantTable, have, cap(sc.idle[0].samples))
		}
		if sc.idle[0].body != nil || len(sc.idle[0].samples) != 0 {
			t.Errorf("%s: want the scanner reset after Release", step.name)
		}
	}
}

// TestCommentAllocs: HELP and TYPE lines cost no allocation of their own
// (a family's name in the table of names is the one per family).
func TestCommentAllocs(t *testing.T) {
	var b bytes.Buffer
	const families = 500
	for i := range families {
		fmt.Fprintf(&b, "# HELP f%d Help.\n# TYPE f%d gauge\nf%d 1\n", i, i, i)
	}
	body := b.Bytes()
	if err := Validate(ctText, body); err != nil {
		t.Fatal(err)
	}
	if have := testing.AllocsPerRun(20, func() { Validate(ctText, body) }); have > families+50 {
		t.Errorf("allocations per Validate of %d families: want at most %d, have %.0f", families, families+50, have)
	}
}
