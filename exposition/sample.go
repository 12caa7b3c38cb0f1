package exposition

import (
	"bytes"
	"math"
	"strconv"
)

// sampleLine scans a sample line the fast path did not take: its name,
// the family and member it belongs to, its label set, its value, and what
// follows the value.
func (s *scanner) sampleLine(i, end int) error {
	var smp sample
	name, inBraces, i, err := s.metricName(&smp, i, end)
	if err != nil {
		return err
	}
	fi, member, err := s.family(name)
	if err != nil {
		return err
	}
	f := &s.fams[fi]
	if err := s.checkMember(&smp, f, member, name); err != nil {
		return err
	}
	if !inBraces {
		i = s.blank(i, end)
		if i < end && s.body[i] == '{' {
			inBraces = true
			i++
		}
	}
	s.labels = s.labels[:0]
	if inBraces {
		nameAt := -1
		if smp.name.lo > int32(i) {
			nameAt = int(smp.name.lo) // inside the braces, after a label
		}
		if i, err = s.labelSet(&smp, i, end, name, nameAt); err != nil {
			return err
		}
		i = s.blank(i, end)
	} else if i > int(smp.name.hi) && i == end {
		return s.errorf("trailing whitespace after %q", name)
	}
	if err := s.checkBounds(&smp, f, member); err != nil {
		return err
	}
	if s.om {
		// One space before the value, as Prometheus' OpenMetrics lexer has it.
		if i >= end || s.body[i] != ' ' {
			return s.errorf("expected one space before the value of %q", name)
		}
		i++
	}
	// In text the value may follow a bare name with no blank ("a-3"), as
	// Prometheus' lexer and expfmt read it.
	smp.flags |= s.canonFlags()
	if i >= end {
		return s.errorf("missing value for %q", name)
	}
	if i, err = s.value(&smp, f, member, i, end, name); err != nil {
		return err
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

// metricName reads a sample's metric name at i, bare before the braces or
// quoted as the first item inside them. It returns the unescaped name,
// whether the braces are open, and where the labels (or the value) start.
func (s *scanner) metricName(smp *sample, i, end int) (name []byte, inBraces bool, next int, err error) {
	b := s.body
	var quoted bool
	if b[i] == '{' {
		// Prometheus takes a name inside the braces quoted only, first or
		// after labels: a quoted string followed by ',' or '}'.
		at, err := s.findName(i+1, end)
		if err != nil {
			return nil, false, 0, err
		}
		var next int
		if name, quoted, next, err = s.name(at, end, true); err != nil {
			return nil, false, 0, err
		}
		smp.name = span{int32(at), int32(next)}
		if i = s.blank(i+1, end); i == at {
			// The name first: the labels start after it.
			if i = s.blank(next, end); b[i] == ',' {
				i++
			}
		}
		inBraces = true // i sits inside the braces, at the first label or the '}'
	} else {
		if b[i] == '"' {
			return nil, false, 0, s.errorf("quoted metric name outside braces")
		}
		start := i
		if name, quoted, i, err = s.name(i, end, true); err != nil {
			return nil, false, 0, err
		}
		smp.name = span{int32(start), int32(i)}
	}
	if quoted {
		smp.flags |= flagQuoted
	}
	return name, inBraces, i, nil
}

// findName finds the metric name in the label set that starts at i (after
// the '{' of a line that starts with it): the quoted string followed by ','
// or '}'.
func (s *scanner) findName(i, end int) (int, error) {
	b := s.body
	for {
		if i = s.blank(i, end); i >= end || b[i] == '}' {
			return 0, s.errorf("metric name missing in label set")
		}
		at := i
		lname, quoted, next, err := s.name(i, end, false)
		if err != nil {
			return 0, err
		}
		if i = s.blank(next, end); quoted && i < end && (b[i] == ',' || b[i] == '}') {
			return at, nil
		}
		if i >= end || b[i] != '=' {
			return 0, s.errorf("expected '=' after label name %q", lname)
		}
		if i = s.blank(i+1, end); i >= end || b[i] != '"' {
			return 0, s.errorf("expected '\"' at start of value of label %q", lname)
		}
		ve, err := s.labelValue(i+1, end)
		if err != nil {
			return 0, err
		}
		if i = s.blank(ve+1, end); i < end && b[i] == ',' {
			i++
		}
	}
}

// blank skips the blanks at i in text; OpenMetrics allows none where
// text allows any.
func (s *scanner) blank(i, end int) int {
	if s.om {
		return i
	}
	return s.skipBlank(i, end)
}

// checkMember applies the rules of family f's type to a sample that is its
// member (memberExact, memberBucket...).
func (s *scanner) checkMember(smp *sample, f *family, member int, name []byte) error {
	typ := f.typ
	if s.om {
		// Prometheus' OpenMetrics parser reads these as series; the
		// specification refuses them (a README stricter rule).
		switch {
		case typ == Counter && member == memberExact:
			return s.stricterf(StricterSuffix, "counter %q: sample must end in _total or _created", f.name)
		case typ == Info && member == memberExact:
			return s.stricterf(StricterSuffix, "info %q: sample must end in _info", f.name)
		}
		if member == memberCreated {
			smp.flags |= flagCreated
		}
	}
	if typ == Histogram && member == memberExact || typ == GaugeHistogram && member == memberExact {
		if !s.om {
			smp.flags |= flagShape // Prometheus' text parser takes it as a series
			return nil
		}
		return s.stricterf(StricterSuffix, "histogram %q: sample %q must end in _bucket, _sum or _count", f.name, name)
	}
	return nil
}

// labelSet reads the labels from i, just inside the braces, to the closing
// brace, and reports where it ends. The labels go to s.labels. The metric
// name quoted at nameAt (-1: none) is among them, and skipped.
func (s *scanner) labelSet(smp *sample, i, end int, name []byte, nameAt int) (int, error) {
	b := s.body
	first, last := -1, -1
	sorted := true
	for {
		i = s.blank(i, end)
		if i >= end {
			return 0, s.errorf("unterminated label set of %q", name)
		}
		if b[i] == '}' {
			i++
			break
		}
		ls := i
		if ls == nameAt {
			// findName checked that ',' or '}' follows.
			if i = s.blank(int(smp.name.hi), end); b[i] == ',' {
				i++
				continue
			}
			i++
			break
		}
		lname, lquoted, next, err := s.name(i, end, false)
		if err != nil {
			return 0, err
		}
		if lquoted {
			smp.flags |= flagQuoted
		}
		if string(lname) == "__name__" {
			return 0, s.errorf("label name \"__name__\" is reserved")
		}
		i = s.blank(next, end)
		if i >= end || b[i] != '=' {
			return 0, s.errorf("expected '=' after label name %q", lname)
		}
		i = s.blank(i+1, end)
		if i >= end || b[i] != '"' {
			return 0, s.errorf("expected '\"' at start of value of label %q", lname)
		}
		vs := i + 1
		ve, err := s.labelValue(vs, end)
		if err != nil {
			return 0, err
		}
		i = ve + 1
		if first < 0 {
			first = ls
		}
		last = i
		// Labels in ascending order (as client libraries write them)
		// cannot repeat a name: only others need the full check.
		if n := len(s.labels); sorted && n > 0 && bytes.Compare(s.labels[n-1].name, lname) >= 0 {
			sorted = false
		}
		if !sorted {
			for _, o := range s.labels {
				if bytes.Equal(o.name, lname) {
					return 0, s.errorf("duplicate label name %q in %q", lname, name)
				}
			}
		}
		s.labels = append(s.labels, label{name: lname, value: span{int32(vs), int32(ve)}, raw: !lquoted && vs == next+2})
		for _, r := range s.reserved {
			if bytes.Equal(r, lname) {
				smp.flags |= flagReserved
			}
		}
		i = s.blank(i, end)
		if i < end && b[i] == ',' {
			i++
			continue
		}
		if i < end && b[i] == '}' {
			i++
			break
		}
		return 0, s.errorf("expected ',' or '}' after value of label %q", lname)
	}
	if first >= 0 {
		smp.labels = span{int32(first), int32(last)}
	}
	return i, nil
}

// label is one label of the sample being scanned: its unescaped name and
// its value as written, between the quotes.
type label struct {
	name  []byte
	value span
	raw   bool // name="value" lies in the body as written: a bare name, no blanks
}

// find is the value of the label of the current sample named n, if any.
func (s *scanner) find(n string) (span, bool) {
	for _, l := range s.labels {
		if string(l.name) == n {
			return l.value, true
		}
	}
	return span{}, false
}

// value reads a sample's value at i and reports where it ends.
func (s *scanner) value(smp *sample, f *family, member, i, end int, name []byte) (int, error) {
	b := s.body
	vs := i
	for i < end && b[i] != ' ' && (b[i] != '\t' || s.om) {
		i++
	}
	smp.value = span{int32(vs), int32(i)}
	v := b[vs:i]
	if !validFloat(v) {
		return 0, s.errorf("invalid value %q for %q", v, name)
	}
	// A bucket without le is a plain series to Prometheus (flagShape): its
	// value may be anything. expfmt reads a sample of the family's own
	// name with an le as a bucket (where Prometheus reads a plain series).
	if (f.typ == Histogram || f.typ == GaugeHistogram) && v[0] == '-' && s.counts(member) {
		if s.converted {
			// Prometheus reads a protobuf float count as it is: the
			// family is valid, only the merge leaves it out (collect).
			f.negative = true
			return i, nil
		}
		return 0, s.errorf("negative count %q in histogram %q", v, f.name)
	}
	return i, nil
}

// counts tells whether the current sample, a member of a histogram, is one
// of its counts as expfmt reads them: its count, or a bucket (by its le,
// under the family's own name too).
func (s *scanner) counts(member int) bool {
	switch member {
	case memberCount:
		return true
	case memberBucket, memberExact:
		_, le := s.find("le")
		return le
	}
	return false
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
			if err := s.omTimestamp(b[ts:i], name); err != nil {
				return err
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
	if !validTimestamp(b[ts:i]) {
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
		label, _, next, err := s.metaName(i, end, false)
		if err != nil {
			return err
		}
		if len(label) == 0 {
			// Prometheus refuses it in a series' labels, but does not
			// check an exemplar's.
			return s.stricterf(StricterExemplarName, "empty label name in an exemplar for %q", name)
		}
		if next >= end-1 || b[next] != '=' || b[next+1] != '"' {
			return s.errorf("invalid exemplar label for %q", name)
		}
		ve, err := s.labelValue(next+2, end)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b[next+2:ve], 0) >= 0 {
			// Prometheus' lexer takes a series' label value with one,
			// but not an exemplar's.
			return s.errorf("NUL byte in an exemplar label value for %q", name)
		}
		i = ve + 1
		switch {
		case i < end && b[i] == ',':
			i++
		case i < end && b[i] != '}':
			return s.errorf("expected ',' or '}' after exemplar label for %q", name)
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
	if len(parts) == 3 {
		if ts, _ := strconv.ParseFloat(string(parts[2]), 64); math.IsNaN(ts) || math.IsInf(ts, 0) {
			return s.errorf("invalid exemplar timestamp %q for %q", parts[2], name)
		}
	}
	return nil
}

// omTimestamp checks an OpenMetrics timestamp (seconds, a float): finite,
// as Prometheus has it, and, stricter, one the text format corral writes
// can carry (milliseconds, not negative, within int64).
func (s *scanner) omTimestamp(ts, name []byte) error {
	if !validFloat(ts) {
		return s.errorf("invalid timestamp %q for %q", ts, name)
	}
	v, _ := strconv.ParseFloat(string(ts), 64)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return s.errorf("invalid timestamp %q for %q", ts, name)
	case v < 0 || v*1000 >= math.MaxInt64:
		return s.stricterf(StricterTimestamp, "timestamp %q for %q out of the text format's range", ts, name)
	}
	return nil
}
