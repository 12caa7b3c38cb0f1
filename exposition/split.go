package exposition

import (
	"bytes"
	"sync"
)

// splitScan is the size from which the rest of a text body is scanned in
// two halves in parallel.
const splitScan = 1 << 20

// linesSplit scans the lines of body[from:], to its end, as lines does, but
// when that is large, in two halves at once: the second half, cut where a
// family's HELP or TYPE line starts near its middle, by a scanner of its
// own that is then joined to s. The result is always the serial scan's:
// when the second half is invalid, or shares a family or a family's member
// names with what came before (which the serial scan joins or reports, as
// the text format has it), s scans it after its own half as if it had
// never been cut.
func (s *scanner) linesSplit(body []byte, from int) error {
	if s.memo.pos >= 0 {
		// What repeats the last body needs no second core.
		s.body = body
		var err error
		if from, err = s.replay(body, from, len(body)); err != nil {
			return err
		}
	}
	if s.om || len(body)-from < splitScan {
		return s.lines(body, from, len(body))
	}
	mid := splitPoint(body, from)
	if mid <= 0 {
		return s.lines(body, from, len(body))
	}
	// The helper stays with s, so that its slices serve s's next body.
	if s.half == nil {
		s.half = newScanner()
	}
	t := s.half
	defer t.reset(nil, false, nil)
	t.hashing, t.seed, t.general, t.noting, t.converted = s.hashing, s.seed, s.general, s.noting, s.converted
	var wg sync.WaitGroup
	var terr error
	wg.Go(func() { terr = t.scanRange(body, false, s.reserved, mid, len(body)) })
	err := s.lines(body, from, mid)
	wg.Wait()
	if err != nil {
		return err
	}
	// Samples of the second half before its first TYPE line follow the
	// first half's last one, which t did not know.
	headless := len(t.samples) > 0 && (t.typedAt < 0 || int(t.samples[0].name.lo) < t.typedAt)
	if terr != nil || s.shares(t) || headless && (s.mtype == Histogram || s.mtype == Summary) {
		return s.lines(body, mid, len(body))
	}
	famOff, smpOff := int32(len(s.fams)), int32(len(s.samples))
	for _, f := range t.fams {
		if f.n > 0 {
			f.first += smpOff
			f.last += smpOff
		}
		s.fams = append(s.fams, f)
	}
	s.samples = append(s.samples, t.samples...)
	for i := smpOff; i < int32(len(s.samples)); i++ {
		s.samples[i].fam += famOff
	}
	for _, n := range t.notes {
		n.fam += famOff
		s.notes = append(s.notes, n)
	}
	s.suffixed = s.suffixed || t.suffixed
	s.split = s.split || t.split
	s.line += t.line
	if t.cur >= 0 {
		s.cur = famOff + t.cur
	}
	if t.block >= 0 {
		s.mtype, s.block = t.mtype, famOff+t.block
	}
	if t.metaFam >= 0 {
		s.metaFam = famOff + t.metaFam
	}
	// s.byName knows only the families of the first half: nothing reads
	// it after the last line.
	return nil
}

// splitPoint is where a HELP line (or else a TYPE line) starts at or after
// the middle of body[from:], or 0 if none does.
func splitPoint(body []byte, from int) int {
	half := from + (len(body)-from)/2
	for _, kw := range []string{"\n# HELP ", "\n# TYPE "} {
		if k := bytes.Index(body[half:], []byte(kw)); k >= 0 {
			return half + k + 1
		}
	}
	return 0
}

// shares tells whether a family of the second half t has a name that the
// serial scan would tie to a family of the first half s: the same name, a
// member name (_bucket, _sum, _count) of it, or the name it is a member of.
func (s *scanner) shares(t *scanner) bool {
	var buf []byte
	for _, f := range t.fams {
		if _, ok := s.byName[string(f.name)]; ok {
			return true
		}
		for _, m := range [...]int{memberBucket, memberSum, memberCount} {
			buf = append(append(buf[:0], f.name...), memberSuffixes[m]...)
			if _, ok := s.byName[string(buf)]; ok {
				return true
			}
		}
		if m := memberOf(f.name); m == memberBucket || m == memberSum || m == memberCount {
			if _, ok := s.byName[string(f.name[:len(f.name)-len(memberSuffixes[m])])]; ok {
				return true
			}
		}
	}
	return false
}
