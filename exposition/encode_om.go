package exposition

import (
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

// omExemplars leaves out of ms the exemplars OpenMetrics cannot carry. The
// metrics' messages may be a source's own (restore), so a message with one
// to leave out is replaced by a copy.
func omExemplars(ms []*dto.Metric) {
	for _, m := range ms {
		if c := m.GetCounter(); c != nil && c.Exemplar != nil && !omExemplar(c.Exemplar) {
			c = proto.Clone(c).(*dto.Counter)
			c.Exemplar = nil
			m.Counter = c
		}
		h := m.GetHistogram()
		if h == nil || !dropsBucketExemplar(h.GetBucket()) {
			continue
		}
		h = proto.Clone(h).(*dto.Histogram)
		for _, b := range h.Bucket {
			if b.Exemplar != nil && !omExemplar(b.Exemplar) {
				b.Exemplar = nil
			}
		}
		m.Histogram = h
	}
}

// dropsBucketExemplar tells whether a bucket of bb has an exemplar OpenMetrics
// cannot carry.
func dropsBucketExemplar(bb []*dto.Bucket) bool {
	for _, b := range bb {
		if b.Exemplar != nil && !omExemplar(b.Exemplar) {
			return true
		}
	}
	return false
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
