package scripts

import (
	"fmt"
	"net/url"
	"strings"
)

// MaxArgs bounds the args= values one request may pass to a script.
const MaxArgs = 16

// argsOf is what a request passes with allow_args = true: each args= value,
// in order, as one more argument after the configured command (as
// exporter_exporter's exec modules do), never through a shell. Each value
// obeys the rules of a parameter (checkParam), and at most MaxArgs are
// given. key tells the run apart from one with other arguments.
//
// It is off by default because a value then reaches a command line, where
// a script that does not expect it may read "--flag" as an option: only a
// script written to take any argument should allow it.
func argsOf(values url.Values) (args []string, key string, err error) {
	vs := values["args"]
	if len(vs) > MaxArgs {
		return nil, "", fmt.Errorf("args given %d times: at most %d", len(vs), MaxArgs)
	}
	var b strings.Builder
	for i, v := range vs {
		if err := checkParam(v); err != nil {
			return nil, "", fmt.Errorf("args[%d]: %w", i, err)
		}
		// No control characters in values: NUL separates unambiguously,
		// and the params part of the key ends with a newline or is empty.
		b.WriteString("\x00args\x00")
		b.WriteString(v)
	}
	return vs, b.String(), nil
}
