package exposition

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// receiveWhole scans body of src as a merge's Receiver does, fed in
// pieces, and fails t on a problem.
func receiveWhole(t testing.TB, src *Source, in *Input) *Receiver {
	r := src.Receive(in.ContentType, "exporter", in)
	for n := 64 << 10; n < len(in.Body); n += 64 << 10 {
		r.Feed(in.Body[:n])
	}
	if err := r.Finish(in.Body); err != nil {
		t.Error(err)
	}
	return r
}

// TestSourceSharesMemo: Receivers of one Source in flight at once, the
// Source's first scanner and those made for them, replay every line of
// their first body against the Source's one memo, which is the copy of the
// last body scanned whole: the same backing array for all of them.
func TestSourceSharesMemo(t *testing.T) {
	const n = 4
	body := syntheticBody(3000, "app")
	want := replayable(t)(body)
	src := NewSource()
	first := receiveWhole(t, src, &Input{Name: "app", ContentType: ctText, Body: body})
	first.Release()
	if src.memo == nil || !bytes.Equal(src.memo.body, body) {
		t.Fatalf("after the first body: want it as the Source's memo")
	}
	kept := &src.memo.body[0]
	var rs []*Receiver
	for i := range n {
		next := revalue(body, fmt.Sprint(i))
		rs = append(rs, receiveWhole(t, src, &Input{Name: "app", ContentType: ctText, Body: next}))
	}
	for i, r := range rs {
		m := r.sc.memo.m
		if m == nil || m != src.memo || &m.body[0] != kept {
			t.Errorf("receiver %d: want the Source's memo, the first body's copy", i)
		}
		if r.sc.memo.replayed != want {
			t.Errorf("receiver %d: replayed %d of %d lines", i, r.sc.memo.replayed, want)
		}
	}
	if m := src.memo; m.holders != n {
		t.Errorf("want the memo held by the %d receivers, have %d holders", n, m.holders)
	}
	for _, r := range rs {
		r.Release()
	}
	if m := src.memo; m.holders != 0 || &m.body[0] != kept {
		t.Errorf("after Release: want the same memo, held by none; have %d holders, the same %v", m.holders, &m.body[0] == kept)
	}
}

// TestSourceNewMemo: a body out of step with the Source's memo becomes
// the memo the next Receivers replay against, while a Receiver still
// replaying the one before keeps it as it was.
func TestSourceNewMemo(t *testing.T) {
	old := syntheticBody(2000, "app")
	changed := append(syntheticBody(2000, "app"), "# TYPE extra gauge\nextra 1\n"...)
	src := NewSource()
	receiveWhole(t, src, &Input{Name: "app", ContentType: ctText, Body: old}).Release()
	// A Receiver in flight holds the old memo ...
	slow := src.Receive(ctText, "exporter", &Input{Name: "app", ContentType: ctText, Body: old})
	held := slow.sc.memo.m
	// ... while another's body changes.
	receiveWhole(t, src, &Input{Name: "app", ContentType: ctText, Body: changed}).Release()
	if src.memo == held || !bytes.Equal(src.memo.body, changed) {
		t.Fatalf("want the changed body as a new memo, have the old one: %v", src.memo == held)
	}
	if !bytes.Equal(held.body, old) {
		t.Fatalf("the memo held by a Receiver in flight was changed")
	}
	if err := slow.Finish(revalue(old, "9")); err != nil || slow.sc.memo.replayed != replayable(t)(old) {
		t.Errorf("the Receiver in flight: %v, replayed %d of %d lines of the old memo", err, slow.sc.memo.replayed, replayable(t)(old))
	}
	slow.Release()
	next := revalue(changed, "5")
	r := receiveWhole(t, src, &Input{Name: "app", ContentType: ctText, Body: next})
	defer r.Release()
	if r.sc.memo.m != src.memo || r.sc.memo.replayed != replayable(t)(next) {
		t.Errorf("the next Receiver: want all %d lines replayed against the new memo, have %d (the new memo: %v)",
			replayable(t)(next), r.sc.memo.replayed, r.sc.memo.m == src.memo)
	}
}

// TestSourceConcurrentShapes runs Receivers of one Source at once, under
// the race detector in CI, whose bodies alternate between two shapes, so
// that memos are published while others replay them, and merges them in
// two output formats: every scan and merge is the one from scratch.
func TestSourceConcurrentShapes(t *testing.T) {
	// A bucket without le: left out of OpenMetrics only, whose merges
	// find the memo not distinct where text's do.
	shape := append(syntheticBody(1500, "app"), "# TYPE h histogram\nh_bucket 1\nh_count 1\nh_sum 1\n"...)
	shapes := [2][]byte{shape, append(bytes.Clone(shape), "# TYPE extra gauge\nextra{a=\"1\"} 1\nextra{a=\"1\"} 2\n"...)}
	formats := [2]expfmt.Format{fmtText, fmtOM}
	src := NewSource()
	type job struct {
		body   []byte
		format expfmt.Format
	}
	var jobs []job
	want := map[string]string{} // the merge from scratch, by body and format
	for i := range 8 {
		for shape := range 2 {
			body := revalue(shapes[shape], fmt.Sprint(i))
			for _, f := range formats {
				var out bytes.Buffer
				rep, err := Merge(&out, Options{Label: "exporter", Format: f}, []Input{{Name: "app", ContentType: ctText, Body: body}})
				want[string(body)+string(f)] = fmt.Sprint(rep, err, out.String())
				jobs = append(jobs, job{body, f})
			}
		}
	}
	const workers = 4
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := range rounds * len(jobs) {
				j := jobs[(k*workers+w*5)%len(jobs)]
				in := Input{Name: "app", ContentType: ctText, Body: j.body}
				in.Received = receiveWhole(t, src, &in)
				var out bytes.Buffer
				rep, err := Merge(&out, Options{Label: "exporter", Format: j.format}, []Input{in})
				in.Received.Release()
				if have := fmt.Sprint(rep, err, out.String()); have != want[string(j.body)+string(j.format)] {
					t.Errorf("worker %d, job %d: merged from the Source's memo differently from scratch", w, k)
					return
				}
			}
		})
	}
	wg.Wait()
	if src.memo != nil && src.memo.holders != 0 {
		t.Errorf("after the last Release: want the memo held by none, have %d holders", src.memo.holders)
	}
}

// TestSourceMemoOutlivesOpenMetrics: a source scraped as text and as
// OpenMetrics (a /proxy whose clients ask for either) keeps its text memo
// across an OpenMetrics body, which is never replayed.
func TestSourceMemoOutlivesOpenMetrics(t *testing.T) {
	body := syntheticBody(2000, "app")
	want := replayable(t)(body)
	src := NewSource()
	receiveWhole(t, src, &Input{Name: "app", ContentType: ctText, Body: body}).Release()
	kept := src.memo
	receiveWhole(t, src, &Input{Name: "app", ContentType: ctOM, Body: []byte("# TYPE app_om gauge\napp_om 1\n# EOF\n")}).Release()
	if src.memo != kept {
		t.Fatalf("after an OpenMetrics body: want the text memo kept, have %p for %p", src.memo, kept)
	}
	r := receiveWhole(t, src, &Input{Name: "app", ContentType: ctText, Body: revalue(body, "5")})
	defer r.Release()
	if r.sc.memo.replayed != want {
		t.Errorf("the next text body: replayed %d of %d lines", r.sc.memo.replayed, want)
	}
}
