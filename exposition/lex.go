package exposition

import (
	"bytes"
	"encoding/binary"
)

func (s *scanner) skipBlank(i, end int) int {
	for i < end && (s.body[i] == ' ' || s.body[i] == '\t') {
		i++
	}
	return i
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

// name reads a metric (or, with metric false, label) name at i: bare, or
// quoted with escapes. It returns the unescaped name, whether it was quoted,
// and the index after it. An empty quoted name is refused.
func (s *scanner) name(i, end int, metric bool) (name []byte, quoted bool, next int, err error) {
	name, quoted, next, err = s.metaName(i, end, metric)
	if err == nil && len(name) == 0 {
		return nil, true, 0, s.errorf("empty quoted name")
	}
	return name, quoted, next, err
}

// metaName is name that takes an empty quoted name (""), as Prometheus'
// lexers and expfmt do in a HELP, TYPE or UNIT line.
func (s *scanner) metaName(i, end int, metric bool) (name []byte, quoted bool, next int, err error) {
	b := s.body
	if i < end && b[i] == '"' {
		j := i + 1
		esc, nul := false, false
		for ; j < end && b[j] != '"'; j++ {
			switch b[j] {
			case '\\':
				esc = true
				j++
			case 0:
				nul = true
			}
		}
		if j >= end {
			// Prometheus' lexers read a newline in a quoted name as part
			// of it; corral reads a body line by line.
			return nil, true, 0, s.stricterf(StricterNewline, "unterminated quoted name")
		}
		if nul && !s.converted {
			return nil, true, 0, s.errorf("NUL byte in quoted name")
		}
		name = b[i+1 : j]
		if esc {
			if name, err = s.unescape(i+1, j); err != nil {
				return nil, true, 0, err
			}
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
			return nil, s.escapeError("invalid escape sequence in %q", b[i:j])
		}
	}
	return out, nil
}

// escapeError refuses an escape sequence other than \\, \" and \n, which
// Prometheus keeps as written: in OpenMetrics under the README's stricter
// rule, in text as expfmt refuses it.
func (s *scanner) escapeError(format string, args ...any) error {
	if s.om {
		return s.stricterf(StricterEscape, format, args...)
	}
	return s.errorf(format, args...)
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
			return s.escapeError("invalid escape sequence in HELP text")
		}
		i++
	}
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
				return 0, s.escapeError("invalid escape sequence in label value")
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
