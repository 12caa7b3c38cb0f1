package exposition

import (
	"bytes"
	"io"
	"strconv"
)

// write writes the planned families to w, sorted by name.
func (m *merger) write(w io.Writer) error {
	m.sortFamilies()
	m.w, m.out, m.werr = w, m.out[:0], nil
	for i := range m.fams {
		m.writeFamily(&m.fams[i])
	}
	m.flush()
	return m.werr
}

// flushSize is how much merged output is gathered before one Write.
const flushSize = 128 << 10

func (m *merger) flush() {
	if len(m.out) > 0 && m.werr == nil {
		_, m.werr = m.w.Write(m.out)
	}
	m.out = m.out[:0]
}

func (m *merger) writeFamily(mf *mfam) {
	if len(mf.parts) == 0 {
		return
	}
	m.writeHeader(mf)
	for _, p := range mf.parts {
		m.writePart(mf, p)
	}
	if len(m.out) >= flushSize {
		m.flush()
	}
}

// writeHeader writes a family's HELP and TYPE lines.
func (m *merger) writeHeader(mf *mfam) {
	out := m.out
	if len(mf.help) > 0 {
		out = append(out, "# HELP "...)
		out = m.appendName(out, mf.name, mf.quoted)
		out = append(out, ' ')
		if bytes.Contains(mf.help, []byte(`\"`)) {
			out = append(out, bytes.ReplaceAll(mf.help, []byte(`\"`), []byte(`"`))...)
		} else {
			out = append(out, mf.help...)
		}
		out = append(out, '\n')
	}
	out = append(out, "# TYPE "...)
	out = m.appendName(out, mf.name, mf.quoted)
	out = append(out, ' ')
	switch {
	case mf.typ == GaugeHistogram && m.ghClassic:
		out = append(out, "histogram"...) // for expfmt's parser, see decodeFamily
	case mf.typ == GaugeHistogram:
		// Text has no gauge histogram: its samples are gauges, under
		// the names Prometheus reads from OpenMetrics (_bucket, _gcount,
		// _gsum).
		out = append(out, "gauge"...)
	default:
		out = append(out, mf.typ.String()...)
	}
	m.out = append(out, '\n')
}

// writePart writes the samples one source contributes to a family.
func (m *merger) writePart(mf *mfam, p part) {
	out := m.out
	s := p.src
	f := &s.sc.fams[p.fam]
	if f.n > 0 {
		body := s.sc.body
		injected := s.injected
		fast := !mf.quoted && bytes.Equal(f.name, mf.name) && !m.ghClassic
		// Flags that send a sample to writeSlow: a label Prometheus reads
		// in canonical form must be written so where mf's TYPE does not
		// have it read so.
		slow := uint16(flagQuoted | flagReserved | flagOMTime | flagCanonLe | flagCanonQuantile)
		switch mf.typ {
		case Histogram:
			slow &^= flagCanonLe
		case Summary:
			slow &^= flagCanonQuantile
		}
		for k := f.first; k <= f.last; k++ {
			smp := &s.sc.samples[k]
			if smp.fam != p.fam || smp.flags&flagDrop != 0 {
				continue
			}
			if smp.flags&slow != 0 || !fast && (mf.quoted || smp.member != memberTotal && smp.member != memberInfo) {
				m.out = out
				m.writeSlow(s, mf, smp)
				out = m.out
				continue
			}
			if len(out) >= flushSize {
				m.out = out
				m.flush()
				out = m.out
			}
			switch {
			case smp.labels.empty():
				out = append(out, body[smp.name.lo:smp.name.hi]...)
				if len(injected) > 0 {
					out = append(out, '{')
					out = append(out, s.closing[1:]...)
				} else {
					out = append(out, ' ')
				}
			case smp.name.hi+1 == smp.labels.lo && body[smp.name.hi] == '{':
				// name{labels: contiguous in the body, as almost always.
				out = append(out, body[smp.name.lo:smp.labels.hi]...)
				out = append(out, s.closing...)
			default:
				out = append(out, body[smp.name.lo:smp.name.hi]...)
				out = append(out, '{')
				out = append(out, body[smp.labels.lo:smp.labels.hi]...)
				out = append(out, s.closing...)
			}
			if smp.ts.empty() && int(smp.value.hi) < len(body) && body[smp.value.hi] == '\n' {
				out = append(out, body[smp.value.lo:smp.value.hi+1]...) // with its newline
				continue
			}
			out = append(out, body[smp.value.lo:smp.value.hi]...)
			if !smp.ts.empty() {
				out = append(out, ' ')
				out = append(out, body[smp.ts.lo:smp.ts.hi]...)
			}
			out = append(out, '\n')
		}
	}
	m.out = out
}

func (m *merger) appendName(out, name []byte, quoted bool) []byte {
	if !quoted {
		return append(out, name...)
	}
	out = append(out, '"')
	out = appendEscaped(out, string(name))
	return append(out, '"')
}

// writeSlow writes a sample whose names must be escaped or renamed, or whose
// timestamp must be converted.
func (m *merger) writeSlow(s *origin, mf *mfam, smp *sample) {
	out := m.out
	body := s.sc.body
	name := m.outSampleName(m.famName[:0], mf, smp)
	m.famName = name
	m.pairs, _ = m.outLabels(m.pairs[:0], s, smp)
	if mf.quoted {
		out = append(out, '{')
		out = m.appendName(out, name, true)
		if len(m.pairs) > 0 || len(s.injected) > 0 {
			out = append(out, ',')
		}
	} else {
		out = append(out, name...)
		out = append(out, '{')
	}
	for i, p := range m.pairs {
		if i > 0 {
			out = append(out, ',')
		}
		if ln := p.out; legacyLabel(ln) {
			out = append(out, ln...)
		} else {
			out = m.appendName(out, ln, true) // allow-utf-8: the rest is escaped
		}
		out = append(out, `="`...)
		if mf.rewrites(&p) {
			out = p.appendValue(out, body)
		} else {
			out = append(out, body[p.value.lo:p.value.hi]...)
		}
		out = append(out, '"')
	}
	if len(m.pairs) > 0 && len(s.injected) > 0 {
		out = append(out, ',')
	}
	out = append(out, s.injected...)
	out = append(out, "} "...)
	out = append(out, body[smp.value.lo:smp.value.hi]...)
	if !smp.ts.empty() {
		out = append(out, ' ')
		ts := body[smp.ts.lo:smp.ts.hi]
		if smp.flags&flagOMTime != 0 {
			sec, _ := strconv.ParseFloat(string(ts), 64)
			out = strconv.AppendInt(out, int64(sec*1000), 10)
		} else {
			out = append(out, ts...)
		}
	}
	m.out = append(out, '\n')
}
