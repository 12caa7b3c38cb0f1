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

// The source contract moved to package source. These names stay for the
// gateway's own files while the branches that edit them merge; new code
// uses package source.
type (
	// Deprecated: use source.Request.
	Request = source.Request
	// Deprecated: use source.Response.
	Response = source.Response
	// Deprecated: use source.Error.
	SourceError = source.Error
)

// Deprecated: use source's reasons.
const (
	ReasonTimeout = source.ReasonTimeout
	ReasonRefused = source.ReasonRefused
	ReasonStatus  = source.ReasonStatus
	ReasonInvalid = source.ReasonInvalid
	ReasonParams  = source.ReasonParams
	ReasonBusy    = source.ReasonBusy
)

// Fail wraps err as a scrape failure for reason.
//
// Deprecated: use source.Fail.
func Fail(reason string, err error) error { return source.Fail(reason, err) }

// ReasonOf tells why err failed a scrape.
//
// Deprecated: use source.ReasonOf.
func ReasonOf(err error) string { return source.ReasonOf(err) }

// StatusOf is the HTTP status /proxy answers for a failed scrape.
//
// Deprecated: use source.StatusOf.
func StatusOf(err error) int { return source.StatusOf(err) }
