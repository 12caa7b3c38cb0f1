package conformance

import (
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
	}
}
