package exposition

import (
	"bytes"
)

// dedup is an open-addressing set of sample hashes, reused across
// families and scrapes: a generation number empties it without clearing.
type dedup struct {
	slots []dedupSlot
	gen   uint32
	mask  uint64
}

type dedupSlot struct {
	hash uint64
	k    int32
	gen  uint32
}

// reset empties the table and sizes it for n samples.
func (d *dedup) reset(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if size > len(d.slots) {
		d.slots = make([]dedupSlot, size)
		d.gen = 0
	}
	d.mask = uint64(size - 1)
	d.gen++
	if d.gen == 0 { // wrapped: old generations would look current
		clear(d.slots)
		d.gen = 1
	}
}

// add records sample k with hash h, unless a sample recorded before has the
// same hash and same(it) confirms it is the same series: then it reports
// false.
func (d *dedup) add(h uint64, k int32, same func(prev int32) bool) bool {
	for i := h & d.mask; ; i = (i + 1) & d.mask {
		sl := &d.slots[i]
		if sl.gen != d.gen {
			*sl = dedupSlot{hash: h, k: k, gen: d.gen}
			return true
		}
		if sl.hash == h && same(sl.k) {
			return false
		}
	}
}

// sameSeries compares two samples of one source and one merged family by
// the name and label set they are written with.
func (m *merger) sameSeries(s *origin, mf *mfam, a, b int32) bool {
	return m.sameSeriesIn(s, mf, a, mf, b)
}

// sameSeriesIn compares sample a of merged family mfa with sample b of mfb,
// both of source s, by the name and label set they are written with.
func (m *merger) sameSeriesIn(s *origin, mfa *mfam, a int32, mfb *mfam, b int32) bool {
	sa, sb := &s.sc.samples[a], &s.sc.samples[b]
	body := s.sc.body
	if mfa != mfb || m.renamed(s, mfa, sa) || m.renamed(s, mfb, sb) {
		m.names[0] = m.outSampleName(m.names[0][:0], mfa, sa)
		m.names[1] = m.outSampleName(m.names[1][:0], mfb, sb)
		if !bytes.Equal(m.names[0], m.names[1]) {
			return false
		}
		m.pairs, _ = m.outLabels(m.pairs[:0], s, sa)
		m.pairs2, _ = m.outLabels(m.pairs2[:0], s, sb)
	} else {
		if sa.member != sb.member || sa.fam != sb.fam {
			return false
		}
		m.pairs = s.sc.appendLabels(m.pairs[:0], sa.labels)
		m.pairs2 = s.sc.appendLabels(m.pairs2[:0], sb.labels)
		markCanon(m.pairs, sa.flags)
		markCanon(m.pairs2, sb.flags)
		for i := range m.pairs {
			m.pairs[i].out = m.pairs[i].name
		}
		for i := range m.pairs2 {
			m.pairs2[i].out = m.pairs2[i].name
		}
	}
	if len(m.pairs) != len(m.pairs2) {
		return false
	}
	for _, x := range m.pairs {
		found := false
		for _, y := range m.pairs2 {
			if bytes.Equal(x.out, y.out) && m.sameValue(body, &x, &y) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sameValue tells whether labels x and y are written with the same value.
func (m *merger) sameValue(body []byte, x, y *labelPair) bool {
	if !x.canon && !y.canon {
		return bytes.Equal(body[x.value.lo:x.value.hi], body[y.value.lo:y.value.hi])
	}
	m.names[0] = x.appendValue(m.names[0][:0], body)
	m.names[1] = y.appendValue(m.names[1][:0], body)
	return bytes.Equal(m.names[0], m.names[1])
}

// appendLabels lists the labels of a label span.
func (s *scanner) appendLabels(dst []labelPair, sp span) []labelPair {
	b := s.body
	i, end := int(sp.lo), int(sp.hi)
	for i < end {
		i = s.skipBlank(i, end)
		name, quoted, next, err := s.name(i, end, false)
		if err != nil {
			return dst
		}
		i = s.skipBlank(next, end)
		if b[i] != '=' {
			i++ // the metric name, quoted between labels, and its ','
			continue
		}
		i = s.skipBlank(i+1, end) // '='
		ve, err := s.labelValue(i+1, end+1)
		if err != nil {
			return dst
		}
		dst = append(dst, labelPair{name: name, quoted: quoted, value: span{int32(i + 1), int32(ve)}})
		i = s.skipBlank(ve+1, end)
		if i < end && b[i] == ',' {
			i++
		}
	}
	return dst
}
