package exposition

import (
	"errors"
	"fmt"
)

// A body comes from an upstream corral does not trust, and corral is PID 1:
// a panic in the code that reads one (a defect no test or fuzzer found yet)
// must fail that body alone. The gateway reads bodies in goroutines of its
// own (a fetch shared by merged scrapes, a parallel scan), where an
// unrecovered panic ends the process, and every other source and process
// with it. So each entry point that reads a body (Validate, a Receiver's
// Feed and Finish, a merge's scan of each source) turns a panic into the
// body's error.

// errDefect is the error of a body whose reading panicked.
type errDefect struct{ value any }

func (e *errDefect) Error() string {
	return fmt.Sprintf("corral failed reading this body, a defect of corral's (please report it with the body): %v", e.value)
}

// IsDefect tells whether err is of reading code that panicked.
func IsDefect(err error) bool {
	var d *errDefect
	return errors.As(err, &d)
}

// caught, deferred, sets *err to the panic in progress, if any.
func caught(err *error) {
	if v := recover(); v != nil {
		*err = &errDefect{v}
	}
}

// readHook, set by tests only, runs before each body is read: it makes the
// reading code panic, as a defect would.
var readHook func(body []byte)

func hook(body []byte) {
	if readHook != nil {
		readHook(body)
	}
}
