package exposition

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestReadPanicFailsItsSourceOnly: a panic in the code that reads a body (a
// defect, made here by readHook) fails that body alone: its source is down
// with an error that says so, the other sources are merged, small and big
// (scanned in goroutines of their own), received or not; Validate and a
// Receiver give the error; and the next merge works.
func TestReadPanicFailsItsSourceOnly(t *testing.T) {
	readHook = func(body []byte) {
		if bytes.Contains(body, []byte("boom")) {
			panic("boom")
		}
	}
	defer func() { readHook = nil }()
	big := func(name string) string {
		var b strings.Builder
		for i := 0; b.Len() < 2*parallelScan; i++ {
			fmt.Fprintf(&b, "%s{i=\"%d\"} 1\n", name, i)
		}
		return b.String()
	}
	var received []*Receiver
	receive := func(name, body string) Input {
		in := Input{Name: name, ContentType: ctText, Body: []byte(body)}
		r := NewSource().Receive(ctText, "exporter", &in)
		r.Feed(in.Body)
		if err := r.Finish(in.Body); strings.Contains(body, "boom") != IsDefect(err) {
			t.Errorf("%s: Receiver: want a defect's error exactly for the body that panics, have %v", name, err)
		}
		in.Received = r
		received = append(received, r)
		return in
	}
	inputs := []Input{
		{Name: "small", ContentType: ctText, Body: []byte("small 1\n")},
		{Name: "small_bad", ContentType: ctText, Body: []byte("boom 1\n")},
		{Name: "big", ContentType: ctText, Body: []byte(big("big"))},
		{Name: "big_bad", ContentType: ctText, Body: []byte(big("boom"))},
		receive("received", "received 1\n"),
		receive("received_bad", big("boom")),
	}
	for _, format := range []string{"text", "om", "proto"} {
		var out bytes.Buffer
		fm := map[string]func() Options{
			"text":  func() Options { return Options{Label: "exporter", Format: fmtText} },
			"om":    func() Options { return Options{Label: "exporter", Format: fmtOM} },
			"proto": func() Options { return Options{Label: "exporter", Format: fmtProto} },
		}[format]()
		rep, err := Merge(&out, fm, inputs)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for _, s := range rep.Sources {
			bad := strings.HasSuffix(s.Name, "_bad")
			if s.Up == bad || bad && !IsDefect(s.Err) {
				t.Errorf("%s: source %s: want up %v (a defect's error when down), have up %v, %v", format, s.Name, !bad, s.Up, s.Err)
			}
		}
		checkParses(t, fm.Format, out.Bytes())
	}
	for _, r := range received {
		r.Release()
	}
	if err := Validate(ctText, []byte("boom 1\n")); !IsDefect(err) || !strings.Contains(err.Error(), "defect of corral's") {
		t.Errorf("Validate: want a defect's error, have %v", err)
	}
	readHook = nil
	var out bytes.Buffer
	if rep, err := Merge(&out, Options{Format: fmtText}, inputs[:1]); err != nil || !rep.Sources[0].Up || !strings.Contains(out.String(), "\nsmall{exporter=\"small\"} 1\n") {
		t.Errorf("the next merge: have %v, %v, %q", rep.Sources, err, out.String())
	}
}

// panicWriter panics on every write.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("write") }

// TestMergePanicIsItsError: a panic past the sources' scans (here in the
// writer) ends the merge with a defect's error, not the process; the next
// merge works.
func TestMergePanicIsItsError(t *testing.T) {
	in := []Input{{Name: "a", ContentType: ctText, Body: []byte("a 1\n")}}
	if _, err := Merge(panicWriter{}, Options{Format: fmtText}, in); !IsDefect(err) {
		t.Errorf("want a defect's error, have %v", err)
	}
	var out bytes.Buffer
	if _, err := Merge(&out, Options{Format: fmtText}, in); err != nil || !strings.Contains(out.String(), "\na{exporter=\"a\"} 1\n") {
		t.Errorf("the next merge: have %v, %q", err, out.String())
	}
}
