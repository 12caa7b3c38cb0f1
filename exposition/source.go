package exposition

import (
	"bytes"
	"hash/maphash"
	"slices"
	"sync"
	"unsafe"

	"github.com/prometheus/common/expfmt"
)

// A Source is the scan state one source keeps between its bodies, for a
// caller that scrapes the same source again and again (the merged
// /metrics): its scanners' tables of samples and families, which grow to
// the size of the source's bodies, and one memo, a copy of the last body
// one of them found valid, against which the source's next body (the same
// series with new values) is checked line by line rather than parsed (see
// memo). Every scanner of the source replays against that one memo, from
// its first body: two scrapes at once cost one copy of the body, not two.
// The caller makes one Source per source and only feeds it bodies through
// Receive; a Source keeps at most two idle scanners (two scrapes of the
// source at once), lets go of tables much larger than its last body
// needed, and of more when trimmed (see Trim).
type Source struct {
	seed uint64 // of its scanners' hashes, which its memo holds
	mu   sync.Mutex
	idle []*scanner
	memo *memo // the memo its next scanners replay against; nil: none
}

// NewSource is a Source with nothing scanned yet.
func NewSource() *Source {
	return &Source{seed: maphash.String(maphash.MakeSeed(), "corral") | 1}
}

// sourceScanners is how many idle scanners a Source keeps.
const sourceScanners = 2

// newSourceScanner is a scanner of src, which replays against src's memo.
func newSourceScanner(src *Source) *scanner {
	s := newScanner()
	s.memo.src, s.noting, s.seed = src, true, src.seed
	return s
}

// take is an idle scanner of src, or a new one.
func (src *Source) take() *scanner {
	src.mu.Lock()
	defer src.mu.Unlock()
	if n := len(src.idle); n > 0 {
		s := src.idle[n-1]
		src.idle[n-1] = nil
		src.idle = src.idle[:n-1]
		return s
	}
	return newSourceScanner(src)
}

// give takes back a scanner from take, reset.
func (src *Source) give(s *scanner) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.idle) < sourceScanners {
		src.idle = append(src.idle, s)
	}
}

// hold makes s hold src's memo when s can replay a body against it (see
// fits), after letting go of the one it held.
func (src *Source) hold(s *scanner, om bool, reserved [][]byte) {
	c := &s.memo
	src.mu.Lock()
	defer src.mu.Unlock()
	c.let()
	if m := src.memo; m != nil && s.fits(m, om, reserved) {
		m.holders++
		c.m = m
	}
}

// leave lets go of the memo c holds.
func (src *Source) leave(c *cursor) {
	src.mu.Lock()
	defer src.mu.Unlock()
	c.let()
}

// let lets go of the memo c holds, under its Source's mutex.
func (c *cursor) let() {
	if c.m != nil {
		c.m.holders--
		c.m = nil
	}
}

// publish makes the scan of body by s the memo src's next scanners replay
// against (nil: none), whatever memo it had: the last body wins. A memo
// that no scanner holds is rewritten in place, out of src's reach
// meanwhile; any other is left as it is to those replaying against it,
// and a new one made.
func (src *Source) publish(s *scanner, body []byte) {
	c := &s.memo
	src.mu.Lock()
	var m *memo
	if c.m != nil && c.m.holders == 1 {
		m = c.m
	} else if src.memo != nil && src.memo.holders == 0 {
		m = src.memo
	}
	c.let()
	if src.memo == m || body == nil {
		src.memo = nil
	}
	src.mu.Unlock()
	if body == nil {
		return
	}
	if m == nil || m.oversized(len(body), len(s.samples), len(s.notes)) {
		m = &memo{}
	}
	m.body = append(m.body[:0], body...)
	m.samples = append(m.samples[:0], s.samples...)
	m.notes = append(m.notes[:0], s.notes...)
	m.hashing, m.seed = s.hashing, s.seed
	m.reserved = m.reserved[:0]
	for _, r := range s.reserved {
		m.reserved = append(m.reserved, bytes.Clone(r))
	}
	m.distinct = m.distinct[:0]
	src.mu.Lock()
	defer src.mu.Unlock()
	src.memo = m
	m.holders++ // by s, for the merge's verdict on it
	c.m = m
}

// distinctFor tells whether a merge in format f found no duplicate series
// in the memo that stands for the body c's scanner just scanned.
func (c *cursor) distinctFor(f expfmt.Format) bool {
	if !c.current || c.m == nil {
		return false
	}
	c.src.mu.Lock()
	defer c.src.mu.Unlock()
	return slices.Contains(c.m.distinct, f)
}

// markDistinct records that a merge in format f found no duplicate series
// in the memo that stands for the body c's scanner just scanned.
func (c *cursor) markDistinct(f expfmt.Format) {
	if !c.current || c.m == nil {
		return
	}
	c.src.mu.Lock()
	defer c.src.mu.Unlock()
	if !slices.Contains(c.m.distinct, f) {
		c.m.distinct = append(c.m.distinct, f)
	}
}

// Trim lets go of what src keeps between scrapes beyond one scanner and
// its memo: every idle scanner but the last given back. With tables, that
// one's working tables go too, and the memo's spare capacity: the source's
// next body is still checked against its last rather than parsed, and the
// tables grow again as it is scanned. Scanners in use, and a memo one of
// them holds, are left alone.
func (src *Source) Trim(tables bool) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if n := len(src.idle); n > 1 {
		s := src.idle[n-1]
		clear(src.idle)
		src.idle = append(src.idle[:0], s)
	}
	if !tables {
		return
	}
	if len(src.idle) == 1 {
		src.idle[0].shed()
	}
	if m := src.memo; m != nil && m.holders == 0 {
		m.compact()
	}
}

// MemoBytes is what a Source keeps of body, a valid text body it scanned,
// once trimmed with its tables (see Trim): a copy of the body, 48 bytes
// for each sample line and 40 for each HELP or TYPE line; about 1.6 times
// the body for a typical exporter's lines of ~85 bytes.
func MemoBytes(body []byte) int {
	n := len(body)
	for line := range bytes.Lines(body) {
		switch {
		case bytes.HasPrefix(line, []byte("# HELP ")) || bytes.HasPrefix(line, []byte("# TYPE ")):
			n += int(unsafe.Sizeof(note{}))
		case line[0] != '#' && line[0] != '\n':
			n += int(unsafe.Sizeof(sample{}))
		}
	}
	return n
}

// shed lets go of an idle scanner's working tables, keeping its settings.
func (s *scanner) shed() {
	s.fams, s.samples, s.notes, s.labels, s.canon, s.half = nil, nil, nil, nil, nil, nil
	s.byName = map[string]int32{}
}

// compact makes a memo no scanner holds exactly as large as what it holds.
func (m *memo) compact() {
	if cap(m.body) > len(m.body)+len(m.body)/8+64<<10 {
		m.body = bytes.Clone(m.body)
	}
	if cap(m.samples) > len(m.samples)+len(m.samples)/8+1024 {
		m.samples = slices.Clone(m.samples)
	}
}

// oversized tells whether a memo's buffers are much larger than a body of
// n bytes with these samples and notes needs.
func (m *memo) oversized(n, samples, notes int) bool {
	return cap(m.body) > 2*n+64<<10 || cap(m.samples) > 2*samples+4096 || cap(m.notes) > 2*notes+1024
}
