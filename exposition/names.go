package exposition

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// outName is a family's name in the output: OpenMetrics counters and infos
// get their suffix back, UTF-8 names are escaped per the output's scheme.
func (m *merger) outName(sc *scanner, f *family) (name []byte, quoted bool) {
	name = f.name
	if f.typ == Counter && sc.om {
		name = append(append([]byte(nil), f.name...), "_total"...)
	} else if f.typ == Info {
		name = append(append([]byte(nil), f.name...), "_info"...)
	}
	if legacyName(name) {
		return name, false
	}
	if m.scheme == model.NoEscaping {
		return name, true
	}
	return []byte(model.EscapeName(string(name), m.scheme)), false
}

func legacyName[T string | []byte](b T) bool {
	if len(b) == 0 {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// legacyLabel tells whether b is a label name of the legacy character set:
// a legacy metric name without ':'.
func legacyLabel[T string | []byte](b T) bool {
	for i := range len(b) {
		if b[i] == ':' {
			return false
		}
	}
	return legacyName(b)
}

// appendEscapedLabel appends label name ln escaped as model.EscapeName
// escapes a metric name, except that ':' is escaped too: it is valid in
// metric names only.
func appendEscapedLabel(out, ln []byte, scheme model.EscapingScheme) []byte {
	if !bytes.ContainsRune(ln, ':') {
		return append(out, model.EscapeName(string(ln), scheme)...)
	}
	if scheme == model.ValueEncodingEscaping {
		out = append(out, "U__"...)
	}
	for i, r := range string(ln) {
		switch {
		case r == '_' && scheme != model.UnderscoreEscaping:
			out = append(out, "__"...)
		case r == '.' && scheme == model.DotsEscaping:
			out = append(out, "_dot_"...)
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r >= '0' && r <= '9' && i > 0:
			out = append(out, byte(r))
		case scheme == model.UnderscoreEscaping:
			out = append(out, '_')
		case scheme == model.DotsEscaping:
			out = append(out, "__"...)
		case !utf8.ValidRune(r):
			out = append(out, "_FFFD_"...)
		default:
			out = append(out, '_')
			out = strconv.AppendInt(out, int64(r), 16)
			out = append(out, '_')
		}
	}
	return out
}
