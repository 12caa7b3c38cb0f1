package conformance

import (
	"bytes"
	"regexp"
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

// knownPatterns are the shapes of the known causes, for inputs that are not
// vectors. TestKnownPatterns fails when a pattern's cause no longer occurs
// among the vectors, so this list shrinks with knownDisagreements.
func knownPatterns() []knownPattern {
	re := regexp.MustCompile
	return []knownPattern{
		{OpenMetricsType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: line \d+: (histogram bucket ".*" without an le label|summary ".*": sample without a quantile label)`), nil, omBucketWithoutLe},
		{TextType, re(`^(text|om|proto)`), re(`^\d source\(s\): conflicts: \[\{[a-z] [^ ]+_(count|sum|bucket) collides with the series of (summary|histogram) `), nil, suffixFamily},
		{"", re(`^verdict$`), re(`^corral rejects, Prometheus accepts: line \d+: metric name missing in label set`), nil, nameInBraces},
		{OpenMetricsType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: line \d+: invalid escape sequence`), nil, omHelpEscape},
		{"", re(`^verdict$`), re(`^corral accepts, Prometheus rejects: expected equal, got ".*" \("(BCLOSE|COMMA)"\)`), nil, bareName},
		{"", re(`^verdict$`), re(`^corral accepts, Prometheus rejects: expected (equal|label name), got ":`), nil, bareName},
		{OpenMetricsType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: line \d+: .*(not in one block|after its samples or in two places)`), nil, omInterleaved},
		{ProtobufType, re(`^proto$`), re(`^2 source\(s\): .*exemplars: want`), nil, protoExemplarsB},
		{TextType, re(`^(text|om|proto)`), re(`missing \{|unexpected \{`), leadingBlank, leadingSpace},
		{"", re(`^verdict$`), re(`^corral rejects, Prometheus accepts: line \d+: invalid UTF-8`), nil, commentUTF8},
		{TextType, re(`^verdict$`), re(`^corral accepts, Prometheus rejects: `), hasNUL, nulInName},
		{TextType, re(`^(text|om|proto)`), re(`missing \{[^}]*(le|quantile)="`), nil, otherInBlock},
		{OpenMetricsType, re(`^verdict$`), re(`^corral accepts, Prometheus rejects: expected [a-z ]+(TYPE|HELP|UNIT|token), got "(#  | |# [A-Z]+\\t|#\\t)`), nil, omTwoBlanks},
		{TextType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: line \d+: invalid character .[-+.]. in metric name`), nil, valueAfterName},
		{TextType, re(`^(text|om|proto)`), re(`unexpected \{|output rejected by Prometheus|conflicts: `), nulAfterHashBody, nulAfterHash},
		{TextType, re(`^verdict$`), re(`^corral accepts, Prometheus rejects: expected metric name after (TYPE|HELP)`), nil, metaNoName},
		{"", re(`^verdict$`), re(`^corral accepts, Prometheus rejects: invalid metric type "( |\\t)`), nil, typeTwoBlanks},
		{ProtobufType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: protobuf message \d+: invalid metric name "`), nil, protoEmptyMessage},
		{OpenMetricsType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: `), hasNUL, omNulAfterEOF},
		{TextType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: `), hashNoBlankBody, hashNoBlank},
		{OpenMetricsType, re(`^verdict$`), re(`^corral accepts, Prometheus rejects: expected [a-z ]+, got "( |\\t)`), nil, omBlankInLabels},
		{ProtobufType, re(`^verdict$`), re(`^corral accepts, Prometheus rejects: invalid help for metric`), nil, protoHelpUTF8},
		{ProtobufType, re(`^verdict$`), re(`^corral (accepts, Prometheus rejects: (proto: )?wrong wireType|rejects, Prometheus accepts: .*invalid wire-format data)`), nil, protoWireType},
		{ProtobufType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: .*metric without a [A-Z_]+ value`), nil, protoTypeValue},
		{OpenMetricsType, re(`^(text|om|proto)`), re(`collides with the series of (histogram|summary)|value: want [^,;]*, have 0|missing \{[^}]*(le|quantile)="[^"]*\.0"|missing \{[^}]*le="\+Inf"\}; unexpected \{[^}]*le="\+[iI]`), nil, omOtherInBlock},
		{OpenMetricsType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: line \d+: invalid (le|quantile) label value`), nil, omLeValue},
		{OpenMetricsType, re(`^verdict$`), re(`^corral accepts, Prometheus rejects: expected value after metric`), nil, omBlankInLabels},
		{OpenMetricsType, re(`^verdict$`), re(`^corral accepts, Prometheus rejects: (unsupported character in float|strconv.ParseFloat: parsing "\{.*invalid syntax) while parsing: "[^ ]+ \{`), nil, omBlankInLabels},
		{"", re(`^verdict$`), re(`^corral rejects, Prometheus accepts: line \d+: unterminated (quoted name|label value)`), nil, quotedNewline},
		{OpenMetricsType, re(`^verdict$`), re(`^corral accepts, Prometheus rejects: `), hasNUL, nulInName},
		{TextType, re(`^verdict$`), re(`^corral rejects, Prometheus accepts: `), nulAfterHashBody, nulAfterHash},
		{ProtobufType, re(`^(text|om)`), re(`output rejected by Prometheus: help text ".*" is not a valid utf8`), nil, protoHelpUTF8},
		{OpenMetricsType, re(`^verdict$`), re(`^corral accepts, Prometheus rejects: strconv.ParseFloat: parsing "( |\\t)`), nil, omBlankInLabels},
	}
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
