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
// one, as Prometheus reads families: a sample is a member (_bucket, _sum,
// _count...) of the family of the last TYPE line, and only of that one,
// even after samples of other names; any other sample is of the family of
// its exact name. Where expfmt's text parser reads a sample by the family
// of its exact name first (foo_count after a gauge foo_count, inside
// summary foo's lines), so does the text scan.
func (s *scanner) family(name []byte) (fi int32, member int, err error) {
	if s.cur >= 0 {
		if m, ok := s.memberIn(s.cur, name); ok && (m == memberExact || s.cur == s.block) {
			return s.cur, m, nil
		}
	}
	if s.block >= 0 && s.block != s.cur {
		if m, ok := s.memberIn(s.block, name); ok && m != memberExact {
			if s.om && s.metaFam != s.block {
				// Another family's metadata stands between, next to the
				// sample or before samples of other families: Prometheus
				// reads the sample with the TYPE line's type, but its
				// start timestamp by the name length of the last HELP,
				// TYPE or UNIT line, another family's (and finds none).
				return 0, 0, s.stricterf(StricterBlock, "samples of %q are not in one block", s.fams[s.block].name)
			}
			return s.block, m, nil
		}
	}
	if s.om && s.block >= 0 {
		if err := s.otherMember(name); err != nil {
			return 0, 0, err
		}
	}
	if fi, ok := s.byName[string(name)]; ok {
		if s.om && fi != s.cur {
			return 0, 0, s.stricterf(StricterBlock, "samples of %q are not in one block", name)
		}
		return fi, memberExact, nil
	}
	fi = s.newFamily(name)
	s.cur = fi
	return fi, memberExact, nil
}

// otherMember refuses, in OpenMetrics, a sample named as a member the type
// of the last TYPE line's family has not (gh_sum of a gauge histogram gh,
// c_sum of a counter c): Prometheus reads it with that type, as part of
// the family (with its start timestamp), where corral would read another
// family; the specification refuses it (the README's suffix rule).
func (s *scanner) otherMember(name []byte) error {
	f := &s.fams[s.block]
	if !allowed(f.typ, memberCreated, true) && f.typ != GaugeHistogram && f.typ != Info {
		return nil // a type without members: any name is a family of its own
	}
	m := memberOf(name)
	if m == memberExact || len(name) != len(f.name)+len(memberSuffixes[m]) || !bytes.HasPrefix(name, f.name) || allowed(f.typ, m, true) {
		return nil
	}
	return s.stricterf(StricterSuffix, "%s %q: sample %q is not one of its members", f.typ, f.name, name)
}

// memberIn tells whether a sample named name belongs to family fi, the
// family of the line before or of the last TYPE line, and as which member.
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
// input: a HELP or TYPE line for it is one for that family to expfmt.
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
