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
	metaFam  int32 // the family of the last HELP, TYPE or UNIT line, -1: none yet
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
	memo     cursor   // its replay of its Source's memo
	noting   bool     // keep notes of HELP and TYPE lines, for the memo
	notes    []note
	named    int // s.fams[:named] are in byName (the memo's replay adds the rest when needed)
	// converted: the body is corral's own text of a protobuf body, whose
	// names may hold what text from a source may not (a NUL byte)
	converted bool
}

func newScanner() *scanner {
	return &scanner{byName: map[string]int32{}, seed: maphash.String(maphash.MakeSeed(), "corral") | 1}
}

func (s *scanner) reset(body []byte, om bool, reserved [][]byte) {
	s.body, s.om, s.reserved = body, om, reserved
	s.fams, s.samples = s.fams[:0], s.samples[:0]
	clear(s.byName)
	s.notes, s.named = s.notes[:0], 0
	s.cur, s.line, s.suffixed, s.split, s.eof, s.converted = -1, 0, false, false, false, false
	s.mtype, s.block, s.typedAt, s.metaFam = Implicit, -1, -1, -1
	s.startMemo(om, reserved)
}

func (s *scanner) errorf(format string, args ...any) error {
	return &ParseError{Line: s.line, Msg: fmt.Sprintf(format, args...)}
}

// stricterf is errorf for a line refused under one of the README's
// stricter rules (StricterNUL...).
func (s *scanner) stricterf(rule, format string, args ...any) error {
	return &ParseError{Line: s.line, Msg: fmt.Sprintf(format, args...), Stricter: rule}
}

// scan parses the whole body and reports its first problem.
func (s *scanner) scan(body []byte, om bool, reserved [][]byte) error {
	s.reset(body, om, reserved)
	return s.scanAll(body)
}

// scanConverted is scan of corral's own text of a protobuf body.
func (s *scanner) scanConverted(body []byte, reserved [][]byte) error {
	s.reset(body, false, reserved)
	s.converted = true
	return s.scanAll(body)
}

func (s *scanner) scanAll(body []byte) error {
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
	converted := s.converted // a half of a converted body is converted too
	s.reset(body, om, reserved)
	s.converted = converted
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
	// Invalid UTF-8 is refused but in a plain comment, which Prometheus
	// does not read: then each line is checked on its own.
	eachLine := !utf8.Valid(body[from:to])
	body = body[:to]
	for pos := from; pos < len(body); {
		s.line++
		if s.eof {
			if allNUL(body[pos:]) {
				break // Prometheus' lexers skip NUL bytes after # EOF
			}
			return s.errorf("content after # EOF")
		}
		end := bytes.IndexByte(body[pos:], '\n')
		if end < 0 {
			if s.om && len(body)-pos >= 5 && string(body[pos:pos+5]) == "# EOF" && allNUL(body[pos+5:]) {
				s.eof = true
				break
			}
			if i := s.skipBlank(pos, len(body)); i < len(body) && body[i] == '#' && bytes.IndexByte(body[i:], 0) >= 0 {
				// Prometheus' lexers skip NUL bytes in places: to them
				// "# E\x00OF" may end the body, newline or not.
				return s.nulError()
			}
			return s.errorf("missing newline at end of input (truncated body?)")
		}
		end += pos
		if eachLine {
			if err := s.lineUTF8(pos, end); err != nil {
				return err
			}
		}
		if err := s.scanLine(pos, end); err != nil {
			return err
		}
		pos = end + 1
	}
	return nil
}

// lineUTF8 checks that the line b[pos:end] is valid UTF-8, unless it is
// a plain text comment (which Prometheus does not read, nor corral write).
func (s *scanner) lineUTF8(pos, end int) error {
	if utf8.Valid(s.body[pos:end]) || !s.om && s.plainComment(pos, end) {
		return nil
	}
	if i := s.skipBlank(pos, end); i < end && s.body[i] == '#' {
		// Prometheus reads a HELP line's text only, and only that must be UTF-8.
		return s.stricterf(StricterMetaUTF8, "invalid UTF-8 in a HELP, TYPE or UNIT line")
	}
	if x := exemplarStart(s.body[pos:end]); s.om && x >= 0 && utf8.Valid(s.body[pos:pos+x]) {
		// Prometheus reads an exemplar's label values only, not its names.
		return s.stricterf(StricterMetaUTF8, "invalid UTF-8 in an exemplar")
	}
	return s.errorf("invalid UTF-8")
}

// exemplarStart is where the exemplar of OpenMetrics sample line starts
// (its " # " outside quotes), or -1.
func exemplarStart(line []byte) int {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '#' && i > 0 && line[i-1] == ' ':
			return i - 1
		}
	}
	return -1
}

// allNUL tells whether b holds only NUL bytes.
func allNUL(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
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

func (s *scanner) scanLine(i, end int) error {
	b := s.body
	if !s.om {
		start := i
		for i < end && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i == end {
			return nil
		}
		if i > start && nameChars[b[i]]&(nameFirst|nameColon) != 0 {
			// Prometheus' text parser reads " a 1" as the series " a",
			// expfmt (and client libraries) as "a".
			return s.stricterf(StricterLeadingBlank, "blanks before the metric name %q", clip(b[i:end]))
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
