package exposition

import (
	"bytes"
	"testing"
)

// TestMergeDedupForms writes one series in several ways (label order,
// blanks, the braces-only form): all but the first are duplicates, while
// series that differ only a little are all kept.
func TestMergeDedupForms(t *testing.T) {
	body := []byte(`# TYPE d gauge
d{a="1",b="2"} 1
d{b="2",a="1"} 2
d {a="1",b="2"} 3
d{ a="1", b="2" } 4
d{a="1",b="2",} 5
{d,a="1",b="2"} 6
{"d",b="2",a="1"} 7
d{a="1",b="22"} 8
d{a="12",b="2"} 9
d{a="1"} 10
d{b="2"} 11
d 12
d{} 13
d{a="1",b="2",c=""} 14
d{a="1,b=\"2"} 15
`)
	var out bytes.Buffer
	rep, err := Merge(&out, Options{Label: "exporter"}, []Input{{Name: "s", ContentType: ctText, Body: body}})
	if err != nil {
		t.Fatal(err)
	}
	src := rep.Sources[0]
	if !src.Up {
		t.Fatal(src.Err)
	}
	if want := 7; src.Duplicates != want {
		t.Errorf("duplicates: want %d, have %d", want, src.Duplicates)
	}
	if want := 8; src.Samples != want {
		t.Errorf("samples: want %d, have %d\n%s", want, src.Samples, out.Bytes())
	}
	for _, keep := range []string{" 1\n", " 8\n", " 9\n", " 10\n", " 11\n", " 12\n", " 14\n", " 15\n"} {
		if !bytes.Contains(out.Bytes(), []byte(keep)) {
			t.Errorf("sample with value%q missing:\n%s", keep, out.Bytes())
		}
	}
	if err := Validate(ctText, out.Bytes()); err != nil {
		t.Errorf("invalid output: %v\n%s", err, out.Bytes())
	}
}
