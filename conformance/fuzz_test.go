package conformance

import (
	"testing"
)

// FuzzConformance holds corral to Prometheus' verdict on any body, in any
// of the three input formats, with every check TestVectors makes (and, for
// a body corral accepts but Prometheus refuses, that the merged answer
// still parses). A
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
		ok, p, _ := Verdict(ct, body)
		if p != "" {
			if cause := knownClass(ct, body, "verdict", p); cause == "" {
				t.Fatalf("%s body %q:\nhave: %s\nwant: agreement (or a known cause)", ct, body, p)
			}
		}
		if !ok {
			if validate(ct, body) != nil {
				return
			}
			// corral accepts what Prometheus refuses: its answer must
			// still parse.
			for _, out := range Outputs() {
				if p := CheckAnswer(ct, body, out); p != "" && knownClass(ct, body, out.Name, p) == "" {
					t.Fatalf("%s body %q, merged to %s:\nhave: %s\nwant: an answer Prometheus reads", ct, body, out.Name, p)
				}
			}
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
