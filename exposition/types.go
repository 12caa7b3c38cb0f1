package exposition

import (
	"bytes"
)

// Type is a metric family's type as declared by its TYPE line.
type Type uint8

// Family types. Implicit is a family without a TYPE line (untyped in text,
// unknown in OpenMetrics); the last four exist only in OpenMetrics input.
const (
	Implicit Type = iota
	Counter
	Gauge
	Histogram
	Summary
	Untyped
	GaugeHistogram
	StateSet
	Info
	UnknownType
)

// parseType reads a TYPE line's type word, strictly lower case as
// Prometheus writes it.
func parseType(word []byte, om bool) (Type, bool) {
	switch string(word) {
	case "counter":
		return Counter, true
	case "gauge":
		return Gauge, true
	case "histogram":
		return Histogram, true
	case "summary":
		return Summary, true
	case "untyped":
		return Untyped, !om
	case "unknown":
		return UnknownType, om
	case "gaugehistogram":
		return GaugeHistogram, om
	case "stateset":
		return StateSet, om
	case "info":
		return Info, om
	}
	return 0, false
}

// String is the type as the text format writes it.
func (t Type) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge, StateSet, Info:
		return "gauge"
	case Histogram:
		return "histogram"
	case Summary:
		return "summary"
	case GaugeHistogram:
		return "gaugehistogram"
	default:
		return "untyped"
	}
}

// text folds the OpenMetrics-only types onto the text format's five.
func (t Type) text() Type {
	switch t {
	case Implicit, UnknownType:
		return Untyped
	case StateSet, Info:
		return Gauge
	}
	return t
}

// span is a range of the scanned body.
type span struct{ lo, hi int32 }

func (s span) empty() bool { return s.hi <= s.lo }

// Sample flags.
const (
	flagQuoted        = 1 << iota // a quoted (UTF-8) metric or label name: written by the slow path
	flagReserved                  // carries a label the merge injects: renamed to exported_*
	flagCreated                   // an OpenMetrics _created sample: a series in text output, a created timestamp in the others
	flagOMTime                    // an OpenMetrics timestamp (float seconds)
	flagDrop                      // left out of the merge: a duplicate or a dropped family
	flagShape                     // text its family's type cannot carry (a histogram's plain sample...): accepted, left out of the merge
	flagCanonLe                   // Prometheus reads its le in canonical form ("1" as "1.0"): it follows a histogram's TYPE line
	flagCanonQuantile             // and its quantile: it follows a summary's TYPE line
)

// Member suffixes of a sample within its family.
const (
	memberExact = iota
	memberBucket
	memberSum
	memberCount
	memberCreated
	memberTotal
	memberInfo
	memberGSum
	memberGCount
)

var memberSuffixes = [...]string{memberBucket: "_bucket", memberSum: "_sum", memberCount: "_count",
	memberCreated: "_created", memberTotal: "_total", memberInfo: "_info", memberGSum: "_gsum", memberGCount: "_gcount"}

// family is one metric family of a scanned body.
type family struct {
	name     []byte // unescaped name: a slice of the body unless it was quoted
	typ      Type
	typed    bool
	hasHelp  bool
	bare     bool   // name is a valid unquoted metric name
	negative bool   // a protobuf histogram whose text has a negative (float) count
	quoted   bool   // some sample has a quoted (metric or label) name
	hash     uint64 // of name, when hashing
	help     span   // raw, still escaped
	unit     span   // OpenMetrics # UNIT, as written
	first    int32
	n        int32
	last     int32
}

// sample is one line of a scanned body.
type sample struct {
	fam    int32
	name   span // as written: quoted names keep their quotes
	labels span // first label name to the last value's closing quote
	value  span
	ts     span
	flags  uint16
	member uint8  // memberExact, memberBucket...: the suffix after the family name
	hash   uint64 // name and label set, independent of label order (when hashing)
}

// memberOf tells which member suffix name ends with.
func memberOf(name []byte) int {
	for m := memberBucket; m < len(memberSuffixes); m++ {
		if bytes.HasSuffix(name, []byte(memberSuffixes[m])) && len(name) > len(memberSuffixes[m]) {
			return m
		}
	}
	return memberExact
}

// allowed tells whether a family of type t has members with suffix m.
func allowed(t Type, m int, om bool) bool {
	switch t {
	case Histogram:
		return m == memberBucket || m == memberSum || m == memberCount || (om && m == memberCreated)
	case Summary:
		return m == memberSum || m == memberCount || (om && m == memberCreated)
	}
	if !om {
		return false
	}
	switch t {
	case Counter:
		return m == memberTotal || m == memberCreated
	case GaugeHistogram:
		return m == memberBucket || m == memberGSum || m == memberGCount
	case Info:
		return m == memberInfo
	}
	return false
}
