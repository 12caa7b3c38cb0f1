package exposition

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// mfam is one family of the merged output.
type mfam struct {
	name   []byte // as written: escaped per the output's scheme
	quoted bool   // name must be written quoted (allow-utf-8)
	typ    Type
	help   []byte
	unit   []byte // the first OpenMetrics source's # UNIT, as written
	parts  []part
	// Where the family is written: before the family named root (its
	// own name, or that of the summary or histogram it is named like a
	// member of), the deeper the earlier.
	root  []byte
	depth int
}

type part struct {
	src *origin
	fam int32
}

// collect joins the families of every good source by output name, in source
// order, leaving out those whose type conflicts.
func (m *merger) collect() {
	clear(m.byName)
	for _, s := range m.srcs {
		if s.err != nil {
			continue
		}
		for fi := range s.sc.fams {
			f := &s.sc.fams[fi]
			if f.n == 0 {
				continue
			}
			name, quoted := m.outName(s.sc, f)
			if Synthetic(string(name)) {
				m.conflict(s, name, "name reserved for corral's per-source metrics")
				continue
			}
			if f.negative {
				m.conflict(s, name, negativeCount)
				continue
			}
			typ := f.typ.text()
			mi, ok := m.byName[string(name)]
			if !ok {
				mi = int32(len(m.fams))
				m.byName[string(name)] = mi
				m.fams = slices.Grow(m.fams, 1)[:len(m.fams)+1]
				m.fams[mi].name, m.fams[mi].quoted, m.fams[mi].typ = name, quoted, typ
			}
			mf := &m.fams[mi]
			if mf.typ != typ {
				m.conflict(s, name, typeConflict(s, f, mf))
				continue
			}
			if mf.help == nil && f.hasHelp && !f.help.empty() {
				mf.help = s.sc.body[f.help.lo:f.help.hi]
			}
			if mf.unit == nil {
				mf.unit = s.unit(int32(fi))
			}
			mf.parts = append(mf.parts, part{s, int32(fi)})
		}
	}
	// A family named like a member of a gauge histogram (gh_gcount,
	// gh_bucket beside gauge histogram gh) cannot be written beside it in
	// one text exposition, nor X_created beside an OpenMetrics histogram or
	// summary X with _created samples; one named like a member of a summary
	// or histogram is written just before it instead (order).
	for i := range m.fams {
		mf := &m.fams[i]
		mem := memberOf(mf.name)
		if mem == memberCreated {
			m.createdCollision(mf)
			continue
		}
		if mem != memberSum && mem != memberCount && mem != memberBucket && mem != memberGSum && mem != memberGCount {
			continue
		}
		base, ok := m.byName[string(mf.name[:len(mf.name)-len(memberSuffixes[mem])])]
		if !ok || len(m.fams[base].parts) == 0 || m.fams[base].typ != GaugeHistogram {
			continue
		}
		for _, p := range mf.parts {
			m.conflict(p.src, mf.name, fmt.Sprintf("collides with the series of %s %q", m.fams[base].typ, m.fams[base].name))
		}
		mf.parts = mf.parts[:0]
	}
	m.order()
	if m.opts.Format.FormatType() == expfmt.TypeOpenMetrics {
		m.openMetricsNames()
	}
}

// order says where each family is written. A family named like a member
// of a summary or histogram of the merge (a gauge foo_count beside a
// summary foo) is written just before it: expfmt's text parser reads a
// sample by the family of its exact name first, so foo's foo_count
// samples join the gauge, where it accepts them, instead of the gauge's
// TYPE line meeting the summary after its samples. Prometheus reads
// series, whatever their family.
func (m *merger) order() {
	for i := range m.fams {
		mf := &m.fams[i]
		mf.root, mf.depth = mf.name, 0
		for name := mf.name; mf.depth < len(m.fams); mf.depth++ {
			mem := memberOf(name)
			if mem != memberSum && mem != memberCount && mem != memberBucket {
				break
			}
			base, ok := m.byName[string(name[:len(name)-len(memberSuffixes[mem])])]
			if !ok || !allowed(m.fams[base].typ, mem, false) || len(m.fams[base].parts) == 0 {
				break
			}
			name = m.fams[base].name
			mf.root = name
		}
	}
}

