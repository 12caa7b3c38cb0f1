package gateway

import "github.com/corral-metrics/corral/exposition"

// validate checks that body is a valid exposition in the format ct names
// (text 0.0.4, OpenMetrics 1.0.0 or delimited protobuf), without decoding it
// into MetricFamily values where a scan will do.
func validate(ct string, body []byte) error { return exposition.Validate(ct, body) }
