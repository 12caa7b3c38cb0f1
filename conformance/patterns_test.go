package conformance

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// A knownPattern attributes a disagreement the fuzzer finds to a known
// cause: by the problem reported, in one property ("verdict" or an output's
// name; "" for any), for inputs of one format ("" for any), and where given
// by a check of the body itself.
type knownPattern struct {
	contentType string
	property    *regexp.Regexp
	problem     *regexp.Regexp
	body        func(contentType string, body []byte) bool
	cause       string
}

// series is a series as the checks print it (a label set, whose quoted
// values may hold braces), in a pattern.
const series = `\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\}`

// knownPatterns are the shapes of the known causes, for inputs that are not
// vectors. TestKnownPatterns fails when a pattern's cause no longer occurs
// among the vectors, so this list shrinks with knownDisagreements.
func knownPatterns() []knownPattern {
	re := regexp.MustCompile
	return []knownPattern{
		{"", re(`^om-utf8$`), re(`(?s)^\d source\(s\): unit of .*["\\\n].*: want ".*", have ""$`), nil, omMetaEscapes},
		{ProtobufType, re(`^proto$`), re(`^2 source\(s\): .*exemplars: want`), nil, protoExemplarsB},
		{ProtobufType, re(`^(om|om-utf8)$`), re(`^\d source\(s\): (` + series + `: exemplars: want \[.*\], have \[.*\](; |$))+$`), exemplarEscapes, omExemplarEscapes},
		{OpenMetricsType, re(`^proto$`), re(`^\d source\(s\): (` + series + `: exemplars: want \[.*\], have \[.*\](; |$))+$`), exemplarEscapes, omExemplarEscapes},
		{OpenMetricsType, re(`^(om|om-utf8|proto)$`), re(`^\d source\(s\): (unexpected \{[^{}]*__name__="[^"]*_created"[^{}]*\}|` + series + `: start timestamp: want -?\d+, have 0)(; (unexpected \{[^{}]*__name__="[^"]*_created"[^{}]*\}|` + series + `: start timestamp: want -?\d+, have 0))*( \(and \d+ more\))?$`), createdAfterType, omCreatedOther},
		{OpenMetricsType, re(`^(om|om-utf8|proto)$`), re(`^\d source\(s\): (unexpected \{[^{}]*__name__="[^"]*_created"[^{}]*\}|` + series + `: start timestamp: want 0, have -?\d+)(; (unexpected \{[^{}]*__name__="[^"]*_created"[^{}]*\}|` + series + `: start timestamp: want 0, have -?\d+))*( \(and \d+ more\))?$`), createdOfOtherFamily, omCreatedOther},
	}
}

// createdAfterType tells whether body has a counter, summary or histogram
// TYPE line, after which Prometheus may skip a sample of another family.
func createdAfterType(_ string, body []byte) bool {
	return regexp.MustCompile(`(?m)^# TYPE .* (counter|summary|histogram)$`).Match(body)
}

// exemplarEscapes tells whether an exemplar of body, as Prometheus reads
// it, has a label name or value holding '"', '\\' or a newline, which
// OpenMetrics escapes.
func exemplarEscapes(contentType string, body []byte) bool {
	native, _ := Parse(contentType, body, Native)
	classic, _ := Parse(contentType, body, Classic) // a classic bucket's exemplar without a timestamp too
	for _, s := range append(native, classic...) {
		for _, e := range s.Exemplars {
			escaped := false
			e.Labels.Range(func(l labels.Label) {
				escaped = escaped || strings.ContainsAny(l.Name+l.Value, "\"\\\n")
			})
			if escaped {
				return true
			}
		}
	}
	return false
}

// createdOfOtherFamily tells whether, after a counter, summary or
// histogram TYPE line of body, a sample named X_created comes that is not
// of that family, before the next metadata line.
func createdOfOtherFamily(_ string, body []byte) bool {
	family := ""
	for line := range strings.Lines(string(body)) {
		if m := regexp.MustCompile(`^# TYPE (\S+) (counter|summary|histogram)\n?$`).FindStringSubmatch(line); m != nil {
			family = m[1]
			continue
		}
		if strings.HasPrefix(line, "#") {
			family = ""
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(line, " \t"), " ")
		name, _, _ = strings.Cut(name, "{")
		if family != "" && strings.HasSuffix(name, "_created") && name != family+"_created" {
			return true
		}
	}
	return false
}

// quotedMetricName tells whether body names a metric in quotes, in a
// TYPE or HELP line or first in braces.
func quotedMetricName(_ string, body []byte) bool {
	return regexp.MustCompile(`(?m)^(# (TYPE|HELP) "|\{")`).Match(body)
}

// leadingBlank tells whether a line of body starts with a blank.
func leadingBlank(_ string, body []byte) bool {
	return regexp.MustCompile(`(?m)^[ \t]+[^ \t#\n]`).Match(body)
}

// nulAfterHashBody tells whether a comment line of body holds a NUL.
func nulAfterHashBody(_ string, body []byte) bool {
	return regexp.MustCompile("(?m)^[ \t]*#[^\n]*\x00").Match(body)
}

// hasNUL tells whether body holds a NUL byte.
func hasNUL(_ string, body []byte) bool {
	return bytes.IndexByte(body, 0) >= 0
}

// hashNoBlankBody tells whether a line of body starts "#TYPE" or "#HELP".
func hashNoBlankBody(_ string, body []byte) bool {
	return regexp.MustCompile(`(?m)^[ \t]*#(TYPE|HELP)`).Match(body)
}

// knownClass names the known cause of a disagreement, or "" for a new one.
func knownClass(contentType string, body []byte, property, problem string) string {
	for _, k := range knownPatterns() {
		if (k.contentType == "" || k.contentType == contentType) && k.property.MatchString(property) &&
			k.problem.MatchString(problem) && (k.body == nil || k.body(contentType, body)) {
			return k.cause
		}
	}
	return ""
}
