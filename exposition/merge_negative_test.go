package exposition

import (
	"bytes"
	"fmt"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"
)

// TestMergeNegativeCount: a protobuf histogram with a negative float count
// (Prometheus reads it) is left out of every output for its source and
// reported as a conflict; the source stays up and its other families are
// kept. Its text, the plan's view of it, cannot carry the count.
func TestMergeNegativeCount(t *testing.T) {
	var body bytes.Buffer
	for _, mf := range []*dto.MetricFamily{
		{Name: proto.String("h"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: &dto.Histogram{
			SampleCountFloat: proto.Float64(1), SampleSum: proto.Float64(1),
			Bucket: []*dto.Bucket{{UpperBound: proto.Float64(1), CumulativeCountFloat: proto.Float64(-0.5)}},
		}}}},
		{Name: proto.String("g"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(2)}}}},
	} {
		if _, err := protodelim.MarshalTo(&body, mf); err != nil {
			t.Fatal(err)
		}
	}
	if err := Validate(ctProto, body.Bytes()); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, format := range []expfmt.Format{fmtText, fmtUTF8, fmtOM, fmtProto} {
		var out bytes.Buffer
		rep, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{{Name: "a", ContentType: ctProto, Body: body.Bytes()}})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint([]Conflict{{Source: "a", Family: "h", Reason: negativeCount}})
		if have := fmt.Sprint(rep.Conflicts); have != want || len(rep.Sources) != 1 || !rep.Sources[0].Up {
			t.Errorf("%s: want conflicts %s, source up\nhave %s, sources %+v", format, want, have, rep.Sources)
		}
		fams := familiesOf(t, format, out.Bytes())
		if _, ok := fams["g"]; !ok {
			t.Errorf("%s: family g lost:\n%s", format, out.Bytes())
		}
		if _, ok := fams["h"]; ok {
			t.Errorf("%s: family h written:\n%s", format, out.Bytes())
		}
	}
}

// familiesOf gives the families of a merged output by name.
func familiesOf(t *testing.T, format expfmt.Format, body []byte) map[string]bool {
	t.Helper()
	fams := map[string]bool{}
	if format.FormatType() == expfmt.TypeProtoDelim {
		if err := decodeProto(body, func(mf *dto.MetricFamily) error { fams[mf.GetName()] = true; return nil }); err != nil {
			t.Fatal(err)
		}
		return fams
	}
	ct := ctText
	if format.FormatType() == expfmt.TypeOpenMetrics {
		ct = ctOM
	}
	if err := Validate(ct, body); err != nil {
		t.Fatalf("%s: output invalid: %v\n%s", format, err, body)
	}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if name, ok := bytes.CutPrefix(line, []byte("# TYPE ")); ok {
			fams[string(bytes.Fields(name)[0])] = true
		}
	}
	return fams
}