// sortFamilies sorts the families in the order they are written: by name,
// a family named like a member of a summary or histogram just before it.
func (m *merger) sortFamilies() {
	slices.SortFunc(m.fams, func(a, b mfam) int {
		if c := bytes.Compare(a.root, b.root); c != 0 {
			return c
		}
		if a.depth != b.depth {
			return b.depth - a.depth
		}
		return bytes.Compare(a.name, b.name)
	})
}

// createdCollision leaves out family mf, X_created, when the histogram or
// summary X has OpenMetrics _created samples: text writes them as
// X_created series in X's block, which a family X_created, written after
// it, cannot follow (expfmt refuses its TYPE after them), and every format
// carries the same families. (A counter X_total's block comes after
// X_created's: its X_created series join that family.)
func (m *merger) createdCollision(mf *mfam) {
	base := mf.name[:len(mf.name)-len(memberSuffixes[memberCreated])]
	bi, ok := m.byName[string(base)]
	if !ok || m.fams[bi].typ != Histogram && m.fams[bi].typ != Summary || !m.fams[bi].hasCreated() {
		return
	}
	for _, p := range mf.parts {
		m.conflict(p.src, mf.name, fmt.Sprintf("collides with the _created series of %s %q", m.fams[bi].typ, m.fams[bi].name))
	}
	mf.parts = mf.parts[:0]
}

// hasCreated tells whether a part of mf has an OpenMetrics _created sample.
func (mf *mfam) hasCreated() bool {
	for _, p := range mf.parts {
		sc := p.src.sc
		f := &sc.fams[p.fam]
		for k := f.first; sc.om && f.n > 0 && k <= f.last; k++ {
			if sc.samples[k].fam == p.fam && sc.samples[k].flags&flagCreated != 0 {
				return true
			}
		}
	}
	return false
}

// openMetricsCounts leaves out of histogram mf, planned, a source's part
// with a count that is not a whole number (which the text format allows,
// NaN and +Inf too):
// OpenMetrics 1.0 has no float histograms. Only the counts the plan keeps
// are looked at: of a series twice Prometheus keeps the first. counted is
// how many samples the plan counted of each part, which are then no
// longer counted as merged.
func (m *merger) openMetricsCounts(mf *mfam, counted []int) {
	parts := mf.parts[:0]
	for i, p := range mf.parts {
		s := p.src
		f := &s.sc.fams[p.fam]
		float := false
		for k := f.first; f.n > 0 && k <= f.last && !float; k++ {
			smp := &s.sc.samples[k]
			if smp.fam != p.fam || smp.flags&flagDrop != 0 || smp.member != memberBucket && smp.member != memberCount {
				continue
			}
			// NaN and +Inf too: the encoder writes a count that is not
			// whole in a uint64 as an integer (0) or refuses it.
			if v, _ := strconv.ParseFloat(string(s.sc.body[smp.value.lo:smp.value.hi]), 64); v != math.Trunc(v) || v >= 1<<64 {
				m.conflict(s, mf.name, fmt.Sprintf("count %s is not a whole number: OpenMetrics 1.0 has no float histograms", s.sc.body[smp.value.lo:smp.value.hi]))
				float = true
			}
		}
		if !float {
			parts = append(parts, p)
			continue
		}
		s.samples -= counted[i]
		s.planned--
	}
	clear(mf.parts[len(parts):])
	mf.parts = parts
}

// openMetricsNames leaves out the counters whose OpenMetrics names meet
// another family's: OpenMetrics names counter X_total as X, and writes the
// samples of a counter X as X_total.
func (m *merger) openMetricsNames() {
	for i := range m.fams {
		mf := &m.fams[i]
		if mf.typ != Counter || len(mf.parts) == 0 {
			continue
		}
		other, reason := "", ""
		if base, ok := bytes.CutSuffix(mf.name, []byte("_total")); ok {
			other, reason = string(base), "its OpenMetrics name collides with family %q"
		} else {
			other, reason = string(mf.name)+"_total", "its OpenMetrics samples collide with family %q"
		}
		if oi, ok := m.byName[other]; !ok || len(m.fams[oi].parts) == 0 {
			continue
		}
		for _, p := range mf.parts {
			m.conflict(p.src, mf.name, fmt.Sprintf(reason, other))
		}
		mf.parts = mf.parts[:0]
	}
}

