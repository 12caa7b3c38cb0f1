package exposition

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Type is a metric family's type as declared by its TYPE line.
type Type uint8

// Family types. Implicit is a family without a TYPE line (untyped in text,
// unknown in OpenMetrics); the last four exist only in OpenMetrics input.
const (
	Implicit Type = iota
	Counter
	Gauge
	Histogram
	Summary
	Untyped
	GaugeHistogram
	StateSet
	Info
	UnknownType
)

// parseType reads a TYPE line's type word, strictly lower case as
// Prometheus writes it.
func parseType(word []byte, om bool) (Type, bool) {
	switch string(word) {
	case "counter":
		return Counter, true
	case "gauge":
		return Gauge, true
	case "histogram":
		return Histogram, true
	case "summary":
		return Summary, true
	case "untyped":
		return Untyped, !om
	case "unknown":
		return UnknownType, om
	case "gaugehistogram":
		return GaugeHistogram, om
	case "stateset":
		return StateSet, om
	case "info":
		return Info, om
	}
	return 0, false
}

// String is the type as the text format writes it.
func (t Type) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge, StateSet, Info:
		return "gauge"
	case Histogram:
		return "histogram"
	case Summary:
		return "summary"
	case GaugeHistogram:
		return "gaugehistogram"
	default:
		return "untyped"
	}
}

// text folds the OpenMetrics-only types onto the text format's five.
func (t Type) text() Type {
	switch t {
	case Implicit, UnknownType:
		return Untyped
	case StateSet, Info:
		return Gauge
	}
	return t
}

// span is a range of the scanned body.
type span struct{ lo, hi int32 }

func (s span) empty() bool { return s.hi <= s.lo }

// Sample flags.
const (
	flagQuoted   = 1 << iota // a quoted (UTF-8) metric or label name: written by the slow path
	flagReserved             // carries a label the merge injects: renamed to exported_*
	flagCreated              // an OpenMetrics _created sample, which text 0.0.4 leaves out
	flagOMTime               // an OpenMetrics timestamp (float seconds)
	flagDrop                 // left out of the merge: a duplicate or a dropped family
)

// Member suffixes of a sample within its family.
const (
	memberExact = iota
	memberBucket
	memberSum
	memberCount
	memberCreated
	memberTotal
	memberInfo
	memberGSum
	memberGCount
)

var memberSuffixes = [...]string{memberBucket: "_bucket", memberSum: "_sum", memberCount: "_count",
	memberCreated: "_created", memberTotal: "_total", memberInfo: "_info", memberGSum: "_gsum", memberGCount: "_gcount"}

// family is one metric family of a scanned body.
type family struct {
	name    []byte // unescaped name: a slice of the body unless it was quoted
	typ     Type
	typed   bool
	hasHelp bool
	bare    bool   // name is a valid unquoted metric name
	hash    uint64 // of name, when hashing
	help    span   // raw, still escaped
	first   int32
	n       int32
	last    int32
}

// sample is one line of a scanned body.
type sample struct {
	fam    int32
	name   span // as written: quoted names keep their quotes
	labels span // first label name to the last value's closing quote
	value  span
	ts     span
	flags  uint8
	member uint8  // memberExact, memberBucket...: the suffix after the family name
	hash   uint64 // name and label set, independent of label order (when hashing)
}

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
	line     int
	suffixed bool // some family's name ends in a member suffix: member lookups must check the map
	split    bool // some family's samples are not contiguous
	eof      bool
	labels   []span   // label names of the current sample
	lends    []int32  // where each label of the current sample ends (after its value's quote)
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

func (s *scanner) skipBlank(i, end int) int {
	for i < end && (s.body[i] == ' ' || s.body[i] == '\t') {
		i++
	}
	return i
}

