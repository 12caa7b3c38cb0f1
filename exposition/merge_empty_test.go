package exposition

import (
	"bytes"
	"errors"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// TestMergeNoSeries covers merges with nothing to merge: no input at all
// (a gateway with no modules and no self source), only failed inputs (only
// synthetic families), and an input with metadata but no sample. Each must
// give a valid exposition in every format, not a panic.
func TestMergeNoSeries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs []Input
		want   int // families in the output
	}{
		{"no inputs", nil, 0},
		{"empty input list", []Input{}, 0},
		{"only a failed source", []Input{{Name: "down", Err: errors.New("refused")}}, 3},
		{"only metadata", []Input{{Name: "meta", ContentType: ctText, Body: []byte("# HELP a A.\n# TYPE a gauge\n")}}, 3},
		{"empty body", []Input{{Name: "empty", ContentType: ctText}}, 3},
	} {
		for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
			t.Run(tc.name+"/"+string(format), func(t *testing.T) {
				var out bytes.Buffer
				rep, err := Merge(&out, Options{Label: "exporter", Format: format}, tc.inputs)
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Sources) != len(tc.inputs) {
					t.Errorf("sources: want %d, have %d", len(tc.inputs), len(rep.Sources))
				}
				if format.FormatType() != expfmt.TypeTextPlain {
					return
				}
				if err := Validate(ctText, out.Bytes()); err != nil {
					t.Errorf("invalid output: %v\n%s", err, out.Bytes())
				}
				if have := bytes.Count(out.Bytes(), []byte("# TYPE ")); have != tc.want {
					t.Errorf("families: want %d, have %d\n%s", tc.want, have, out.Bytes())
				}
			})
		}
	}
}
