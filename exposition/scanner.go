package exposition

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"unicode/utf8"
)

// scanner parses and validates one body. It keeps its slices across uses;
// get one from scanners.
type scanner struct {
	body     []byte
	om       bool
	reserved [][]byte // label names the merge injects
	fams     []family
	byName   map[string]int32
	samples  []sample
	cur      int32
	mtype    Type  // of the last TYPE line: Prometheus reads the samples after it as of that type (Implicit: none yet)
	block    int32 // the family of the last TYPE line, -1: none yet
	typedAt  int   // where the first TYPE line starts, -1: none yet
	line     int
	suffixed bool // some family's name ends in a member suffix: member lookups must check the map
	split    bool // some family's samples are not contiguous
	eof      bool
	labels   []label  // of the current sample
	canon    []byte   // a label spelled canonically, for seriesHash
	hashing  bool     // compute sample.hash, for the merge's deduplication
	general  bool     // never take fastSample: tests compare it with the general path
	half     *scanner // scans the second half of a large body (linesSplit)
	seed     uint64   // of sample.hash: random per scanner, so that input cannot aim at collisions
	memo     memo     // the last body, for a source's own Scanner
	noting   bool     // keep notes of HELP and TYPE lines, for the memo
	notes    []note
	named    int // s.fams[:named] are in byName (the memo's replay adds the rest when needed)
}

func newScanner() *scanner {
	return &scanner{byName: map[string]int32{}, seed: maphash.String(maphash.MakeSeed(), "corral") | 1}
}

func (s *scanner) reset(body []byte, om bool, reserved [][]byte) {
	s.body, s.om, s.reserved = body, om, reserved
	s.fams, s.samples = s.fams[:0], s.samples[:0]
	clear(s.byName)
	s.notes, s.named = s.notes[:0], 0
	s.cur, s.line, s.suffixed, s.split, s.eof = -1, 0, false, false, false
	s.mtype, s.block, s.typedAt = Implicit, -1, -1
	s.memo.start(om, s.hashing, reserved)
}

func (s *scanner) errorf(format string, args ...any) error {
	return &ParseError{Line: s.line, Msg: fmt.Sprintf(format, args...)}
}

// scan parses the whole body and reports its first problem.
func (s *scanner) scan(body []byte, om bool, reserved [][]byte) error {
	s.reset(body, om, reserved)
	if len(body) >= math.MaxInt32 {
		return &ParseError{Msg: "body larger than 2 GiB"}
	}
	if err := s.linesSplit(body, 0); err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	s.remember(body)
	return nil
}

// scanRange parses the lines of body[from:to], which starts a line, as a
// body of its own but with positions in body.
func (s *scanner) scanRange(body []byte, om bool, reserved [][]byte, from, to int) error {
	s.reset(body, om, reserved)
	if len(body) >= math.MaxInt32 {
		return &ParseError{Msg: "body larger than 2 GiB"}
	}
	if err := s.lines(body, from, to); err != nil {
		return err
	}
	return s.end()
}

// lines parses the lines of body[from:to], which starts a line, after the
// lines before it: body may have grown (a body scanned as it arrives), the
// positions scanned before stay valid in it.
func (s *scanner) lines(body []byte, from, to int) error {
	s.body = body
	if s.memo.pos >= 0 {
		var err error
		if from, err = s.replay(body, from, to); err != nil {
			return err
		}
	}
	if !utf8.Valid(body[from:to]) {
		return s.invalidUTF8()
	}
	body = body[:to]
	for pos := from; pos < len(body); {
		s.line++
		if s.eof {
			return s.errorf("content after # EOF")
		}
		end := bytes.IndexByte(body[pos:], '\n')
		if end < 0 {
			if s.om && string(body[pos:]) == "# EOF" {
				s.eof = true
				break
			}
			return s.errorf("missing newline at end of input (truncated body?)")
		}
		end += pos
		if err := s.scanLine(pos, end); err != nil {
			return err
		}
		pos = end + 1
	}
	return nil
}

// end checks the end of the body once every line is scanned.
func (s *scanner) end() error {
	if s.om && !s.eof {
		return &ParseError{Line: s.line, Msg: "missing # EOF at end of OpenMetrics input (truncated body?)"}
	}
	if s.split {
		s.regroup()
	}
	return nil
}

func (s *scanner) invalidUTF8() error {
	line := 1
	for i := 0; i < len(s.body); {
		r, n := utf8.DecodeRune(s.body[i:])
		if r == utf8.RuneError && n == 1 {
			return &ParseError{Line: line, Msg: "invalid UTF-8"}
		}
		if r == '\n' {
			line++
		}
		i += n
	}
	return &ParseError{Msg: "invalid UTF-8"}
}

func (s *scanner) scanLine(i, end int) error {
	b := s.body
	if !s.om {
		for i < end && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i == end {
			return nil
		}
	} else if i == end {
		return s.errorf("empty line in OpenMetrics input")
	}
	if b[i] == '#' {
		return s.comment(i+1, end)
	}
	if !s.om && !s.general && s.fastSample(i, end) {
		return nil
	}
	return s.sampleLine(i, end)
}

// add appends smp as the next sample of family f (number fi), noting when
// the family's samples stop being contiguous (the family appears twice).
func (s *scanner) add(f *family, fi int32, smp sample) {
	idx := int32(len(s.samples))
	if f.n > 0 && f.last != idx-1 {
		s.split = true
	}
	if f.n == 0 {
		f.first = idx
	}
	f.n++
	f.last = idx
	f.quoted = f.quoted || smp.flags&flagQuoted != 0
	s.cur = fi
	s.samples = append(s.samples, smp)
}

// regroup orders samples by family, keeping each family's samples as
// received, when a body split a family in two places.
func (s *scanner) regroup() {
	slices.SortStableFunc(s.samples, func(a, b sample) int { return int(s.fams[a.fam].first) - int(s.fams[b.fam].first) })
	prev := int32(-1)
	for i := range s.samples {
		fi := s.samples[i].fam
		if fi != prev {
			s.fams[fi].first = int32(i)
			prev = fi
		}
		s.fams[fi].last = int32(i)
	}
}
