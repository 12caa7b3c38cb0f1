package exposition

import "bytes"

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
		if i == end && !s.om {
			return nil // an empty HELP says nothing: expfmt takes another HELP after it
		}
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
	if unit := b[next+1 : end]; len(unit) > 0 && (len(name) <= len(unit) || !bytes.HasSuffix(name, unit) || name[len(name)-len(unit)-1] != '_') {
		return s.errorf("unit %q not a suffix of metric %q", unit, name)
	}
	fi, ok := s.byName[string(name)]
	if !ok {
		fi = s.newFamily(name)
	} else if fi != s.cur || s.fams[fi].n > 0 {
		return s.errorf("metadata for %q after its samples or in two places", name)
	}
	s.fams[fi].unit = span{int32(next + 1), int32(end)}
	s.cur = fi
	return nil
}