// comment handles a line after its '#'.
func (s *scanner) comment(i, end int) error {
	b := s.body
	sharp := i - 1
	if s.om {
		if i >= end || b[i] != ' ' {
			return s.errorf("OpenMetrics comment must start with \"# \"")
		}
		i++
		if string(b[i:end]) == "EOF" {
			s.eof = true
			return nil
		}
	}
	i = s.skipBlank(i, end)
	k := i
	for k < end && b[k] != ' ' && b[k] != '\t' {
		k++
	}
	var keyword string // a constant: string(b[i:k]) would be allocated for the errors below
	switch string(b[i:k]) {
	case "HELP":
		keyword = "HELP"
	case "TYPE":
		keyword = "TYPE"
	case "UNIT":
		if s.om {
			return s.unit(k, end)
		}
		return nil
	default:
		if s.om {
			return s.errorf("unexpected OpenMetrics comment %q", b[i:k])
		}
		return nil // a plain comment
	}
	isHelp := keyword == "HELP"
	i = s.skipBlank(k, end)
	if i == end {
		if s.om {
			return s.errorf("%s without a metric name", keyword)
		}
		return nil
	}
	at := i
	name, quoted, next, err := s.name(i, end, true)
	if err != nil {
		return err
	}
	i = next
	if i < end && b[i] != ' ' && b[i] != '\t' {
		return s.errorf("invalid metric name in %s line", keyword)
	}
	i = s.skipBlank(i, end)
	if i == end && !isHelp {
		return s.errorf("TYPE line for %q without a type", name)
	}
	fi, ok := s.byName[string(name)]
	made := !ok
	if !ok {
		if base, ok := s.memberFamily(name); ok {
			// expfmt reads this line as metadata of the summary or histogram.
			return s.errorf("%s line for %q, a member of %s %q", keyword, name, s.fams[base].typ, s.fams[base].name)
		}
		fi = s.newFamily(name)
	} else if s.om && (fi != s.cur || s.fams[fi].n > 0) {
		return s.errorf("metadata for %q after its samples or in two places", name)
	}
	f := &s.fams[fi]
	s.cur = fi
	if isHelp {
		if f.hasHelp {
			return s.errorf("second HELP line for metric name %q", name)
		}
		if err := s.checkEscapes(i, end); err != nil {
			return err
		}
		f.hasHelp, f.help = true, span{int32(i), int32(end)}
		s.note(sharp, span{int32(at), int32(next)}, fi, made, quoted, true)
		return nil
	}
	if f.typed {
		return s.errorf("second TYPE line for metric name %q", name)
	}
	if f.n > 0 {
		return s.errorf("TYPE line for %q after its samples", name)
	}
	t, ok := parseType(b[i:end], s.om)
	if !ok {
		return s.errorf("unknown metric type %q for %q", b[i:end], name)
	}
	f.typ, f.typed = t, true
	s.note(sharp, span{int32(at), int32(next)}, fi, made, quoted, false)
	return nil
}

func (s *scanner) unit(i, end int) error {
	b := s.body
	if i >= end || b[i] != ' ' {
		return s.errorf("UNIT without a metric name")
	}
	name, _, next, err := s.name(i+1, end, true)
	if err != nil {
		return err
	}
	if next >= end || b[next] != ' ' {
		return s.errorf("UNIT line for %q without a unit", name)
	}
	fi, ok := s.byName[string(name)]
	if !ok {
		fi = s.newFamily(name)
	} else if fi != s.cur || s.fams[fi].n > 0 {
		return s.errorf("metadata for %q after its samples or in two places", name)
	}
	s.cur = fi
	return nil
}

func (s *scanner) newFamily(name []byte) int32 {
	fi := int32(len(s.fams))
	s.fams = append(s.fams, family{name: name, first: -1, last: -1, bare: bareMetricName(name)})
	if s.hashing {
		s.fams[fi].hash = hashBytes(s.seed, name)
	}
	s.byName[string(name)] = fi
	s.named = len(s.fams)
	if !s.suffixed && memberOf(name) != memberExact {
		s.suffixed = true
	}
	return fi
}

