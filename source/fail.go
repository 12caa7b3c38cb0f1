package source

import (
	"context"
	"errors"
	"net/http"
)

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

// Error is a failed scrape with the reason it failed.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Fail wraps err as a scrape failure for reason.
func Fail(reason string, err error) error { return &Error{Reason: reason, Err: err} }

// ReasonOf tells why err failed a scrape; errors that say nothing are "refused",
// and a passed deadline is always "timeout".
func ReasonOf(err error) string {
	var se *Error
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
