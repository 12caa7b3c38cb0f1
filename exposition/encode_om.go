package exposition

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// What a protobuf source may hold that OpenMetrics text cannot say: the
// encoder writes an exemplar's timestamp through nanoseconds (past 2262 it
// comes out as another time, past 9999 not at all) and its labels as they
// are (a NUL byte or bytes that are not UTF-8 make Prometheus refuse the
// whole answer). Such an exemplar is left out of OpenMetrics output, which
// then says less, never something else; protobuf output keeps it.

// omExemplars leaves out of ms the exemplars OpenMetrics cannot carry, and
// gives each exemplar without labels the label emptyExemplar (see
// unmarkEmptyExemplars). The metrics' messages may be a source's own
// (restore), so a message with one to change is replaced by a copy.
func omExemplars(ms []*dto.Metric) {
	for _, m := range ms {
		if c := m.GetCounter(); c != nil && c.Exemplar != nil && omChange(c.Exemplar) {
			c = proto.Clone(c).(*dto.Counter)
			c.Exemplar = omExemplarOut(c.Exemplar)
			m.Counter = c
		}
		h := m.GetHistogram()
		if h == nil || !changesBucketExemplar(h.GetBucket()) {
			continue
		}
		h = proto.Clone(h).(*dto.Histogram)
		for _, b := range h.Bucket {
			if b.Exemplar != nil {
				b.Exemplar = omExemplarOut(b.Exemplar)
			}
		}
		m.Histogram = h
	}
}

// changesBucketExemplar tells whether a bucket of bb has an exemplar
// omExemplars changes.
func changesBucketExemplar(bb []*dto.Bucket) bool {
	for _, b := range bb {
		if b.Exemplar != nil && omChange(b.Exemplar) {
			return true
		}
	}
	return false
}

// omChange tells whether omExemplars changes exemplar e.
func omChange(e *dto.Exemplar) bool {
	return len(e.GetLabel()) == 0 || !omExemplar(e)
}

// omExemplarOut is exemplar e (in a copied message) as omExemplars gives it
// to the encoder: nil when OpenMetrics cannot carry it, marked when it has
// no labels.
func omExemplarOut(e *dto.Exemplar) *dto.Exemplar {
	switch {
	case !omExemplar(e):
		return nil
	case len(e.GetLabel()) == 0:
		e.Label = []*dto.LabelPair{{Name: new(emptyExemplarName), Value: new(emptyExemplarValue)}}
	}
	return e
}

// expfmt's encoder writes no exemplar without labels, which OpenMetrics
// allows (" # {} 1") and Prometheus reads from a protobuf source. Such an
// exemplar goes to the encoder with the one label a="\x00", which no
// exemplar OpenMetrics carries has (omExemplar: no NUL byte), and is
// written back without it. In a label value, HELP text or quoted name the
// encoder escapes '"', so the marked exemplar's text occurs nowhere else in
// an answer.
const (
	emptyExemplarName  = "a"
	emptyExemplarValue = "\x00"
	markedExemplar     = " # {" + emptyExemplarName + "=\"" + emptyExemplarValue + "\"} " // as the encoder writes it
)

// unmarkEmptyExemplars writes the marked exemplars of text without labels.
func unmarkEmptyExemplars(text []byte) []byte {
	if !bytes.Contains(text, []byte(markedExemplar)) {
		return text
	}
	return bytes.ReplaceAll(text, []byte(markedExemplar), []byte(" # {} "))
}

// omExemplar tells whether OpenMetrics text carries exemplar e as it is.
func omExemplar(e *dto.Exemplar) bool {
	if ts := e.GetTimestamp(); ts != nil {
		// The encoder goes through time.Time.UnixNano, defined from
		// 1678 to 2262.
		const most = math.MaxInt64 / int64(1e9)
		if s := ts.GetSeconds(); s >= most || s <= -most || ts.CheckValid() != nil {
			return false
		}
	}
	for _, l := range e.GetLabel() {
		for _, s := range []string{l.GetName(), l.GetValue()} {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return false
			}
		}
	}
	return true
}