// bareMetricName tells whether name may be written unquoted as a metric name.
func bareMetricName(name []byte) bool {
	if len(name) == 0 || nameChars[name[0]]&(nameFirst|nameColon) == 0 {
		return false
	}
	for _, c := range name[1:] {
		if nameChars[c]&(nameRest|nameColon) == 0 {
			return false
		}
	}
	return true
}

// memberOf tells which member suffix name ends with.
func memberOf(name []byte) int {
	for m := memberBucket; m < len(memberSuffixes); m++ {
		if bytes.HasSuffix(name, []byte(memberSuffixes[m])) && len(name) > len(memberSuffixes[m]) {
			return m
		}
	}
	return memberExact
}

// allowed tells whether a family of type t has members with suffix m.
func allowed(t Type, m int, om bool) bool {
	switch t {
	case Histogram:
		return m == memberBucket || m == memberSum || m == memberCount || (om && m == memberCreated)
	case Summary:
		return m == memberSum || m == memberCount || (om && m == memberCreated)
	}
	if !om {
		return false
	}
	switch t {
	case Counter:
		return m == memberTotal || m == memberCreated
	case GaugeHistogram:
		return m == memberBucket || m == memberGSum || m == memberGCount
	case Info:
		return m == memberInfo
	}
	return false
}

// name reads a metric (or, with metric false, label) name at i: bare, or
// quoted with escapes. It returns the unescaped name, whether it was quoted,
// and the index after it.
func (s *scanner) name(i, end int, metric bool) (name []byte, quoted bool, next int, err error) {
	b := s.body
	if i < end && b[i] == '"' {
		j := i + 1
		esc := false
		for ; j < end && b[j] != '"'; j++ {
			if b[j] == '\\' {
				esc = true
				j++
			}
		}
		if j >= end {
			return nil, true, 0, s.errorf("unterminated quoted name")
		}
		name = b[i+1 : j]
		if esc {
			if name, err = s.unescape(i+1, j); err != nil {
				return nil, true, 0, err
			}
		}
		if len(name) == 0 {
			return nil, true, 0, s.errorf("empty quoted name")
		}
		return name, true, j + 1, nil
	}
	// The first character may not be a digit; ':' only in metric names.
	first, rest := byte(nameFirst), byte(nameRest)
	if metric {
		first, rest = nameFirst|nameColon, nameRest|nameColon
	}
	j := i
	if j < end && nameChars[b[j]]&first != 0 {
		j++
		for j < end && nameChars[b[j]]&rest != 0 {
			j++
		}
	}
	if j == i {
		if metric {
			return nil, false, 0, s.errorf("invalid metric name at %q", clip(b[i:end]))
		}
		return nil, false, 0, s.errorf("invalid label name at %q", clip(b[i:end]))
	}
	return b[i:j], false, j, nil
}

// nameChars classifies bytes for names: nameFirst may start a name,
// nameRest may follow, nameColon is ':' (metric names only). A constant
// string, indexed without bounds checks on a byte.
const nameChars = "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x04\x00\x00\x00\x00\x00\x00\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x00\x00\x00\x00\x03\x00\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

const (
	nameFirst = 1 << iota
	nameRest
	nameColon
)

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// unescape decodes \\, \" and \n in b[i:j] into a new slice.
func (s *scanner) unescape(i, j int) ([]byte, error) {
	out := make([]byte, 0, j-i)
	b := s.body
	for k := i; k < j; k++ {
		if b[k] != '\\' {
			out = append(out, b[k])
			continue
		}
		k++
		switch {
		case k < j && (b[k] == '\\' || b[k] == '"'):
			out = append(out, b[k])
		case k < j && b[k] == 'n':
			out = append(out, '\n')
		default:
			return nil, s.errorf("invalid escape sequence in %q", b[i:j])
		}
	}
	return out, nil
}

