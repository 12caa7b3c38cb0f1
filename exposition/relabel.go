package exposition

import (
	"bytes"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// labelPair is one label of a sample as the merge writes it.
type labelPair struct {
	name   []byte // unescaped, as the source has it
	quoted bool
	value  span   // raw, still escaped
	out    []byte // the name written: escaped per the output's scheme, renamed exported_* when taken
	canon  bool   // Prometheus reads the value in canonical form (flagCanonLe...)
}

// appendValue appends the value of p as Prometheus reads it, still
// escaped.
func (p *labelPair) appendValue(dst, body []byte) []byte {
	v := body[p.value.lo:p.value.hi]
	if p.canon {
		if c, ok := appendCanonicalFloat(dst, v); ok {
			return c
		}
	}
	return append(dst, v...)
}

// The one rule for the names a merged series is written with. A sample's
// name is its merged family's (escaped per the output's scheme) with its
// member suffix. Its label names are escaped per the scheme; a label whose
// name, once escaped, is one the merge injects (the merge label and the
// source's static labels) is renamed exported_<name>, again while another
// label of the series has that name. Two label names of one series that
// are the same once escaped cannot be written: the plan leaves their
// family out for that source. Deduplication compares series by these
// names, so no output carries one series twice.

// outSampleName appends the name sample smp of merged family mf is written
// with.
func (m *merger) outSampleName(dst []byte, mf *mfam, smp *sample) []byte {
	switch {
	case smp.member == memberCreated && mf.typ == Counter:
		// An OpenMetrics counter X, written X_total: its X_created.
		dst = append(dst, bytes.TrimSuffix(mf.name, []byte("_total"))...)
	case m.ghClassic && smp.member == memberGCount:
		return append(append(dst, mf.name...), "_count"...)
	case m.ghClassic && smp.member == memberGSum:
		return append(append(dst, mf.name...), "_sum"...)
	default:
		dst = append(dst, mf.name...)
	}
	switch smp.member {
	case memberExact, memberTotal, memberInfo:
	default:
		dst = append(dst, memberSuffixes[smp.member]...)
	}
	return dst
}

// renamed tells whether sample smp of source s is written with names other
// than its own: its family's name is escaped or suffixed, or a label name
// is quoted or injected by the merge.
func (m *merger) renamed(s *origin, mf *mfam, smp *sample) bool {
	return smp.flags&(flagQuoted|flagReserved) != 0 || !bytes.Equal(s.sc.fams[smp.fam].name, mf.name)
}

// outLabels appends the labels of smp with the names they are written
// with, and reports false when two of them are the same once escaped.
func (m *merger) outLabels(dst []labelPair, s *origin, smp *sample) ([]labelPair, bool) {
	n := len(dst)
	dst = s.sc.appendLabels(dst, smp.labels)
	ok := m.nameLabels(dst[n:], s.reserved)
	markCanon(dst[n:], smp.flags)
	return dst, ok
}

// nameLabels sets the names labels pairs are written with (out), given
// the labels a source's series get (reserved), and reports false when two
// of them are the same once escaped.
func (m *merger) nameLabels(pairs []labelPair, reserved [][]byte) bool {
	ok := true
	for i := range pairs {
		ln := pairs[i].name
		if m.scheme != model.NoEscaping && !legacyLabel(ln) {
			ln = appendEscapedLabel(nil, ln, m.scheme)
		}
		pairs[i].out = ln
		for _, p := range pairs[:i] {
			if bytes.Equal(p.out, ln) {
				ok = false
			}
		}
	}
	for i := range pairs {
		for taken(pairs, i, reserved) {
			pairs[i].out = append([]byte("exported_"), pairs[i].out...)
		}
	}
	return ok
}

// writtenLabels gives the labels of a message of source s with the names
// the output writes them with.
func (m *merger) writtenLabels(s *origin) func(*dto.Metric) []*dto.LabelPair {
	return func(lm *dto.Metric) []*dto.LabelPair {
		if m.writtenAsIs(lm.GetLabel(), s.reserved) {
			return lm.GetLabel()
		}
		pairs := make([]labelPair, len(lm.GetLabel()))
		for i, l := range lm.GetLabel() {
			pairs[i].name = []byte(l.GetName())
		}
		m.nameLabels(pairs, s.reserved)
		out := make([]*dto.LabelPair, len(pairs))
		for i, l := range lm.GetLabel() {
			out[i] = &dto.LabelPair{Name: new(string(pairs[i].out)), Value: l.Value}
		}
		return out
	}
}

// writtenAsIs tells whether labels ls are written with their own names:
// none is escaped or taken.
func (m *merger) writtenAsIs(ls []*dto.LabelPair, reserved [][]byte) bool {
	for _, l := range ls {
		n := l.GetName()
		if m.scheme != model.NoEscaping && !legacyLabel(n) ||
			slices.ContainsFunc(reserved, func(r []byte) bool { return string(r) == n }) {
			return false
		}
	}
	return true
}

// markCanon marks the labels of a sample with flags that Prometheus reads
// in canonical form.
func markCanon(pairs []labelPair, flags uint16) {
	if flags&(flagCanonLe|flagCanonQuantile) == 0 {
		return
	}
	for i := range pairs {
		pairs[i].canon = flags&flagCanonLe != 0 && string(pairs[i].name) == "le" ||
			flags&flagCanonQuantile != 0 && string(pairs[i].name) == "quantile"
	}
}

// rewrites tells whether a label Prometheus reads in canonical form must be
// written so in family mf: one whose TYPE does not have it read so.
func (mf *mfam) rewrites(p *labelPair) bool {
	return p.canon && !(mf.typ == Histogram && string(p.name) == "le" || mf.typ == Summary && string(p.name) == "quantile")
}

// taken tells whether pairs[i] must be renamed: its name is one the merge
// injects, or another label of the series has it.
func taken(pairs []labelPair, i int, reserved [][]byte) bool {
	ln := pairs[i].out
	for _, r := range reserved {
		if bytes.Equal(r, ln) {
			return true
		}
	}
	for j := range pairs {
		if j != i && bytes.Equal(pairs[j].out, ln) {
			return true
		}
	}
	return false
}

// outHash is the hash of the series smp is written as, for deduplication:
// seriesHash's, of the names written.
func (m *merger) outHash(s *origin, mf *mfam, smp *sample) uint64 {
	seed := s.sc.seed
	m.famName = m.outSampleName(m.famName[:0], mf, smp)
	h := hashBytes(seed, m.famName)
	m.pairs, _ = m.outLabels(m.pairs[:0], s, smp)
	body := s.sc.body
	for _, p := range m.pairs {
		m.famName = append(append(m.famName[:0], p.out...), '=', '"')
		m.famName = append(p.appendValue(m.famName, body), '"')
		h += hashBytes(seed, m.famName)
	}
	return h
}
