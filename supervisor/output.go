package supervisor

import (
	"bytes"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/corral-metrics/corral/supervisor/tail"
)

// maxLine bounds one line of a child's output. A longer line is written in
// pieces of at most this size, each cut on a UTF-8 boundary.
const maxLine = 64 << 10

// Log formats of child output.
const (
	FormatLogfmt = "logfmt" // [name] line
	FormatJSON   = "json"   // {"time":...,"level":"INFO","msg":line,"process":name,"stream":"stdout"}
)

// sink is one of corral's own streams, shared by every child: each line is
// one Write under the lock, so lines of different children never interleave.
type sink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *sink) write(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Write(b) // nowhere to report a failing stdout
}

// Bounds of the recent output kept per process (its tail, served by the
// control API): the last tailLines lines, at most tailBytes of text.
const (
	tailLines = 200
	tailBytes = 64 << 10
)

// pump copies r to dst line by line until EOF or a read error, prefixing
// each line with the process name (logfmt) or wrapping it in a JSON object;
// each line also goes to tb, unless it is nil.
func pump(r io.Reader, dst *sink, tb *tail.Buffer, format, process, stream string) {
	buf := make([]byte, maxLine)
	var line []byte
	n := 0
	cut := false // the last piece was cut at maxLine: a '\n' right after it ends that line
	emit := func(b []byte) {
		b = bytes.TrimSuffix(b, []byte{'\r'})
		line = formatLine(line[:0], format, process, stream, b)
		dst.write(line)
		if tb != nil {
			tb.Add(stream, b, time.Now())
		}
	}
	for {
		m, err := r.Read(buf[n:])
		n += m
		start := 0
		for {
			i := bytes.IndexByte(buf[start:n], '\n')
			if i < 0 {
				break
			}
			if i > 0 || !cut {
				emit(buf[start : start+i])
			}
			cut = false
			start += i + 1
		}
		n = copy(buf, buf[start:n])
		if n == len(buf) {
			at := runeCut(buf)
			emit(buf[:at])
			n, cut = copy(buf, buf[at:n]), true
		}
		if err != nil {
			if n > 0 {
				emit(buf[:n])
			}
			return
		}
	}
}

// runeCut is where to cut b so that no UTF-8 sequence is split: before a
// trailing incomplete sequence, else at the end.
func runeCut(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) && i > 0 {
				return i
			}
			break
		}
	}
	return len(b)
}

func formatLine(out []byte, format, process, stream string, b []byte) []byte {
	if format != FormatJSON {
		out = append(out, '[')
		out = append(out, process...)
		out = append(out, "] "...)
		out = append(out, b...)
		return append(out, '\n')
	}
	out = append(out, `{"time":"`...)
	out = time.Now().AppendFormat(out, time.RFC3339Nano)
	out = append(out, `","level":"INFO","msg":`...)
	out = appendJSONString(out, b)
	out = append(out, `,"process":`...)
	out = appendJSONString(out, []byte(process))
	out = append(out, `,"stream":"`...)
	out = append(out, stream...)
	return append(out, "\"}\n"...)
}

// appendJSONString quotes b as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(out, b []byte) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				out = append(out, '\\', c)
			case c == '\n':
				out = append(out, '\\', 'n')
			case c == '\t':
				out = append(out, '\\', 't')
			case c < 0x20:
				out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				out = append(out, c)
			}
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = append(out, `\ufffd`...)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return append(out, '"')
}