// typeConflict is the reason family f of source s, of another type than
// merged family mf, is left out. Two families of one source meet when
// their names are the same once escaped ("a.b" and "a b"), or once
// written (an OpenMetrics counter "c", whose samples are c_total, and a
// family "c_total"; an info likewise with _info): the first in the body
// is kept.
func typeConflict(s *origin, f *family, mf *mfam) string {
	typ := f.typ.text()
	if n := len(mf.parts); n > 0 && mf.parts[n-1].src == s {
		kept := &s.sc.fams[mf.parts[n-1].fam]
		how := "once escaped"
		for _, sfx := range []string{"_total", "_info"} {
			if string(f.name) == string(kept.name)+sfx || string(kept.name) == string(f.name)+sfx {
				how = "once written (an OpenMetrics counter's or info's name takes its suffix)"
			}
		}
		return fmt.Sprintf("%s %q has the name of %s %q %s", typ, f.name, mf.typ, kept.name, how)
	}
	return fmt.Sprintf("type %s conflicts with type %s of an earlier source", typ, mf.typ)
}

// negativeCount is the conflict of a protobuf histogram with a negative
// count: text cannot carry it (expfmt refuses it), OpenMetrics 1.0 has no
// float counts, and corral merges a protobuf source through its text.
const negativeCount = "a count is negative, which text cannot carry (corral merges a protobuf source through text)"

func (m *merger) conflict(s *origin, family []byte, reason string) {
	m.report.Conflicts = append(m.report.Conflicts, Conflict{Source: s.in.Name, Family: string(family), Reason: reason})
}

// plan marks the samples left out (duplicates, and in OpenMetrics and
// protobuf output the _created lines, which are written as their series'
// created timestamps) and counts what every source contributes. A
// duplicate is a sample of the same source and family with the same name
// and label set, found by hash in a table cleared per family and
// verified.
func (m *merger) plan() {
	for _, s := range m.srcs {
		s.distinct = s.err == nil && s.sc.memo.distinctFor(m.opts.Format)
	}
	for i := range m.fams {
		mf := &m.fams[i]
		if m.scheme != model.NoEscaping {
			m.escapable(mf)
		} else if m.opts.Format.FormatType() != expfmt.TypeProtoDelim {
			m.writable(mf)
		}
		// The parts of one source (families whose names meet once
		// escaped) are deduplicated together.
		for lo := 0; lo < len(mf.parts); {
			s := mf.parts[lo].src
			hi, n := lo, 0
			for ; hi < len(mf.parts) && mf.parts[hi].src == s; hi++ {
				n += int(s.sc.fams[mf.parts[hi].fam].n)
			}
			m.seen.reset(n)
			for _, p := range mf.parts[lo:hi] {
				before := p.src.samples
				m.planPart(mf, p, n)
				m.counted = append(m.counted, p.src.samples-before)
			}
			lo = hi
		}
		if mf.typ == Histogram && m.opts.Format.FormatType() == expfmt.TypeOpenMetrics {
			m.openMetricsCounts(mf, m.counted)
		}
		m.counted = m.counted[:0]
	}
	m.dedupMembers()
	for _, s := range m.srcs {
		if s.err != nil || !s.sc.memo.current || s.distinct {
			continue
		}
		// No duplicates in a body all of whose families were merged: none
		// in the next that repeats it line for line either.
		nonEmpty := 0
		for i := range s.sc.fams {
			if s.sc.fams[i].n > 0 {
				nonEmpty++
			}
		}
		if s.dups == 0 && s.dropped == 0 && s.planned == nonEmpty {
			s.sc.memo.markDistinct(m.opts.Format)
		}
	}
}

// dedupMembers leaves out the later of two samples of one series, one of
// a family named like a member of a summary or histogram (a gauge
// foo_count beside summary foo), the other of that member (foo's
// foo_count): an OpenMetrics source, whose member samples are read by
// block, can hold both (text reads the second as the gauge's, as expfmt
// does). Prometheus keeps the first.
func (m *merger) dedupMembers() {
	for ci := range m.fams {
		c := &m.fams[ci]
		if c.depth == 0 || len(c.parts) == 0 {
			continue
		}
		mem := memberOf(c.name)
		xi, ok := m.byName[string(c.name[:len(c.name)-len(memberSuffixes[mem])])]
		if !ok {
			continue
		}
		x := &m.fams[xi]
		for _, pc := range c.parts {
			for _, px := range x.parts {
				if px.src == pc.src && pc.src.sc.om {
					m.dedupAcross(c, pc, x, px, mem)
				}
			}
		}
	}
}

