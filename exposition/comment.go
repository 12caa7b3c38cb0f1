package exposition

import "bytes"

// comment handles a line after its '#'. Its blanks are read as Prometheus'
// lexers read them: in text, HELP and TYPE only after '#' and blanks ("#TYPE"
// is a comment), blanks before the name, and exactly one between the name
// and a TYPE's type; in OpenMetrics, exactly one space between the parts.
func (s *scanner) comment(i, end int) error {
	if s.om {
		return s.omComment(i, end)
	}
	b := s.body
	sharp := i - 1
	keyword, k := s.textKeyword(i, end)
	if keyword == "" {
		if bytes.IndexByte(b[i:end], 0) >= 0 {
			return s.nulError()
		}
		if end-i > 4 && (string(b[i:i+4]) == "HELP" || string(b[i:i+4]) == "TYPE") && (b[i+4] == ' ' || b[i+4] == '\t') {
			// Prometheus reads "#TYPE m gauge" as a comment, expfmt as a
			// TYPE line: refused, under the README's stricter rule.
			return s.stricterf(StricterHashKeyword, "%s right after '#': a comment to Prometheus, metadata to expfmt", b[i:i+4])
		}
		return nil // a plain comment
	}
	i = s.skipBlank(k, end)
	if i == end {
		return s.errorf("%s without a metric name", keyword)
	}
	if err := s.metaNUL(keyword, sharp, i, end, false); err != nil {
		return err
	}
	at := i
	name, quoted, next, err := s.metaName(i, end, true)
	if err != nil {
		return err
	}
	if next < end && b[next] != ' ' && b[next] != '\t' {
		if keyword != "HELP" || quoted || b[next] != '"' {
			// Prometheus reads "# TYPE m.gauge" as a TYPE for m; expfmt
			// refuses it, and so does corral, under the expfmt rule.
			return s.errorf("invalid metric name in %s line", keyword)
		}
		if name, next, err = s.helpNameOn(name, next, end); err != nil {
			return err
		}
		quoted = true
	}
	text := next
	if keyword == "HELP" {
		text = s.skipBlank(next, end)
	} else if next < end {
		text = next + 1 // Prometheus' type is all after one blank
	}
	return s.meta(keyword, sharp, span{int32(at), int32(next)}, name, quoted, text, end)
}

// helpNameOn reads a text HELP line's bare name that runs into a quote
// (# HELP m".x" help) as expfmt does, on through the quoted part (m.x),
// which must be followed by a blank or the end of the line; next is the
// quote's index. Prometheus reads the line as a HELP for m, with the text
// after the quote; the two read other families, neither's series differ,
// and corral takes expfmt's reading, so that a second HELP for m.x is
// refused as expfmt refuses it.
func (s *scanner) helpNameOn(bare []byte, next, end int) ([]byte, int, error) {
	b := s.body
	rest, _, after, err := s.metaName(next, end, true)
	if err != nil || after < end && b[after] != ' ' && b[after] != '\t' {
		return nil, 0, s.errorf("invalid metric name in HELP line")
	}
	return append(append(make([]byte, 0, len(bare)+len(rest)), bare...), rest...), after, nil
}

// textKeyword reads the HELP or TYPE keyword of a text comment line after
// its '#' at i: "HELP" or "TYPE" with the blank after it at k, or "" for a
// plain comment. Prometheus' lexer takes the keyword only between blanks.
func (s *scanner) textKeyword(i, end int) (keyword string, k int) {
	b := s.body
	if i >= end || b[i] != ' ' && b[i] != '\t' {
		return "", 0
	}
	i = s.skipBlank(i, end)
	if end-i < 5 || b[i+4] != ' ' && b[i+4] != '\t' {
		return "", 0
	}
	switch string(b[i : i+4]) {
	case "HELP":
		return "HELP", i + 4
	case "TYPE":
		return "TYPE", i + 4
	}
	return "", 0
}

// plainComment tells whether the text line b[pos:end] is a plain comment.
func (s *scanner) plainComment(pos, end int) bool {
	i := s.skipBlank(pos, end)
	if i >= end || s.body[i] != '#' {
		return false
	}
	keyword, _ := s.textKeyword(i+1, end)
	return keyword == ""
}

