package exposition

import (
	"bytes"
	"slices"

	"github.com/prometheus/common/expfmt"
)

// memo is what a Source keeps of the last body one of its scanners
// scanned whole and found valid, so that the source's next body, which
// almost always repeats it line for line with new values, is checked
// against it instead of parsed again (the idea of Prometheus' scrape
// cache). Once published to the Source it is not changed while a scanner
// may read it: each scanner replays it with a cursor of its own.
//
// A body is replayed from its first line, in step with the memo: a line is
// in step when everything before its value is the memo's line byte for byte
// and every line before it was in step. The scanner is then in the state it
// was in at that line of the memo, so the line names the same family,
// member and series as it did then, with the same flags and hash: only its
// value is new, and only the value is checked. A HELP or TYPE line in step
// does again what the memo's note says it did; other comment lines and
// samples the fast check cannot take are scanned as usual (the same bytes
// in the same state). The first line out of step ends the replay and the
// rest of the body is scanned as usual.
type memo struct {
	body     []byte   // a copy of the last body scanned whole without error
	samples  []sample // its samples, in line order, positions in body
	notes    []note   // what its HELP and TYPE lines did, in line order
	hashing  bool     // the settings body was scanned with: sample hashes,
	reserved [][]byte // the label names the merge injects,
	seed     uint64   // and the hashes' seed
	// Under the Source's mutex: the scanners that hold the memo (replaying
	// against it, or keeping it for the merge's verdict), and the output
	// formats a merge found no duplicate series in it for.
	holders  int
	distinct []expfmt.Format
}

// cursor is a scanner's replay of its Source's memo, its own.
type cursor struct {
	src      *Source // whose memo it replays; nil: none
	m        *memo   // the memo held: replayed against, or made of the body
	current  bool    // m stands for the body just scanned
	pos      int     // m's line the next line must repeat; -1: out of step
	next     int     // m's next note
	replayed int     // lines of the current body taken from m
}

// note is what a HELP or TYPE line with a bare name did, for a replay to do
// again without parsing it: the family it named (and whether it made it),
// and the help text or type it gave.
type note struct {
	at     int32 // the line's '#'
	fam    int32
	name   span // the family's name
	help   span // a HELP line's text (nothing for a TYPE line)
	hash   uint64
	typ    Type // a TYPE line's type (nothing for a HELP line)
	isHelp bool
	made   bool // the line made the family
}

// note records what a HELP or TYPE line at sharp did to family fi.
func (s *scanner) note(sharp int, name span, fi int32, made, quoted, isHelp bool) {
	if !s.noting || quoted {
		return
	}
	f := &s.fams[fi]
	n := note{at: int32(sharp), fam: fi, name: name, hash: f.hash, isHelp: isHelp, made: made}
	if isHelp {
		n.help = f.help
	} else {
		n.typ = f.typ
	}
	s.notes = append(s.notes, n)
}

// replayNote does again, on the line at pos, what the memo's note n did on
// the same line at q.
func (s *scanner) replayNote(n note, pos, q int) {
	d := int32(pos - q)
	n.at, n.name.lo, n.name.hi = n.at+d, n.name.lo+d, n.name.hi+d
	if n.made {
		name := s.body[n.name.lo:n.name.hi]
		s.fams = append(s.fams, family{name: name, first: -1, last: -1, bare: true, hash: n.hash})
		if !s.suffixed && memberOf(name) != memberExact {
			s.suffixed = true
		}
	}
	f := &s.fams[n.fam]
	s.cur, s.metaFam = n.fam, n.fam
	if n.isHelp {
		n.help.lo, n.help.hi = n.help.lo+d, n.help.hi+d
		f.hasHelp, f.help = true, n.help
	} else {
		f.typ, f.typed = n.typ, true
		s.typeLine(int(n.at), n.fam)
	}
	if s.noting {
		s.notes = append(s.notes, n)
	}
}

// syncNames puts the families a replay made into byName, for what scans
// after it.
func (s *scanner) syncNames() {
	for ; s.named < len(s.fams); s.named++ {
		s.byName[string(s.fams[s.named].name)] = int32(s.named)
	}
}

// startMemo puts s's cursor in step with its Source's memo for a new body,
// if the memo was scanned with the settings s scans this body with.
func (s *scanner) startMemo(om bool, reserved [][]byte) {
	c := &s.memo
	c.pos, c.replayed, c.current = -1, 0, false
	if c.src == nil {
		return
	}
	c.src.hold(s, om, reserved)
	if c.m != nil {
		c.pos, c.next = 0, 0
	}
}

// fits tells whether a body s scans with these settings can replay
// against m.
func (s *scanner) fits(m *memo, om bool, reserved [][]byte) bool {
	return !om && len(m.body) > 0 && m.hashing == s.hashing && m.seed == s.seed && slices.EqualFunc(reserved, m.reserved, bytes.Equal)
}

