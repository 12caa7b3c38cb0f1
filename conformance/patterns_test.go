package conformance

import (
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
		{TextType, re(`^(text|om|proto)`), re(`^\d source\(s\): conflicts: \[\{[a-z] [^ ]+_(count|sum|bucket) collides with the series of (summary|histogram) `), nil, suffixFamily},
		{ProtobufType, re(`^om`), re(`OpenMetrics v1\.0 does not support float histogram`), nil, omFloatHistogram},
		{ProtobufType, re(`^proto$`), re(`^2 source\(s\): .*exemplars: want`), nil, protoExemplarsB},
		{TextType, re(`^(text|om|proto)`), re(`missing \{[^}]*(le|quantile)="`), nil, otherInBlock},
		{OpenMetricsType, re(`^(text|om|proto)`), re(`collides with the series of (histogram|summary)|value: want [^,;]*, have 0|missing \{[^}]*(le|quantile)="[^"]*\.0"|missing \{[^}]*le="\+Inf"\}; unexpected \{[^}]*le="\+?[iI]|^\d source\(s\): unexpected \{__name__="[^"]+_bucket"[^}]*\}$`), nil, omOtherInBlock},
		{OpenMetricsType, re(`.`), re(`exemplars: want|_created|gauge histogram|missing \{__name__=".*_(bucket|gcount|gsum)"`), nil, omLost},
	}
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
