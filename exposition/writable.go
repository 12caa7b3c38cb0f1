package exposition

import (
	"bytes"
	"slices"

	"github.com/prometheus/common/expfmt"
)

// writable leaves out of mf, for its source, a part with a series the
// output cannot write with UTF-8 names (no escaping): a metric or label
// name holding a NUL byte, which Prometheus' lexers refuse even quoted, or
// in OpenMetrics a label name holding ':', which expfmt's encoder writes
// unquoted and Prometheus then refuses. Either would make the whole answer
// fail. Such names are quoted in the source, so only families with quoted
// names are looked at.
func (m *merger) writable(mf *mfam) {
	om := m.opts.Format.FormatType() == expfmt.TypeOpenMetrics
	mf.parts = slices.DeleteFunc(mf.parts, func(p part) bool {
		s := p.src
		f := &s.sc.fams[p.fam]
		if bytes.IndexByte(mf.name, 0) >= 0 {
			m.conflict(s, mf.name, "its name holds a NUL byte, which a text format with UTF-8 names cannot carry")
			return true
		}
		for k := f.first; f.quoted && f.n > 0 && k <= f.last; k++ {
			smp := &s.sc.samples[k]
			if smp.fam != p.fam || smp.flags&flagQuoted == 0 {
				continue
			}
			m.pairs = s.sc.appendLabels(m.pairs[:0], smp.labels)
			for _, l := range m.pairs {
				switch {
				case bytes.IndexByte(l.name, 0) >= 0:
					m.conflict(s, mf.name, "a label name holds a NUL byte, which a text format with UTF-8 names cannot carry")
					return true
				case om && bytes.IndexByte(l.name, ':') >= 0:
					m.conflict(s, mf.name, "a label name holds ':', which OpenMetrics output with UTF-8 names cannot carry")
					return true
				}
			}
		}
		return false
	})
}
