package exposition

import (
	"bytes"
	"fmt"
	"testing"
)

// receive scans body as a Receiver does while it arrives: in pieces, each
// piece in a fresh copy of the body so far.
func receive(ct, label string, in *Input, body []byte, piece int) *Receiver {
	r := Receive(ct, label, in)
	for n := piece; n < len(body); n += piece {
		r.Feed(bytes.Clone(body[:n]))
	}
	r.Finish(body)
	return r
}

// TestReceiveValidate holds a Receiver's verdict against Validate's, for
// good and bad bodies, fed in pieces of several sizes.
func TestReceiveValidate(t *testing.T) {
	bodies := map[string][]byte{
		"synthetic": syntheticBody(20000, "app"),
		"node":      readFixture(t, "node_exporter.prom"),
		"truncated": syntheticBody(2000, "app")[:100000],
		"bad late":  append(syntheticBody(2000, "app"), "bad{a=\"1\",a=\"2\"} 1\n"...),
		"bad utf8":  append(syntheticBody(2000, "app"), "bad{a=\"\xff\"} 1\n"...),
	}
	for _, name := range mergeSeeds(t) {
		bodies[name] = readFixture(t, name)
	}
	for name, body := range bodies {
		want := fmt.Sprint(Validate(ctText, body))
		for _, piece := range []int{1000, feedMin + 1, 1 << 20} {
			r := receive(ctText, "", nil, body, piece)
			if have := fmt.Sprint(r.Finish(body)); have != want {
				t.Errorf("%s in pieces of %d: want %s, have %s", name, piece, want, have)
			}
			r.Release()
		}
	}
	if r := Receive("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", "", nil); r != nil || r.Scanned() || r.Finish(nil) != nil {
		t.Errorf("protobuf: want no Receiver")
	}
}

// TestMergeReceived: a merge of inputs scanned while received writes what
// a merge that scans them itself writes.
func TestMergeReceived(t *testing.T) {
	for _, name := range []string{"a", "b"} {
		ins := mergeCase(t, name)
		ins = append(ins, Input{Name: "exp", ContentType: ctText, Labels: map[string]string{"role": "x"},
			Body: []byte("m{exporter=\"e\",role=\"r\"} 1\nm{exporter=\"e\",role=\"r\"} 2\n")})
		var want, have bytes.Buffer
		wantRep, _ := Merge(&want, Options{Label: "exporter"}, ins)
		for i := range ins {
			ins[i].Received = receive(ins[i].ContentType, "exporter", &ins[i], ins[i].Body, 50000)
		}
		haveRep, _ := Merge(&have, Options{Label: "exporter"}, ins)
		for i := range ins {
			ins[i].Received.Release()
		}
		if !bytes.Equal(want.Bytes(), have.Bytes()) || fmt.Sprint(wantRep) != fmt.Sprint(haveRep) {
			t.Errorf("case %s: received inputs merge differently\nwant %v\nhave %v", name, wantRep, haveRep)
		}
	}
}
