package conformance

import (
	"encoding/binary"
	"testing"
)

// FuzzConformance holds corral to Prometheus' verdict on any body, in any
// of the three input formats, with every check TestVectors makes. A
// disagreement passes only when knownClass attributes it to a known cause.
// Seeds: every vector, in its own format.
func FuzzConformance(f *testing.F) {
	formats := []string{TextType, OpenMetricsType, ProtobufType}
	for _, v := range loadVectors(f) {
		for i, ct := range formats {
			if ct == v.contentType {
				f.Add(uint8(i), v.body)
			}
		}
	}
	f.Fuzz(func(t *testing.T, format uint8, body []byte) {
		ct := formats[int(format)%len(formats)]
		if ct == ProtobufType && lengthPastEnd(body) {
			// protoHugeLength: corral would allocate what the prefix says,
			// gigabytes, and the fuzzing process would die of it.
			return
		}
		ok, p, _ := Verdict(ct, body)
		if p != "" {
			if cause := knownClass(ct, body, "verdict", p); cause == "" {
				t.Fatalf("%s body %q:\nhave: %s\nwant: agreement (or a known cause)", ct, body, p)
			}
		}
		if !ok {
			return
		}
		for _, out := range Outputs() {
			if p := CheckMerge(ct, body, out); p != "" {
				if cause := knownClass(ct, body, out.Name, p); cause == "" {
					t.Fatalf("%s body %q, merged to %s:\nhave: %s\nwant: agreement (or a known cause)", ct, body, out.Name, p)
				}
			}
		}
	})
}

// lengthPastEnd tells whether a length prefix of the delimited protobuf
// body claims more bytes than the body has left.
func lengthPastEnd(body []byte) bool {
	for len(body) > 0 {
		n, k := binary.Uvarint(body)
		if k <= 0 {
			return false // not a varint: the decoders refuse it without allocating
		}
		body = body[k:]
		if n > uint64(len(body)) {
			return true
		}
		body = body[n:]
	}
	return false
}
