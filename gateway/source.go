package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
)

// A Source yields one exposition of metrics per scrape: an HTTP exporter,
// a textfile, an on-demand script. The gateway treats every kind the same.
type Source interface {
	// Scrape fetches the source's metrics now. ctx carries the scrape's
	// deadline. On success the caller reads and closes Body; the gateway
	// bounds how much it reads.
	Scrape(ctx context.Context, req Request) (*Response, error)
}

// Request is what a scrape asks of a source.
type Request struct {
	// Params are the client's query parameters other than module, on /proxy
	// only (nil on the merged path). HTTP sources forward them all; scripts
	// take the names on their allow-list.
	Params url.Values
	// Accept is the Accept header to present upstream: the client's on
	// /proxy, the merge's choice on /metrics. Empty means text.
	Accept string
	// AcceptEncoding is the client's Accept-Encoding on /proxy, forwarded so a
	// compressed body can pass through untouched. Empty on the merged path.
	AcceptEncoding string
}

// Response is a source's answer.
type Response struct {
	// ContentType is the exposition format of Body, as an HTTP Content-Type.
	ContentType string
	// ContentEncoding is set when Body is still encoded (gzip passed through
	// on /proxy because the client accepts it).
	ContentEncoding string
	Body            io.ReadCloser
}

// Reasons a scrape fails, used as the "reason" label of error metrics and
// to choose the HTTP status on /proxy.
const (
	ReasonTimeout = "timeout" // the deadline passed: 504
	ReasonRefused = "refused" // the upstream could not be reached or the file not read: 502
	ReasonStatus  = "status"  // the upstream answered with a non-2xx status: 502
	ReasonInvalid = "invalid" // the body is not a valid exposition or is too large: 502
	ReasonParams  = "params"  // the request's parameters were refused: 400
	ReasonBusy    = "busy"    // a concurrency limit was hit: 503
)

// SourceError is a failed scrape with the reason it failed.
type SourceError struct {
	Reason string
	Err    error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Fail wraps err as a scrape failure for reason.
func Fail(reason string, err error) error { return &SourceError{Reason: reason, Err: err} }

// ReasonOf tells why err failed a scrape; errors that say nothing are "refused",
// and a passed deadline is always "timeout".
func ReasonOf(err error) string {
	var se *SourceError
	switch {
	case errors.As(err, &se):
		return se.Reason
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	default:
		return ReasonRefused
	}
}

// StatusOf is the HTTP status /proxy answers for a failed scrape.
func StatusOf(err error) int {
	switch ReasonOf(err) {
	case ReasonTimeout:
		return http.StatusGatewayTimeout
	case ReasonParams:
		return http.StatusBadRequest
	case ReasonBusy:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadGateway
	}
}

// Module is one named source with what the gateway needs to know of it.
type Module struct {
	Name    string
	Kind    string // "exporter", "file" or "script"
	Process string // the [process] it belongs to, if any
	Merge   bool   // part of /metrics
	Verify  bool   // /proxy validates the body before serving it
	Labels  map[string]string
	Source  Source
}
