package exposition

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// encode writes the planned families to w in a decoded format (OpenMetrics
// or protobuf): the plan is the text path's (the same families, conflicts,
// relabelling, deduplication and synthetic metrics), only the encoding
// differs. Each source's part of a family is written as text, as the text
// path writes it, read back into dto.Metric values by expfmt, and for a
// protobuf source given back the values its own message had (native
// histograms, exemplars, created timestamps), which text cannot carry.
//
// A family is encoded whole before any of it is written: one that expfmt
// refuses is left out (and reported as a conflict of each of its sources),
// so the output is never cut short.
func (m *merger) encode(w io.Writer) error {
	slices.SortFunc(m.fams, func(a, b mfam) int { return bytes.Compare(a.name, b.name) })
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
			err = expfmt.NewEncoder(&fam, format).Encode(out)
		}
		if err != nil {
			for _, p := range mf.parts {
				m.conflict(p.src, mf.name, fmt.Sprintf("cannot be written as %s: %v", FormatOf(string(m.opts.Format)), err))
			}
			continue
		}
		if _, err := w.Write(fam.Bytes()); err != nil {
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
	parser := expfmt.NewTextParser(model.UTF8Validation)
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
			p.src.restore(p.fam, pf.Metric)
			if m.opts.Format.FormatType() == expfmt.TypeOpenMetrics {
				omExemplars(pf.Metric)
			}
		} else if m.mixedTimestamps(p) {
			// The encoder would give every sample the one timestamp.
			m.conflict(p.src, mf.name, fmt.Sprintf("the samples of a series have different timestamps, which %s cannot carry", FormatOf(string(m.opts.Format))))
			continue
		} else if missing := incomplete(out.GetType(), pf.Metric); missing != "" {
			// The encoder would write the part as 0 (an +Inf bucket below
			// the others): a wrong value is worse than none.
			m.conflict(p.src, mf.name, fmt.Sprintf("a series has no %s, which %s cannot leave out", missing, FormatOf(string(m.opts.Format))))
			continue
		}
		if out.Help == nil {
			out.Help = pf.Help
		}
		out.Metric = append(out.Metric, pf.Metric...)
	}
	return out, nil
}

// incomplete names what a text histogram or summary (read into ms) lacks
// that OpenMetrics and protobuf always carry: its +Inf bucket, _count or
// _sum. Their encoders would write each as 0.
func incomplete(t dto.MetricType, ms []*dto.Metric) string {
	for _, m := range ms {
		switch t {
		case dto.MetricType_HISTOGRAM:
			h := m.GetHistogram()
			b := h.GetBucket()
			switch {
			case len(b) == 0 || !math.IsInf(b[len(b)-1].GetUpperBound(), 1):
				return "+Inf bucket"
			case h.SampleCount == nil && h.SampleCountFloat == nil:
				return "_count"
			case h.SampleSum == nil:
				return "_sum"
			}
		case dto.MetricType_SUMMARY:
			switch {
			case m.GetSummary().SampleCount == nil:
				return "_count"
			case m.GetSummary().SampleSum == nil:
				return "_sum"
			}
		}
	}
	return ""
}

// mixedTimestamps tells whether a series of part p of a text histogram or
// summary has samples with different timestamps (or with and without one):
// OpenMetrics and protobuf give a histogram or summary one timestamp. A
// series is its samples' labels other than le and quantile.
func (m *merger) mixedTimestamps(p part) bool {
	s := p.src
	f := &s.sc.fams[p.fam]
	if f.typ != Histogram && f.typ != Summary {
		return false
	}
	stamped := false
	for k := f.first; f.n > 0 && k <= f.last && !stamped; k++ {
		stamped = s.sc.samples[k].fam == p.fam && !s.sc.samples[k].ts.empty()
	}
	if !stamped {
		return false
	}
	body := s.sc.body
	seen := map[string]string{}
	for k := f.first; k <= f.last; k++ {
		smp := &s.sc.samples[k]
		if smp.fam != p.fam || smp.flags&flagDrop != 0 {
			continue
		}
		var pairs []string
		for _, l := range s.sc.appendLabels(m.pairs[:0], smp.labels) {
			if n := string(l.name); n != "le" && n != "quantile" {
				pairs = append(pairs, n+"="+string(body[l.value.lo:l.value.hi]))
			}
		}
		slices.Sort(pairs)
		series, ts := strings.Join(pairs, ","), string(body[smp.ts.lo:smp.ts.hi])
		if prev, ok := seen[series]; ok && prev != ts {
			return true
		}
		seen[series] = ts
	}
	return false
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
