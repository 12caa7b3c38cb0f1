package exposition

import (
	"bytes"
	"testing"
)

// TestMergeDedupForms writes one series in several ways (label order,
// blanks, the braces-only form with the name first or among the labels): all but the first are duplicates, while
// series that differ only a little are all kept.
func TestMergeDedupForms(t *testing.T) {
	body := []byte(`# TYPE d gauge
d{a="1",b="2"} 1
d{b="2",a="1"} 2
d {a="1",b="2"} 3
d{ a="1", b="2" } 4
d{a="1",b="2",} 5
{a="1","d",b="2"} 6
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

// TestDedupSpelling holds deduplication to the series Prometheus sees: one
// label set spelled differently (blanks around '=', a quoted or escaped
// name, another order) is one series, whichever way the scan took it.
func TestDedupSpelling(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines string
		want  int // duplicates
	}{
		{"blanks around =", "foo{a=\"1\"} 1\nfoo{a = \"1\"} 2\n", 1},
		{"quoted label name", "foo{a=\"1\"} 1\nfoo{\"a\"=\"1\"} 2\n", 1},
		{"all three", "foo{a=\"1\"} 1\nfoo{a = \"1\"} 2\nfoo{\"a\"=\"1\"} 3\n", 2},
		{"quoted name first", "foo{\"a\"=\"1\"} 1\nfoo{a=\"1\"} 2\n", 1},
		{"quoted metric name", "{\"foo\",b=\"2\",a=\"1\"} 1\nfoo{a=\"1\",b = \"2\"} 2\n", 1},
		{"escaped label name", "foo{\"a\\\"b\"=\"1\"} 1\nfoo{\"a\\\"b\" = \"1\"} 2\n", 1},
		{"blank before the value's quote", "foo{a=\"1\",b=\"x\"} 1\nfoo{b= \"x\",a =\"1\"} 2\n", 1},
		{"different values stay", "foo{a=\"1\"} 1\nfoo{a = \"2\"} 2\nfoo{\"a\"=\"3\"} 3\n", 0},
		{"value escapes are one spelling", "foo{a=\"x\\\\\"} 1\nfoo{\"a\" = \"x\\\\\"} 2\n", 1},
	} {
		body := []byte("# TYPE foo gauge\n" + tc.lines)
		var out bytes.Buffer
		rep, err := Merge(&out, Options{Label: "exporter"}, []Input{{Name: "s", ContentType: ctText, Body: body}})
		if err != nil {
			t.Fatal(err)
		}
		if src := rep.Sources[0]; !src.Up || src.Duplicates != tc.want {
			t.Errorf("%s: duplicates: want %d, have %d (up %v, err %v)\n%s", tc.name, tc.want, src.Duplicates, src.Up, src.Err, out.Bytes())
		}
		if err := Validate(ctText, out.Bytes()); err != nil {
			t.Errorf("%s: invalid output: %v\n%s", tc.name, err, out.Bytes())
		}
	}
}
