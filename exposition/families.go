package exposition

import (
	"bytes"
)

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

// family resolves the family a sample name belongs to, creating an implicit
// one, in the order expfmt's text parser does: exact name first, then the
// summary or histogram it is a member of. In OpenMetrics, as Prometheus
// reads it, a sample of another name inside a family's block does not end
// the block: a member of the family of the last TYPE line still belongs to
// it.
func (s *scanner) family(name []byte) (fi int32, member int, err error) {
	if s.cur >= 0 {
		if m, ok := s.memberIn(s.cur, name); ok {
			return s.cur, m, nil
		}
	}
	if s.om && s.block >= 0 && s.block != s.cur {
		if m, ok := s.memberIn(s.block, name); ok && m != memberExact {
			return s.block, m, nil
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

// memberIn tells whether a sample named name belongs to family fi, the
// family of the line before or of the block, and as which member.
func (s *scanner) memberIn(fi int32, name []byte) (int, bool) {
	f := &s.fams[fi]
	if bytes.Equal(f.name, name) {
		return memberExact, true
	}
	if len(name) > len(f.name) && bytes.HasPrefix(name, f.name) {
		m := memberOf(name)
		if m != memberExact && len(name) == len(f.name)+len(memberSuffixes[m]) && allowed(f.typ, m, s.om) {
			if !s.suffixed || s.om {
				return m, true
			}
			if _, ok := s.byName[string(name)]; !ok {
				return m, true
			}
		}
	}
	return 0, false
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
