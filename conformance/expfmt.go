package conformance

import (
	"bytes"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ParseExpfmt is the verdict of prometheus/common's text parser (the one
// client libraries and promtool use) on a text 0.0.4 body, with UTF-8 names
// allowed as current Prometheus allows them.
func ParseExpfmt(body []byte) error {
	p := expfmt.NewTextParser(model.UTF8Validation)
	_, err := p.TextToMetricFamilies(bytes.NewReader(body))
	return err
}