// Prometheus' OpenMetrics parser reads a sample's timestamp as
// int64(seconds*1000), truncating, and the encoder writes one of ms
// milliseconds as the shortest decimal of float64(ms)/1000: for about one
// timestamp in a hundred (8168 ms, written 8.168, read 8167) the product
// falls below ms, and Prometheus would read the sample a millisecond
// early. omMisread tells whether some metric of ms has such a timestamp;
// omSampleTimes rewrites the encoder's text of them to the nearest float
// that reads as ms.

// omMisread tells whether a metric of ms has a timestamp Prometheus would
// read as another from the encoder's OpenMetrics text.
func omMisread(ms []*dto.Metric) bool {
	return slices.ContainsFunc(ms, func(m *dto.Metric) bool {
		return m.TimestampMs != nil && omReadTime(float64(*m.TimestampMs)/1000) != *m.TimestampMs
	})
}

// omReadTime is timestamp s, in seconds, as Prometheus' OpenMetrics parser
// reads it, in milliseconds.
func omReadTime(s float64) int64 { return int64(s * 1000) }

// omSampleTimes rewrites, in OpenMetrics text written by the encoder, each
// sample timestamp that Prometheus would read as another millisecond than
// the encoder was given.
func omSampleTimes(text []byte) []byte {
	var out []byte
	done := 0 // text[:done] is in out
	for at := 0; at < len(text); {
		end := bytes.IndexByte(text[at:], '\n')
		if end < 0 {
			end = len(text) - at
		}
		line := text[at : at+end]
		if lo, hi, ok := sampleTimeToken(line); ok {
			if fixed, ok := omTimeToken(line[lo:hi]); ok {
				out = append(append(out, text[done:at+lo]...), fixed...)
				done = at + hi
			}
		}
		at += end + 1
	}
	if out == nil {
		return text
	}
	return append(out, text[done:]...)
}

// sampleTimeToken finds the timestamp of OpenMetrics sample line line, as
// the encoder writes it: a name, or labels in braces whose values are
// quoted (with \\, \" and \n escaped), a name in them too where it is not
// a legacy one; the value; the timestamp; then an exemplar, if any.
func sampleTimeToken(line []byte) (lo, hi int, ok bool) {
	if len(line) == 0 || line[0] == '#' {
		return 0, 0, false
	}
	i := bytes.IndexAny(line, "{ ")
	if i < 0 {
		return 0, 0, false
	}
	if line[i] == '{' {
		quoted := false
		for i++; i < len(line) && (quoted || line[i] != '}'); i++ {
			switch {
			case quoted && line[i] == '\\':
				i++
			case line[i] == '"':
				quoted = !quoted
			}
		}
		i++ // past '}'
	}
	if i >= len(line) || line[i] != ' ' {
		return 0, 0, false
	}
	value := bytes.IndexByte(line[i+1:], ' ') // the value's end
	if value < 0 {
		return 0, 0, false
	}
	lo = i + 1 + value + 1
	if lo >= len(line) || line[lo] == '#' {
		return 0, 0, false // no timestamp: an exemplar follows
	}
	hi = lo + bytes.IndexByte(line[lo:], ' ')
	if hi < lo {
		hi = len(line)
	}
	return lo, hi, true
}

// omTimeToken gives the text of a timestamp that Prometheus reads as the
// milliseconds token was written for (float64(ms)/1000), where it reads
// token itself as another: the float nearest to it that reads as ms.
func omTimeToken(token []byte) ([]byte, bool) {
	s, err := strconv.ParseFloat(string(token), 64)
	if err != nil || math.IsNaN(s) || math.IsInf(s, 0) {
		return nil, false
	}
	ms := int64(math.Round(s * 1000))
	if float64(ms)/1000 != s || omReadTime(s) == ms {
		return nil, false // not the encoder's text of ms, or read right
	}
	toward := math.Inf(1)
	if omReadTime(s) > ms {
		toward = math.Inf(-1)
	}
	for range 8 {
		if s = math.Nextafter(s, toward); omReadTime(s) == ms {
			return strconv.AppendFloat(nil, s, 'g', -1, 64), true
		}
	}
	return nil, false
}
