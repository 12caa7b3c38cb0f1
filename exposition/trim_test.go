package exposition

import (
	"bytes"
	"testing"
	"unsafe"
)

// TestSourceTrim: a trimmed Source keeps one scanner, with its tables or
// without, and its memo of the last body, that memo is MemoBytes of the body, and the
// source's next body is still replayed from it, with the same verdict.
func TestSourceTrim(t *testing.T) {
	src := NewSource()
	// The second body has more series than the first: a new memo.
	bodies := [][]byte{syntheticBody(5000, "app"), revalue(syntheticBody(5200, "app"), "3"), revalue(syntheticBody(5200, "app"), "4")}
	scrape := func(body []byte) *Receiver {
		in := &Input{Name: "app", ContentType: ctText, Body: body}
		r := src.Receive(ctText, "exporter", in)
		for n := 64 << 10; n < len(body); n += 64 << 10 {
			r.Feed(body[:n])
		}
		if err := r.Finish(body); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Two scrapes at once, twice: the Source keeps two scanners, each
	// with its tables, and one memo.
	for _, pair := range [][2][]byte{{bodies[0], bodies[0]}, {bodies[1], bodies[1]}} {
		a, b := scrape(pair[0]), scrape(pair[1])
		a.Release()
		b.Release()
	}
	if len(src.idle) != 2 {
		t.Fatalf("before Trim: want 2 idle scanners, have %d", len(src.idle))
	}
	src.Trim(false)
	if len(src.idle) != 1 || cap(src.idle[0].samples) == 0 {
		t.Fatalf("after Trim(false): want 1 idle scanner, with its tables; have %d", len(src.idle))
	}
	src.Trim(true)
	if len(src.idle) != 1 {
		t.Fatalf("after Trim(true): want 1 idle scanner, have %d", len(src.idle))
	}
	s := src.idle[0]
	m := src.memo
	if !bytes.Equal(m.body, bodies[1]) {
		t.Fatalf("after Trim: want the memo of the last body (%d bytes), have %d bytes", len(bodies[1]), len(m.body))
	}
	if cap(s.samples)+cap(s.fams)+cap(s.notes)+len(s.byName) != 0 || s.half != nil {
		t.Errorf("after Trim: want no working tables, have samples %d, families %d, notes %d, names %d, half %v",
			cap(s.samples), cap(s.fams), cap(s.notes), len(s.byName), s.half != nil)
	}
	kept := len(m.body) + len(m.samples)*int(unsafe.Sizeof(sample{})) + len(m.notes)*int(unsafe.Sizeof(note{}))
	if want := MemoBytes(bodies[1]); kept != want {
		t.Errorf("memo: want MemoBytes = %d bytes, have %d (body %d, samples %d, notes %d)", want, kept, len(m.body), len(m.samples), len(m.notes))
	}
	if c := cap(m.body) + cap(m.samples)*int(unsafe.Sizeof(sample{})) + cap(m.notes)*int(unsafe.Sizeof(note{})); c > kept+kept/8+128<<10 {
		t.Errorf("memo: want its capacity near its %d bytes, have %d", kept, c)
	}
	if r := float64(MemoBytes(bodies[1])) / float64(len(bodies[1])); r < 1.3 || r > 2 {
		t.Errorf("MemoBytes: want about 1.6 bodies for this exporter's lines, have %.2f", r)
	}

	r := scrape(bodies[2])
	defer r.Release()
	if want := replayable(t)(bodies[2]); r.sc.memo.replayed != want {
		t.Errorf("next body after Trim: want all %d lines replayed from the memo, have %d", want, r.sc.memo.replayed)
	}
	if want, have := Validate(ctText, bodies[2]), r.Finish(bodies[2]); have != want {
		t.Errorf("next body after Trim: want %v, have %v", want, have)
	}
}