// checkEscapes validates the escapes of HELP text: \\, \n and \" (which
// expfmt accepts in text HELP too).
func (s *scanner) checkEscapes(i, end int) error {
	b := s.body
	for {
		k := bytes.IndexByte(b[i:end], '\\')
		if k < 0 {
			return nil
		}
		i += k + 1
		if i >= end || (b[i] != '\\' && b[i] != 'n' && b[i] != '"') {
			return s.errorf("invalid escape sequence in HELP text")
		}
		i++
	}
}

// family resolves the family a sample name belongs to, creating an implicit
// one, in the order expfmt's text parser does: exact name first, then the
// summary or histogram it is a member of.
func (s *scanner) family(name []byte) (fi int32, member int, err error) {
	if s.cur >= 0 {
		f := &s.fams[s.cur]
		if bytes.Equal(f.name, name) {
			return s.cur, memberExact, nil
		}
		if len(name) > len(f.name) && bytes.HasPrefix(name, f.name) {
			m := memberOf(name)
			if m != memberExact && len(name) == len(f.name)+len(memberSuffixes[m]) && allowed(f.typ, m, s.om) {
				if !s.suffixed || s.om {
					return s.cur, m, nil
				}
				if _, ok := s.byName[string(name)]; !ok {
					return s.cur, m, nil
				}
			}
		}
	}
	if fi, ok := s.byName[string(name)]; ok {
		if s.om && fi != s.cur {
			return 0, 0, s.errorf("samples of %q are not in one block", name)
		}
		return fi, memberExact, nil
	}
	if fi, ok := s.memberFamily(name); ok {
		return fi, memberOf(name), nil
	}
	fi = s.newFamily(name)
	s.cur = fi
	return fi, memberExact, nil
}

// memberFamily finds the summary or histogram whose member name is, in text
// input.
func (s *scanner) memberFamily(name []byte) (int32, bool) {
	if s.om {
		return 0, false
	}
	m := memberOf(name)
	if m != memberSum && m != memberCount && m != memberBucket {
		return 0, false
	}
	fi, ok := s.byName[string(name[:len(name)-len(memberSuffixes[m])])]
	return fi, ok && allowed(s.fams[fi].typ, m, false)
}