// dedupAcross leaves out, of the samples of part pc of family c (its own
// name) and of part px of family x (member mem, named as c), of one
// source, the later of each series in the body.
func (m *merger) dedupAcross(c *mfam, pc part, x *mfam, px part, mem int) {
	s := pc.src
	ks := m.ks[:0]
	for _, p := range [2]part{pc, px} {
		f := &s.sc.fams[p.fam]
		for k := f.first; f.n > 0 && k <= f.last; k++ {
			smp := &s.sc.samples[k]
			want := memberExact
			if p == px {
				want = mem
			}
			if smp.fam == p.fam && smp.flags&flagDrop == 0 && int(smp.member) == want {
				ks = append(ks, k)
			}
		}
	}
	m.ks = ks
	slices.SortFunc(ks, func(a, b int32) int { return int(s.sc.samples[a].name.lo) - int(s.sc.samples[b].name.lo) })
	of := func(k int32) *mfam {
		if s.sc.samples[k].fam == pc.fam {
			return c
		}
		return x
	}
	m.seen.reset(len(ks))
	for _, k := range ks {
		mf := of(k)
		if !m.seen.add(m.outHash(s, mf, &s.sc.samples[k]), k, func(prev int32) bool { return m.sameSeriesIn(s, of(prev), prev, mf, k) }) {
			s.sc.samples[k].flags |= flagDrop
			s.dups++
			s.samples--
		}
	}
}

// planPart marks the samples of part p left out of family mf: OpenMetrics
// _created samples in a decoded output (which carries them as created
// timestamps, see omExtras), and duplicates of the source's series in mf,
// of which it has n samples in all. Text output keeps a _created sample as
// the series Prometheus reads it as from OpenMetrics by default.
func (m *merger) planPart(mf *mfam, p part, n int) {
	s := p.src
	f := &s.sc.fams[p.fam]
	if f.n == 0 {
		return
	}
	s.planned++
	if s.distinct {
		// The memo's series, which had no duplicates (nor OpenMetrics
		// _created samples: text only).
		s.samples += int(f.n)
		return
	}
	famRenamed := !bytes.Equal(f.name, mf.name) // as renamed has it
	for k := f.first; k <= f.last; k++ {
		smp := &s.sc.samples[k]
		if smp.fam != p.fam {
			continue
		}
		if smp.flags&flagShape != 0 && m.decoded {
			// Text carries it as Prometheus reads it, a plain series;
			// no histogram or summary of the decoded formats can.
			smp.flags |= flagDrop
			s.dropped++
			continue
		}
		h := smp.hash
		if m.decoded && mf.typ == GaugeHistogram && smp.member == memberBucket && smp.flags&flagCanonLe == 0 {
			// These outputs write a bucket's le as a number: two buckets
			// of one series and one bound ("Inf", "+Inf") are one there,
			// of which the first is kept, as Prometheus keeps the first
			// of a histogram's.
			smp.flags |= flagCanonLe
			h = m.outHash(s, mf, smp)
		} else if famRenamed || smp.flags&(flagQuoted|flagReserved) != 0 {
			h = m.outHash(s, mf, smp)
		}
		if n > 1 && !m.seen.add(h, k, func(prev int32) bool { return m.sameSeries(s, mf, prev, k) }) {
			smp.flags |= flagDrop
			s.dups++
			continue
		}
		if smp.flags&flagCreated != 0 && m.decoded {
			smp.flags |= flagDrop // written as its series' created timestamp (omExtras)
		}
		s.samples++
	}
}

// escapable leaves out of mf, for its source, a part with a series whose
// label names are the same once escaped per the output's scheme.
func (m *merger) escapable(mf *mfam) {
	mf.parts = slices.DeleteFunc(mf.parts, func(p part) bool {
		s := p.src
		f := &s.sc.fams[p.fam]
		for k := f.first; f.quoted && k <= f.last; k++ {
			smp := &s.sc.samples[k]
			if smp.fam != p.fam || smp.flags&flagQuoted == 0 {
				continue
			}
			var ok bool
			if m.pairs, ok = m.outLabels(m.pairs[:0], s, smp); !ok {
				m.conflict(s, mf.name, fmt.Sprintf("label names of series %s are the same once escaped", clip(s.sc.body[smp.name.lo:smp.value.lo])))
				return true
			}
		}
		return false
	})
}
