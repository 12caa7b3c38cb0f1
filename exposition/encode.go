package exposition

import (
	"bytes"
	"fmt"
	"io"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// encode writes the planned families to w in a decoded format (OpenMetrics
// or protobuf): the plan is the text path's (the same families, conflicts,
// relabelling, deduplication and synthetic metrics), only the encoding
// differs. Each source's part of a family is written as text, as the text
// path writes it, read back into dto.Metric values by expfmt, and given
// what text cannot carry: for a protobuf source the values its own message
// had (native histograms, exemplars, created timestamps), for an
// OpenMetrics source its exemplars and _created samples (encode_keep.go);
// the family's unit, and a gauge histogram's type, for both.
//
// A family is encoded whole before any of it is written: one that expfmt
// refuses is left out (and reported as a conflict of each of its sources),
// so the output is never cut short.
func (m *merger) encode(w io.Writer) error {
	m.sortFamilies()
	// The plan escaped every name already.
	format := m.opts.Format.WithEscapingScheme(model.NoEscaping)
	if m.scheme != model.NoEscaping {
		format = m.opts.Format.WithEscapingScheme(model.UnderscoreEscaping)
	}
	var fam bytes.Buffer
	for i := range m.fams {
		mf := &m.fams[i]
		if len(mf.parts) == 0 {
			continue
		}
		out, err := m.decodeFamily(mf)
		if err == nil && len(out.Metric) == 0 {
			continue // every sample left out: nothing to say
		}
		if err == nil {
			fam.Reset()
			err = expfmt.NewEncoder(&fam, format, expfmt.WithCreatedLines()).Encode(out)
		}
		if err != nil {
			for _, p := range mf.parts {
				m.conflict(p.src, mf.name, fmt.Sprintf("cannot be written as %s: %v", FormatOf(string(m.opts.Format)), err))
			}
			continue
		}
		text := fam.Bytes()
		if m.opts.Format.FormatType() == expfmt.TypeOpenMetrics {
			if mf.typ == GaugeHistogram {
				text = gaugeHistogramNames(text, mf.name, mf.quoted)
			}
			text = unmarkEmptyExemplars(text)
		}
		if _, err := w.Write(text); err != nil {
			return err
		}
	}
	if c, ok := expfmt.NewEncoder(w, format).(expfmt.Closer); ok {
		return c.Close() // OpenMetrics' # EOF
	}
	return nil
}

// decodeFamily is planned family mf as a dto.MetricFamily.
func (m *merger) decodeFamily(mf *mfam) (*dto.MetricFamily, error) {
	out := &dto.MetricFamily{Name: new(string(mf.name)), Type: mf.typ.dto().Enum()}
	if u := m.omUnit(mf); u != "" {
		out.Unit = &u
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	// expfmt's text parser knows no gauge histogram: it reads one
	// written as a histogram.
	m.ghClassic = mf.typ == GaugeHistogram
	defer func() { m.ghClassic = false }()
	om := m.opts.Format.FormatType() == expfmt.TypeOpenMetrics
	for _, p := range mf.parts {
		m.scratch.Reset()
		m.w, m.out, m.werr = &m.scratch, m.out[:0], nil
		m.writeHeader(mf)
		m.writePart(mf, p)
		m.flush()
		parsed, err := parser.TextToMetricFamilies(&m.scratch)
		if err != nil {
			return nil, fmt.Errorf("exposition: planned text does not parse: %w", err) // a bug here, never input
		}
		pf := parsed[string(mf.name)]
		if pf == nil {
			continue
		}
		if p.src.proto != nil {
			p.src.restore(p.fam, pf.Metric, m.opts.Format.FormatType() == expfmt.TypeProtoDelim)
			if om {
				omTimes(pf.Metric)
			}
		} else if reason := m.undecodable(p); reason != "" {
			// The encoder would write a missing part as 0 (an +Inf bucket
			// below the others), or give every sample one timestamp: a
			// wrong value is worse than none.
			m.conflict(p.src, mf.name, fmt.Sprintf(reason, FormatOf(string(m.opts.Format))))
			continue
		} else if p.src.sc.om {
			m.omExtras(mf, p, pf.Metric)
		}
		if om {
			omExemplars(pf.Metric)
			wholeCounts(pf.Metric)
		}
		if out.Help == nil {
			out.Help = pf.Help
		}
		out.Metric = append(out.Metric, pf.Metric...)
	}
	return out, nil
}

// dto is the type as protobuf writes it.
func (t Type) dto() dto.MetricType {
	switch t.text() {
	case Counter:
		return dto.MetricType_COUNTER
	case Gauge:
		return dto.MetricType_GAUGE
	case Histogram:
		return dto.MetricType_HISTOGRAM
	case Summary:
		return dto.MetricType_SUMMARY
	case GaugeHistogram:
		return dto.MetricType_GAUGE_HISTOGRAM
	}
	return dto.MetricType_UNTYPED
}
