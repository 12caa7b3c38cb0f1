package exposition

import (
	"bytes"
	"math"
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
