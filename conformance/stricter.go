package conformance

import (
	"bytes"
	"errors"
	"regexp"
	"unicode/utf8"

	"github.com/corral-metrics/corral/exposition"
)

// A Stricter rule is one place where corral refuses, on purpose, a body
// that current Prometheus accepts. The README lists each with its reason.
type Stricter struct {
	Name    string
	Reason  string
	Applies func(contentType string, body []byte) bool
}

// StricterRules are corral's stricter rules, as the README lists them.
func StricterRules() []Stricter {
	return []Stricter{
		{
			Name:   "final-newline",
			Reason: "a text body that does not end in a newline may have been cut mid-line, its last value short",
			Applies: func(contentType string, body []byte) bool {
				f := exposition.FormatOf(contentType)
				if f != exposition.Text && f != exposition.OpenMetrics || len(body) == 0 || body[len(body)-1] == '\n' {
					return false
				}
				return exposition.Validate(contentType, append(body[:len(body):len(body)], '\n')) == nil
			},
		},
		{
			Name:   "expfmt",
			Reason: "prometheus/common's text parser (client libraries, promtool, whatever reads corral's text output) refuses it",
			Applies: func(contentType string, body []byte) bool {
				return exposition.FormatOf(contentType) == exposition.Text && ParseExpfmt(body) != nil
			},
		},
		{
			Name:   exposition.StricterNUL,
			Reason: "Prometheus' lexers skip a NUL byte in places (\"# TY\\x00PE\" is a TYPE line) and, in others, stop reading the body at it without an error, losing the series after it",
			Applies: refusedOn(exposition.StricterNUL, func(line []byte) bool {
				return bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("#")) && bytes.IndexByte(line, 0) >= 0
			}),
		},
		{
			Name:    exposition.StricterHashKeyword,
			Reason:  "Prometheus reads \"#TYPE m gauge\" as a comment, expfmt (client libraries, promtool) as a TYPE line: the two would read different families",
			Applies: refusedOn(exposition.StricterHashKeyword, regexp.MustCompile(`^[ \t]*#(HELP|TYPE)[ \t]`).Match),
		},
		{
			Name:    exposition.StricterLeadingBlank,
			Reason:  "Prometheus' text parser keeps the blanks in the metric name (\" a 1\" is the series \" a\"), expfmt and client libraries drop them: no output reads the same in both",
			Applies: refusedOn(exposition.StricterLeadingBlank, regexp.MustCompile(`^[ \t]+[a-zA-Z_:]`).Match),
		},
		{
			Name:    exposition.StricterBound,
			Reason:  "expfmt refuses it, so the text output could not carry it",
			Applies: refusedOn(exposition.StricterBound, regexp.MustCompile(`[{,](le|quantile)="`).Match),
		},
		{
			Name:    exposition.StricterEscape,
			Reason:  "the OpenMetrics specification allows only \\\\, \\\" and \\n; Prometheus keeps another as written, expfmt refuses it in the text output",
			Applies: refusedOn(exposition.StricterEscape, regexp.MustCompile(`\\([^\\"n]|$)`).Match),
		},
		{
			Name:    exposition.StricterNewline,
			Reason:  "corral reads a body line by line, as expfmt does; names escape a newline as \\n",
			Applies: refusedOn(exposition.StricterNewline, openQuote),
		},
		{
			Name:    exposition.StricterBlock,
			Reason:  "the OpenMetrics specification requires a family's lines in one block, and Prometheus reads a sample with the type of the last TYPE line before it, not its family's",
			Applies: refusedOn(exposition.StricterBlock, nil),
		},
		{
			Name:   exposition.StricterMetaUTF8,
			Reason: "both specifications require UTF-8; corral reads every line but a plain text comment (which no output carries)",
			Applies: refusedOn(exposition.StricterMetaUTF8, func(line []byte) bool {
				if bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("#")) {
					return !utf8.Valid(line)
				}
				x := bytes.Index(line, []byte(" # {"))
				return x >= 0 && utf8.Valid(line[:x]) && !utf8.Valid(line[x:])
			}),
		},
		{
			Name:    exposition.StricterSuffix,
			Reason:  "the OpenMetrics specification requires the suffix (a counter's _total, an info's _info, a histogram's _bucket, _count or _sum), and no OpenMetrics or protobuf family of the type can carry the sample",
			Applies: refusedOn(exposition.StricterSuffix, nil),
		},
		{
			Name:   exposition.StricterMetaTwice,
			Reason: "the merge writes one HELP and TYPE for a family (and Prometheus reads the samples after a second TYPE with that type)",
			Applies: func(contentType string, body []byte) bool {
				if exposition.FormatOf(contentType) == exposition.Protobuf {
					return refusedOn(exposition.StricterMetaTwice, nil)(contentType, body)
				}
				return refusedOn(exposition.StricterMetaTwice, regexp.MustCompile(`^# (HELP|TYPE) `).Match)(contentType, body)
			},
		},
		{
			Name:    exposition.StricterTimestamp,
			Reason:  "the text output (milliseconds, digits only) cannot carry it",
			Applies: refusedOn(exposition.StricterTimestamp, nil),
		},
		{
			Name:    exposition.StricterProtoEncoding,
			Reason:  "malformed wire format no client library writes; Prometheus' decoder (gogo protobuf's) reads past it, protobuf's own library refuses it",
			Applies: refusedOn(exposition.StricterProtoEncoding, nil),
		},
		{
			Name:    exposition.StricterExemplarName,
			Reason:  "no label may have the empty name; Prometheus refuses it in a series' labels but does not check an exemplar's, and no output could write it as a label",
			Applies: refusedOn(exposition.StricterExemplarName, regexp.MustCompile(`# \{(.*,)?""=`).Match),
		},
		{
			Name:    exposition.StricterProtoValue,
			Reason:  "Prometheus reads the missing value as 0, a value the source never sent",
			Applies: refusedOn(exposition.StricterProtoValue, nil),
		},
	}
}

// refusedOn recognises a body corral refuses under rule, on a line that
// shows the rule's case (any line, with shows nil).
func refusedOn(rule string, shows func(line []byte) bool) func(contentType string, body []byte) bool {
	return func(contentType string, body []byte) bool {
		var pe *exposition.ParseError
		if !errors.As(exposition.Validate(contentType, body), &pe) || pe.Stricter != rule {
			return false
		}
		return shows == nil || shows(lineOf(body, pe.Line))
	}
}

// lineOf is line n (from 1) of body, without its newline.
func lineOf(body []byte, n int) []byte {
	for line := range bytes.Lines(body) {
		if n--; n == 0 {
			return bytes.TrimSuffix(line, []byte("\n"))
		}
	}
	return nil
}

// openQuote tells whether line ends inside a quoted string.
func openQuote(line []byte) bool {
	in := false
	for i := 0; i < len(line); i++ {
		switch {
		case in && line[i] == '\\':
			i++
		case line[i] == '"':
			in = !in
		}
	}
	return in
}
