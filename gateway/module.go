package gateway

import (
	"github.com/corral-metrics/corral/source"
)

// Module is one named source with what the gateway needs to know of it.
type Module struct {
	Name    string
	Kind    source.Kind
	Process string // the [process] it belongs to, if any
	Merge   bool   // part of /metrics
	Verify  bool   // /proxy validates the body before serving it
	Labels  map[string]string
	Source  source.Source
}