func (s *scanner) sampleLine(i, end int) error {
	b := s.body
	var smp sample
	var name []byte
	var quoted bool
	var err error
	inBraces := b[i] == '{'
	nameStart := i
	if inBraces {
		i = s.skipBlank(i+1, end)
		nameStart = i
		if name, quoted, i, err = s.name(i, end, true); err != nil {
			return err
		}
		smp.name = span{int32(nameStart), int32(i)}
		i = s.skipBlank(i, end)
		if i >= end || (b[i] != ',' && b[i] != '}') {
			return s.errorf("metric name missing in label set")
		}
		if b[i] == ',' {
			i++
		}
		// i now sits inside the braces, at the first label or the '}'.
	} else {
		if b[i] == '"' {
			return s.errorf("quoted metric name outside braces")
		}
		if name, quoted, i, err = s.name(i, end, true); err != nil {
			return err
		}
		smp.name = span{int32(nameStart), int32(i)}
	}
	if quoted {
		smp.flags |= flagQuoted
	}
	fi, member, err := s.family(name)
	if err != nil {
		return err
	}
	f := &s.fams[fi]
	typ := f.typ
	if s.om {
		switch {
		case typ == Counter && member == memberExact:
			return s.errorf("counter %q: sample must end in _total or _created", f.name)
		case typ == Info && member == memberExact:
			return s.errorf("info %q: sample must end in _info", f.name)
		}
		if member == memberCreated {
			smp.flags |= flagCreated
		}
	}
	if typ == Histogram && member == memberExact || typ == GaugeHistogram && member == memberExact {
		return s.errorf("histogram %q: sample %q must end in _bucket, _sum or _count", f.name, name)
	}
	needLE := (typ == Histogram || typ == GaugeHistogram) && member == memberBucket
	needQuantile := typ == Summary && member == memberExact

	var le, quantile span
	s.labels, s.lends = s.labels[:0], s.lends[:0]
	sorted := true
	var prevName []byte
	if !inBraces {
		i = s.skipBlank(i, end)
		if i < end && b[i] == '{' {
			inBraces = true
			i++
		}
	}
	if inBraces {
		first := -1
		last := -1
		for {
			i = s.skipBlank(i, end)
			if i >= end {
				return s.errorf("unterminated label set of %q", name)
			}
			if b[i] == '}' {
				i++
				break
			}
			ls := i
			lname, lquoted, next, err := s.name(i, end, false)
			if err != nil {
				return err
			}
			if lquoted {
				smp.flags |= flagQuoted
			}
			if string(lname) == "__name__" {
				return s.errorf("label name \"__name__\" is reserved")
			}
			i = s.skipBlank(next, end)
			if i >= end || b[i] != '=' {
				return s.errorf("expected '=' after label name %q", lname)
			}
			i = s.skipBlank(i+1, end)
			if i >= end || b[i] != '"' {
				return s.errorf("expected '\"' at start of value of label %q", lname)
			}
			vs := i + 1
			ve, err := s.labelValue(vs, end)
			if err != nil {
				return err
			}
			i = ve + 1
			if first < 0 {
				first = ls
			}
			last = i
			// Labels in ascending order (as client libraries write them)
			// cannot repeat a name: only others need the full check.
			if sorted && len(s.labels) > 0 && bytes.Compare(prevName, lname) >= 0 {
				sorted = false
			}
			if !sorted {
				for _, o := range s.labels {
					if s.sameLabelName(o, lname) {
						return s.errorf("duplicate label name %q in %q", lname, name)
					}
				}
			}
			prevName = lname
			s.labels = append(s.labels, span{int32(ls), int32(next)})
			s.lends = append(s.lends, int32(i))
			for _, r := range s.reserved {
				if bytes.Equal(r, lname) {
					smp.flags |= flagReserved
				}
			}
			switch {
			case needLE && string(lname) == "le":
				le = span{int32(vs), int32(ve)}
			case needQuantile && string(lname) == "quantile":
				quantile = span{int32(vs), int32(ve)}
			}
			i = s.skipBlank(i, end)
			if i < end && b[i] == ',' {
				i++
				continue
			}
			if i < end && b[i] == '}' {
				i++
				break
			}
			return s.errorf("expected ',' or '}' after value of label %q", lname)
		}
		if first >= 0 {
			smp.labels = span{int32(first), int32(last)}
		}
		i = s.skipBlank(i, end)
	} else if i > int(smp.name.hi) && i == end {
		return s.errorf("trailing whitespace after %q", name)
	}
	if needLE {
		if le.lo == 0 {
			return s.errorf("histogram bucket %q without an le label", name)
		}
		if !validFloat(b[le.lo:le.hi]) {
			return s.errorf("invalid le label value %q", b[le.lo:le.hi])
		}
	}
	if needQuantile {
		if quantile.lo == 0 {
			return s.errorf("summary %q: sample without a quantile label", name)
		}
		if !validFloat(b[quantile.lo:quantile.hi]) {
			return s.errorf("invalid quantile label value %q", b[quantile.lo:quantile.hi])
		}
	}
	if i >= end {
		return s.errorf("missing value for %q", name)
	}
	if i == int(smp.name.hi) && !inBraces {
		return s.errorf("invalid character %q in metric name %q", b[i], name)
	}
	vs := i
	for i < end && b[i] != ' ' && b[i] != '\t' {
		i++
	}
	smp.value = span{int32(vs), int32(i)}
	v := b[vs:i]
	if !validFloat(v) {
		return s.errorf("invalid value %q for %q", v, name)
	}
	if (member == memberBucket || member == memberCount) && (typ == Histogram || typ == GaugeHistogram) && v[0] == '-' {
		return s.errorf("negative count %q in histogram %q", v, f.name)
	}
	if err := s.rest(&smp, i, end, name); err != nil {
		return err
	}
	smp.fam = fi
	smp.member = uint8(member)
	if s.hashing {
		smp.hash = s.seriesHash(name)
	}
	s.add(f, fi, smp)
	return nil
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
	s.cur = fi
	s.samples = append(s.samples, smp)
}

