package exposition

import (
	"fmt"
	"io"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// encode writes the planned families to w in a decoded format (OpenMetrics
// or protobuf): the plan is the text path's (the same families, conflicts,
// relabelling, deduplication and synthetic metrics), only the encoding
// differs. Each source's part of a family is built as dto.Metric values
// as expfmt's text parser would read them from the text the plan writes
// (decode.go), and given what text cannot carry: for a protobuf source the
// values its own message had (native histograms, exemplars, created
// timestamps), for an OpenMetrics source its exemplars and _created
// samples (encode_keep.go); the family's unit, and a gauge histogram's
// type, for both.
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
	om := format.FormatType() == expfmt.TypeOpenMetrics
	enc := expfmt.NewEncoder(&m.encoded, format, expfmt.WithCreatedLines())
	for i := range m.fams {
		mf := &m.fams[i]
		if len(mf.parts) == 0 {
			continue
		}
		m.slabs.reset()
		out, err := m.decodeFamily(mf)
		if err == nil && len(out.Metric) == 0 {
			continue // every sample left out: nothing to say
		}
		m.encoded.Reset()
		if err == nil && om {
			err = enc.Encode(out)
		} else if err == nil {
			err = m.marshalDelimited(model.EscapeMetricFamily(out, format.ToEscapingScheme()))
		}
		if err != nil {
			for _, p := range mf.parts {
				m.conflict(p.src, mf.name, fmt.Sprintf("cannot be written as %s: %v", FormatOf(string(m.opts.Format)), err))
			}
			continue
		}
		text := m.encoded.Bytes()
		if om {
			if mf.typ == GaugeHistogram {
				text = gaugeHistogramNames(text, mf.name, mf.quoted)
			}
			text = unmarkEmptyExemplars(text)
			if omMisread(out.Metric) {
				text = omSampleTimes(text)
			}
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

// marshalDelimited writes mf to m.encoded as expfmt's protobuf encoder
// does (its size as a varint, then the message), into the merger's buffer
// rather than a new one.
func (m *merger) marshalDelimited(mf *dto.MetricFamily) error {
	b := m.encoded.AvailableBuffer()
	b = protowire.AppendVarint(b, uint64(proto.Size(mf)))
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, mf)
	if err != nil {
		return err
	}
	m.encoded.Write(b)
	return nil
}

// decodeFamily is planned family mf as a dto.MetricFamily, made of the
// merger's slabs: valid until the next family.
func (m *merger) decodeFamily(mf *mfam) (*dto.MetricFamily, error) {
	out := &dto.MetricFamily{Name: new(string(mf.name)), Type: mf.typ.dto().Enum()}
	if u := m.omUnit(mf); u != "" {
		out.Unit = &u
	}
	help, err := m.helpText(mf)
	if err != nil {
		return nil, err
	}
	// expfmt's text parser knows no gauge histogram: it reads one
	// written as a histogram.
	m.ghClassic = mf.typ == GaugeHistogram
	defer func() { m.ghClassic = false }()
	om := m.opts.Format.FormatType() == expfmt.TypeOpenMetrics
	ms := m.metrics[:0]
	for _, p := range mf.parts {
		first := len(ms)
		if ms, err = m.buildPart(mf, p, ms); err != nil {
			return nil, err
		}
		parsed := ms[first:]
		if len(parsed) == 0 {
			continue
		}
		var extra []*dto.Metric
		restored := false
		if p.src.proto != nil {
			extra, restored = p.src.restore(p.fam, parsed, m)
		}
		if restored {
			ms = append(ms, extra...)
			if om {
				omTimes(parsed)
			}
		} else if reason := m.undecodable(p); reason != "" {
			// The encoder would write a missing part as 0 (an +Inf bucket
			// below the others), or give every sample one timestamp: a
			// wrong value is worse than none.
			m.conflict(p.src, mf.name, fmt.Sprintf(reason, FormatOf(string(m.opts.Format))))
			ms = ms[:first]
			continue
		} else if p.src.sc.om {
			m.omExtras(mf, p, parsed)
		}
		if om {
			omExemplars(parsed)
			wholeCounts(parsed)
		}
		out.Help = help
	}
	if om && (mf.typ == Counter && !strings.HasSuffix(out.GetName(), "_total") || mf.typ == GaugeHistogram) {
		withoutStarts(ms)
	}
	m.metrics = ms
	out.Metric = ms
	return out, nil
}

// withoutStarts leaves out the created timestamps of counters and gauge
// histograms ms, whose OpenMetrics families have none. An OpenMetrics
// counter's samples end in _total: expfmt writes a counter whose name does
// not (a protobuf source's, which Prometheus reads under its name as it is)
// as a family of type unknown; an OpenMetrics gauge histogram has no
// created timestamp either. expfmt writes the _created line all the same,
// which Prometheus reads as a series of its own. The messages may be a
// source's own (restore), so a changed one is a copy.
func withoutStarts(ms []*dto.Metric) {
	for _, m := range ms {
		if m.Counter != nil && m.Counter.CreatedTimestamp != nil {
			c := proto.Clone(m.Counter).(*dto.Counter)
			c.CreatedTimestamp = nil
			m.Counter = c
		}
		if m.Histogram != nil && m.Histogram.CreatedTimestamp != nil {
			h := proto.Clone(m.Histogram).(*dto.Histogram)
			h.CreatedTimestamp = nil
			m.Histogram = h
		}
	}
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