// replay scans the lines of body[pos:to] that are in step with the memo
// and reports where it stopped: at to, or at the start of the first line
// out of step (or without its newline), which the caller scans.
//
// A replayed sample's bytes need no UTF-8 check: all but its value are the
// memo's, which passed, and plainValue takes ASCII only. Any other line is
// checked before it is scanned, as lines checks it.
func (s *scanner) replay(body []byte, pos, to int) (int, error) {
	c := &s.memo
	m := c.m
	prev := m.body
	q := c.pos
	defer func() { c.pos = q }()
	for pos < to && q < len(prev) {
		k := len(s.samples) // in step: the memo's sample k is the next
		if k < len(m.samples) && sampleAt(prev, &m.samples[k], q) {
			ps := &m.samples[k]
			vlo := int(ps.value.lo)
			plen := vlo - q
			vs := pos + plen
			// The line's name is the memo's only where it ends as it did: a
			// value that followed a bare name with no blank ("a-3") may
			// have become part of it here ("ab 3", "a3").
			if vs >= to || string(body[pos:vs]) != string(prev[q:vlo]) || nameChars[prev[vlo-1]] != 0 && nameChars[body[vs]] != 0 {
				break
			}
			// The memo's value ran to its newline: a plain value to the
			// newline here too is the only change.
			if n := plainValue(body[vs:to]); n > 0 && ps.ts.empty() && int(ps.value.hi) < len(prev) && prev[ps.value.hi] == '\n' &&
				ps.fam < int32(len(s.fams)) && s.countOK(ps, body[vs]) {
				s.line++
				smp := *ps
				d := int32(pos - q)
				smp.name.lo, smp.name.hi = smp.name.lo+d, smp.name.hi+d
				if !smp.labels.empty() {
					smp.labels.lo, smp.labels.hi = smp.labels.lo+d, smp.labels.hi+d
				}
				smp.value = span{int32(vs), int32(vs + n)}
				smp.flags &^= flagDrop
				s.add(&s.fams[smp.fam], smp.fam, smp)
				c.replayed++
				pos, q = vs+n+1, int(ps.value.hi)+1
				continue
			}
			end := bytes.IndexByte(body[vs:to], '\n')
			qEnd := bytes.IndexByte(prev[vlo:], '\n')
			if end < 0 || qEnd < 0 {
				break
			}
			if err := s.lineAgain(pos, vs+end); err != nil {
				return pos, err
			}
			pos, q = vs+end+1, vlo+qEnd+1
			continue
		}
		// A comment, a blank line, or a sample written otherwise: the
		// same line, or out of step.
		end := bytes.IndexByte(body[pos:to], '\n')
		qEnd := bytes.IndexByte(prev[q:], '\n')
		if end < 0 || qEnd < 0 || string(body[pos:pos+end]) != string(prev[q:q+qEnd]) {
			break
		}
		for c.next < len(m.notes) && int(m.notes[c.next].at) < q {
			c.next++ // a note of a line scanned again instead
		}
		if n := c.next; n < len(m.notes) && int(m.notes[n].at) == q && (!m.notes[n].made || int(m.notes[n].fam) == len(s.fams)) {
			// A HELP or TYPE line: what it did then, it does now.
			s.line++
			s.replayNote(m.notes[n], pos, q)
			c.next++
			c.replayed++
		} else if err := s.lineAgain(pos, pos+end); err != nil {
			return pos, err
		}
		pos, q = pos+end+1, q+qEnd+1
	}
	if pos < to {
		q = -1 // out of step for the rest of the body
		s.syncNames()
	}
	return pos, nil
}

// sampleAt tells whether sample ps of body b is on the line that starts at
// q: its name starts there, or after a '{' or blanks.
func sampleAt(b []byte, ps *sample, q int) bool {
	lo := int(ps.name.lo)
	return lo == q || lo > q && bytes.IndexByte(b[q:lo], '\n') < 0
}

// lineAgain scans a line in step with the memo that replay cannot take
// as it is, as lines would.
func (s *scanner) lineAgain(pos, end int) error {
	s.line++
	s.syncNames()
	if err := s.lineUTF8(pos, end); err != nil {
		return err
	}
	return s.scanLine(pos, end)
}

// plainValue is the length of the plain decimal value (as simpleFloat is
// sure of) that b starts with when a newline follows it, or 0.
func plainValue(b []byte) int {
	if n := plainEnd(b); n > 0 && n < len(b) && b[n] == '\n' {
		return n
	}
	return 0
}

// countOK tells whether a value starting with c may replace the memo's
// sample ps's: not negative where a histogram may count (the line is then
// scanned, which tells).
func (s *scanner) countOK(ps *sample, c byte) bool {
	if c != '-' || (ps.member != memberBucket && ps.member != memberCount && ps.member != memberExact) {
		return true
	}
	t := s.fams[ps.fam].typ
	return t != Histogram && t != GaugeHistogram
}

// remember makes body, just scanned whole without error, its Source's
// memo, unless the memo held already repeats it line for line. A body
// whose families were regrouped (samples no longer in line order) leaves
// the Source without a memo. An OpenMetrics body, which is never replayed,
// leaves the Source's memo to the text bodies of a source scraped in both
// formats (a /proxy whose clients ask for either).
func (s *scanner) remember(body []byte) {
	c := &s.memo
	if c.src == nil || s.om {
		return
	}
	if c.m != nil && c.pos == len(c.m.body) && c.pos > 0 {
		c.current = true
		return // every line in step: the memo stands for this body too
	}
	c.pos = -1
	if s.split || len(body) == 0 {
		c.src.publish(s, nil)
		return
	}
	c.current = true
	c.src.publish(s, body)
}
