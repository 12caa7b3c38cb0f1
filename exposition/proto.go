package exposition

import (
	"bytes"
	"math"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// protoToText writes a delimited protobuf body as text 0.0.4, UTF-8 names
// quoted, for the plan. With keep, the decoded families are returned too,
// for the decoded encoder to restore what text cannot carry. The names of
// gauge histograms, which the text has as histograms, are appended to gh.
func protoToText(dst *bytes.Buffer, body []byte, keep bool, gh []string) ([]*dto.MetricFamily, []string, error) {
	var fams []*dto.MetricFamily
	err := decodeProto(body, func(mf *dto.MetricFamily) error {
		if len(mf.GetMetric()) == 0 {
			return nil // nothing to merge (and expfmt would not write it)
		}
		if keep {
			fams = append(fams, mf)
		}
		if mf.GetType() == dto.MetricType_GAUGE_HISTOGRAM {
			gh = append(gh, mf.GetName())
		}
		_, err := expfmt.MetricFamilyToText(dst, mf)
		return err
	})
	return fams, gh, err
}

// textLines is how many sample lines expfmt.MetricFamilyToText writes for
// metric m of a family of type t.
func textLines(t dto.MetricType, m *dto.Metric) int {
	switch t {
	case dto.MetricType_SUMMARY:
		return len(m.GetSummary().GetQuantile()) + 2
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		n := len(m.GetHistogram().GetBucket()) + 2
		if b := m.GetHistogram().GetBucket(); len(b) == 0 || !math.IsInf(b[len(b)-1].GetUpperBound(), 1) {
			n++ // the +Inf bucket it adds
		}
		return n
	}
	return 1
}

// restore gives the metrics the plan kept of family fi of a protobuf
// source, read back from its text (parsed, in order), the values of the
// source's own messages: labels stay the plan's, values become the
// message's, with what text cannot carry (native histograms, exemplars,
// created timestamps). The text of family fi is the family's message
// written by protoToText, its metrics one after the other; a metric the
// plan kept has its first sample kept. Metrics that cannot be matched keep
// the text's values.
func (s *origin) restore(fi int32, parsed []*dto.Metric) {
	sc := s.sc
	if len(s.proto) != len(sc.fams) || int(fi) >= len(s.proto) {
		return
	}
	mf, f := s.proto[fi], &sc.fams[fi]
	if mf.GetName() != string(f.name) {
		return
	}
	var kept []*dto.Metric
	k := f.first
	for _, m := range mf.GetMetric() {
		if k > f.last {
			return
		}
		if sc.samples[k].flags&flagDrop == 0 {
			kept = append(kept, m)
		}
		k += int32(textLines(mf.GetType(), m))
	}
	if k != f.last+1 || len(kept) != len(parsed) {
		return
	}
	for i, m := range kept {
		p := parsed[i]
		p.Counter, p.Gauge, p.Untyped, p.Summary, p.Histogram = m.Counter, m.Gauge, m.Untyped, m.Summary, m.Histogram
		p.TimestampMs = m.TimestampMs
	}
}

// unit is family fi's unit: its OpenMetrics # UNIT, or its protobuf
// message's (kept for a decoded output only); nil for none.
func (s *origin) unit(fi int32) []byte {
	if f := &s.sc.fams[fi]; !f.unit.empty() {
		return s.sc.body[f.unit.lo:f.unit.hi]
	}
	if len(s.proto) != len(s.sc.fams) || s.proto[fi].GetName() != string(s.sc.fams[fi].name) || s.proto[fi].GetUnit() == "" {
		return nil
	}
	return []byte(s.proto[fi].GetUnit())
}