// seriesHash hashes a sample's series, the same for the same name and
// label set in any order: the name's hash plus each label's as written.
func (s *scanner) seriesHash(name []byte) uint64 {
	h := hashBytes(s.seed, name)
	for k, l := range s.labels {
		h += hashBytes(s.seed, s.body[l.lo:s.lends[k]])
	}
	return h
}

func (s *scanner) sameLabelName(ls span, name []byte) bool {
	if s.body[ls.lo] != '"' {
		return bytes.Equal(s.body[ls.lo:ls.hi], name)
	}
	n, _, _, _ := s.name(int(ls.lo), int(ls.hi), false)
	return bytes.Equal(n, name)
}

// labelValue finds the closing quote of a label value starting at vs.
// Values are short: a byte loop beats two IndexByte calls.
func (s *scanner) labelValue(vs, end int) (int, error) {
	b := s.body[:end]
	k := vs
	// Eight bytes at a time while none is a quote or a backslash.
	for ; k+8 <= len(b); k += 8 {
		x := binary.LittleEndian.Uint64(b[k:])
		if hasByte(x, '"')|hasByte(x, '\\') != 0 {
			break
		}
	}
	for ; k < len(b); k++ {
		switch b[k] {
		case '"':
			return k, nil
		case '\\':
			k++
			if k >= end || (b[k] != '\\' && b[k] != '"' && b[k] != 'n') {
				if bytes.IndexByte(b[vs:], '"') < 0 {
					return 0, s.errorf("unterminated label value")
				}
				return 0, s.errorf("invalid escape sequence in label value")
			}
		}
	}
	return 0, s.errorf("unterminated label value")
}

// hasByte is non-zero when one of the eight bytes of x is c.
func hasByte(x uint64, c byte) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	y := x ^ (lo * uint64(c))
	return (y - lo) &^ y & hi
}

// rest reads what follows a sample's value: a timestamp, and in OpenMetrics
// an exemplar.
func (s *scanner) rest(smp *sample, i, end int, name []byte) error {
	b := s.body
	if i == end {
		return nil
	}
	if s.om {
		if b[i] != ' ' || i+1 >= end {
			return s.errorf("trailing whitespace after value of %q", name)
		}
		i++
		if b[i] != '#' {
			ts := i
			for i < end && b[i] != ' ' {
				i++
			}
			if !validFloat(b[ts:i]) {
				return s.errorf("invalid timestamp %q for %q", b[ts:i], name)
			}
			smp.ts = span{int32(ts), int32(i)}
			smp.flags |= flagOMTime
			if i == end {
				return nil
			}
			if i+1 >= end || b[i+1] != '#' {
				return s.errorf("unexpected text after timestamp of %q", name)
			}
			i++
		}
		return s.exemplar(i, end, name)
	}
	i = s.skipBlank(i, end)
	if i == end {
		return s.errorf("trailing whitespace after value of %q", name)
	}
	ts := i
	for i < end && b[i] != ' ' && b[i] != '\t' {
		i++
	}
	if !validInt(b[ts:i]) {
		return s.errorf("invalid timestamp %q for %q", b[ts:i], name)
	}
	smp.ts = span{int32(ts), int32(i)}
	if i != end {
		return s.errorf("unexpected text after timestamp of %q", name)
	}
	return nil
}

