// Package exposition reads, checks and merges Prometheus expositions as
// bytes. The text format is scanned in place (lex.go, numbers.go, hash.go,
// comment.go, sample.go): a body is parsed once into family blocks that
// refer to the received bytes. A merge plans what it writes once (plan.go:
// collect, conflicts, deduplication, relabel.go's names, synthetic.go's
// per-source families) and every output format follows that plan: text is
// written from the bytes with labels injected (write.go), never decoded
// into dto.MetricFamily; OpenMetrics and protobuf are encoded by expfmt
// from the same plan (encode.go). A Source keeps one source's scan state
// between its bodies (receive.go, memo.go).
package exposition

import (
	"fmt"
	"mime"

	"github.com/prometheus/common/expfmt"
)

// Format is the exposition format of a body.
type Format int

// The formats corral reads and writes.
const (
	Unknown     Format = iota
	Text               // Prometheus text 0.0.4
	OpenMetrics        // OpenMetrics 1.0.0 text
	Protobuf           // delimited io.prometheus.client.MetricFamily
)

func (f Format) String() string {
	switch f {
	case Text:
		return "text"
	case OpenMetrics:
		return "openmetrics"
	case Protobuf:
		return "protobuf"
	default:
		return "unknown"
	}
}

// FormatOf tells the format of a body from its Content-Type. An empty
// Content-Type is text, as the text format's own history has it; a type corral
// cannot read is Unknown.
func FormatOf(contentType string) Format {
	if contentType == "" {
		return Text
	}
	mediatype, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Unknown
	}
	switch mediatype {
	case "text/plain":
		if v, ok := params["version"]; ok && v != expfmt.TextVersion {
			return Unknown
		}
		return Text
	case expfmt.OpenMetricsType:
		switch params["version"] {
		case "", expfmt.OpenMetricsVersion_0_0_1, expfmt.OpenMetricsVersion_1_0_0:
			return OpenMetrics
		}
		return Unknown
	case expfmt.ProtoType:
		if p, ok := params["proto"]; ok && p != expfmt.ProtoProtocol {
			return Unknown
		}
		if e, ok := params["encoding"]; ok && e != "delimited" {
			return Unknown
		}
		return Protobuf
	}
	return Unknown
}

// ParseError is an invalid exposition, with the line it was found on
// (0 for protobuf and for problems of the body as a whole).
type ParseError struct {
	Line int
	Msg  string
	// Stricter names the README's stricter rule under which the body is
	// refused when current Prometheus would accept it (StricterRule*);
	// empty when Prometheus refuses it too.
	Stricter string
}

// The stricter rules a ParseError names: what current Prometheus accepts
// and corral refuses on purpose, each listed in the README with its reason.
const (
	// StricterNUL: a NUL byte in a comment, HELP, TYPE or UNIT line, other
	// than in a HELP line's text.
	StricterNUL = "nul-in-comment"
	// StricterLeadingBlank: blanks before a text sample's bare metric name.
	StricterLeadingBlank = "leading-blank"
	// StricterBound: an le or quantile value that is not a number.
	StricterBound = "bound-not-a-number"
	// StricterEscape: an OpenMetrics escape other than \\, \" and \n.
	StricterEscape = "om-escape"
	// StricterNewline: a newline inside a quoted name.
	StricterNewline = "quoted-newline"
	// StricterBlock: an OpenMetrics family whose samples or metadata are
	// not in one block.
	StricterBlock = "om-one-block"
	// StricterMetaUTF8: invalid UTF-8 in a line other than a plain comment,
	// where Prometheus does not check it: a HELP, TYPE or UNIT line's name,
	// an OpenMetrics exemplar's label names.
	StricterMetaUTF8 = "utf8"
	// StricterProtoValue: a protobuf metric without the value its family's
	// type names.
	StricterProtoValue = "proto-type-value"
	// StricterHashKeyword: a text "#HELP " or "#TYPE " line (no blank
	// after '#').
	StricterHashKeyword = "hash-keyword"
	// StricterSuffix: an OpenMetrics sample without the suffix its
	// family's type requires.
	StricterSuffix = "om-suffix"
	// StricterMetaTwice: a second HELP or TYPE line for an OpenMetrics
	// family, or a protobuf family in a second message.
	StricterMetaTwice = "om-metadata-twice"
	// StricterTimestamp: an OpenMetrics timestamp the text output cannot
	// carry (negative, or past 2^63 ms).
	StricterTimestamp = "om-timestamp-range"
	// StricterProtoEncoding: protobuf wire format that Prometheus' decoder
	// reads and protobuf-go refuses (a field number out of range, a
	// malformed group, an over-long varint).
	StricterProtoEncoding = "proto-encoding"
	// StricterExemplarName: an OpenMetrics exemplar label with the empty
	// name ("").
	StricterExemplarName = "om-exemplar-empty-name"
)

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}