// omComment handles an OpenMetrics line after its '#': "# EOF", or
// "# HELP|TYPE|UNIT name text" with one space between the parts.
func (s *scanner) omComment(i, end int) error {
	b := s.body
	sharp := i - 1
	if i >= end || b[i] != ' ' {
		return s.errorf("OpenMetrics comment must start with \"# \"")
	}
	i++
	if rest := b[i:end]; len(rest) >= 3 && string(rest[:3]) == "EOF" && allNUL(rest[3:]) {
		s.eof = true // Prometheus' lexer skips NUL bytes after EOF
		return nil
	}
	k := i
	for k < end && b[k] != ' ' {
		k++
	}
	var keyword string // a constant: string(b[i:k]) would be allocated for the errors below
	switch string(b[i:k]) {
	case "HELP":
		keyword = "HELP"
	case "TYPE":
		keyword = "TYPE"
	case "UNIT":
		keyword = "UNIT"
	default:
		if bytes.IndexByte(b[i:end], 0) >= 0 {
			return s.nulError() // "# H\x00ELP" is a HELP line to Prometheus
		}
		return s.errorf("unexpected OpenMetrics comment %q", b[i:k])
	}
	if k == end {
		return s.errorf("%s without a metric name", keyword)
	}
	i = k + 1
	if err := s.metaNUL(keyword, sharp, i, end, true); err != nil {
		return err
	}
	name, quoted, next, err := s.metaName(i, end, true)
	if err != nil {
		return err
	}
	if next >= end || b[next] != ' ' {
		return s.errorf("%s line for %q: the name must be followed by one space and the text", keyword, name)
	}
	return s.meta(keyword, sharp, span{int32(i), int32(next)}, name, quoted, next+1, end)
}

// metaNUL refuses a NUL byte in a HELP, TYPE or UNIT line whose name
// starts at i, but in a HELP line's text. Prometheus' lexers skip NUL
// bytes in places (before the name, inside the keyword) and stop at them
// in others; the README's stricter rule refuses them all.
func (s *scanner) metaNUL(keyword string, sharp, i, end int, om bool) error {
	b := s.body
	nul := bytes.IndexByte(b[sharp:end], 0)
	if nul < 0 || s.converted {
		return nil
	}
	if keyword != "HELP" {
		return s.nulError()
	}
	_, _, next, err := s.metaName(i, end, true)
	if err != nil || next >= end || b[next] != ' ' && (om || b[next] != '\t') || sharp+nul <= next {
		return s.nulError()
	}
	return nil
}

func (s *scanner) nulError() error {
	return s.stricterf(StricterNUL, "NUL byte in a comment line (other than in HELP text)")
}

// meta applies a HELP, TYPE or UNIT line, its '#' at sharp, for family
// name (at span at in the body), whose text runs from text to end.
func (s *scanner) meta(keyword string, sharp int, at span, name []byte, quoted bool, text, end int) error {
	b := s.body
	if keyword == "UNIT" {
		return s.unit(name, text, end)
	}
	isHelp := keyword == "HELP"
	if !isHelp && text >= end {
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
		return s.stricterf(StricterBlock, "metadata for %q after its samples or in two places", name)
	}
	f := &s.fams[fi]
	s.cur, s.metaFam = fi, fi
	if isHelp {
		if text == end && !s.om {
			return nil // an empty HELP says nothing: expfmt takes another HELP after it
		}
		if f.hasHelp {
			return s.twiceError("second HELP line for metric name %q", name)
		}
		if err := s.checkEscapes(text, end); err != nil {
			return err
		}
		f.hasHelp, f.help = true, span{int32(text), int32(end)}
		s.note(sharp, at, fi, made, quoted, true)
		return nil
	}
	if f.typed {
		return s.twiceError("second TYPE line for metric name %q", name)
	}
	if f.n > 0 {
		return s.errorf("TYPE line for %q after its samples", name)
	}
	t, ok := parseType(b[text:end], s.om)
	if !ok {
		return s.errorf("unknown metric type %q for %q", b[text:end], name)
	}
	f.typ, f.typed = t, true
	s.typeLine(sharp, fi)
	s.note(sharp, at, fi, made, quoted, false)
	return nil
}

// twiceError refuses a second HELP or TYPE line for a family: in text as
// expfmt refuses it, in OpenMetrics under the README's stricter rule
// (Prometheus reads the samples after it with the second type).
func (s *scanner) twiceError(format string, name []byte) error {
	if s.om {
		return s.stricterf(StricterMetaTwice, format, name)
	}
	return s.errorf(format, name)
}

// unit applies an OpenMetrics UNIT line, whose unit runs from text to end.
func (s *scanner) unit(name []byte, text, end int) error {
	if unit := s.body[text:end]; len(unit) > 0 && (len(name) <= len(unit) || !bytes.HasSuffix(name, unit) || name[len(name)-len(unit)-1] != '_') {
		return s.errorf("unit %q not a suffix of metric %q", unit, name)
	}
	fi, ok := s.byName[string(name)]
	if !ok {
		fi = s.newFamily(name)
	} else if fi != s.cur || s.fams[fi].n > 0 {
		return s.stricterf(StricterBlock, "metadata for %q after its samples or in two places", name)
	}
	s.fams[fi].unit = span{int32(text), int32(end)}
	s.cur, s.metaFam = fi, fi
	return nil
}

// typeLine records that the TYPE line at sharp gave family fi its type:
// Prometheus reads every sample after it, of whatever name, as of that
// type (it writes the le of a histogram's, the quantile of a summary's,
// in canonical form), until the next TYPE line.
func (s *scanner) typeLine(sharp int, fi int32) {
	if s.block < 0 {
		s.typedAt = sharp
	}
	s.mtype, s.block = s.fams[fi].typ, fi
}