// exemplar validates an OpenMetrics exemplar "# {labels} value [timestamp]" at i.
func (s *scanner) exemplar(i, end int, name []byte) error {
	b := s.body
	if end-i < 4 || string(b[i:i+3]) != "# {" {
		return s.errorf("invalid exemplar for %q", name)
	}
	i += 3
	for {
		if i >= end {
			return s.errorf("unterminated exemplar label set for %q", name)
		}
		if b[i] == '}' {
			i++
			break
		}
		_, _, next, err := s.name(i, end, false)
		if err != nil {
			return err
		}
		if next >= end-1 || b[next] != '=' || b[next+1] != '"' {
			return s.errorf("invalid exemplar label for %q", name)
		}
		ve, err := s.labelValue(next+2, end)
		if err != nil {
			return err
		}
		i = ve + 1
		if i < end && b[i] == ',' {
			i++
		}
	}
	parts := bytes.Split(b[i:end], []byte(" "))
	if len(parts) < 2 || len(parts) > 3 || len(parts[0]) != 0 {
		return s.errorf("invalid exemplar value for %q", name)
	}
	for _, p := range parts[1:] {
		if !validFloat(p) {
			return s.errorf("invalid exemplar value %q for %q", p, name)
		}
	}
	return nil
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

// validFloat accepts what Prometheus' parsers accept as a sample value.
func validFloat(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if ok, sure := simpleFloat(b); sure {
		return ok
	}
	if bytes.ContainsAny(b, "pP_") {
		return false
	}
	_, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	return err == nil
}

// simpleFloat checks the common value forms without strconv: an optional
// sign, digits with at most one '.', and an optional exponent of at most two
// digits ("1027", "-0.25", "1.5e-07"). Within those bounds no value
// overflows, so such a form is valid. sure is false for anything else
// (Inf, NaN, hex, long exponents...), which ParseFloat must judge.
func simpleFloat(b []byte) (ok, sure bool) {
	n := plainEnd(b)
	plain := n > 0 && n == len(b)
	return plain, plain
}

// plainEnd is where the plain decimal that b starts with ends (the form
// simpleFloat is sure of), or 0 when b does not start with one: no digits,
// more than 200, or an exponent without one or two digits.
func plainEnd(b []byte) int {
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		i++
	}
	digits, dot := 0, false
	for ; i < len(b); i++ {
		if c := b[i]; c >= '0' && c <= '9' {
			digits++
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
	}
	if digits == 0 || digits > 200 {
		return 0
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			i++
		}
		e := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if n := i - e; n < 1 || n > 2 {
			return 0
		}
	}
	return i
}

func validInt(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if digits(b) {
		return true
	}
	_, err := strconv.ParseInt(unsafe.String(&b[0], len(b)), 10, 64)
	return err == nil
}

// digits tells whether b is a short run of decimal digits with an optional
// minus sign: the common case, checked without strconv.
func digits(b []byte) bool {
	i := 0
	if b[0] == '-' {
		i = 1
	}
	if len(b)-i == 0 || len(b)-i > 18 {
		return false
	}
	for ; i < len(b); i++ {
		if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	return true
}

// hashBytes is a fast 64-bit hash of b for the merge's deduplication, which
// verifies every match: a collision costs a comparison, never a series.
// Short inputs (most labels) take one multiplication.
func hashBytes(seed uint64, b []byte) uint64 {
	const p0, p1, p2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	n := len(b)
	h := seed ^ uint64(n)*p0
	var x, y uint64
	switch {
	case n >= 16:
		for i := 0; i+16 < n; i += 16 {
			h = mix(binary.LittleEndian.Uint64(b[i:])^p1, binary.LittleEndian.Uint64(b[i+8:])^h)
		}
		// The last 16 bytes, overlapping what was mixed.
		x, y = binary.LittleEndian.Uint64(b[n-16:]), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 8:
		x, y = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		x, y = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		x, y = uint64(b[0])<<16|uint64(b[n>>1])<<8|uint64(b[n-1]), 0
	}
	return mix(x^p1, y^h^p2)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
