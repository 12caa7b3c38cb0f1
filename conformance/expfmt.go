package conformance

import (
	"bytes"
	"fmt"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ParseExpfmt is the verdict of prometheus/common's text parser (the one
// client libraries and promtool use) on a text 0.0.4 body, with UTF-8 names
// allowed as current Prometheus allows them.
// A panic of the parser is its refusal: prometheus/common v0.73.1's panics
// on some bodies (a label after a quoted name inside braces, under a TYPE
// it took from a line it should not have: "assignment to entry in nil
// map"), and a reader that crashes has not accepted the body.
func ParseExpfmt(body []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("expfmt panics: %v", v)
		}
	}()
	p := expfmt.NewTextParser(model.UTF8Validation)
	_, err = p.TextToMetricFamilies(bytes.NewReader(body))
	return err
}
