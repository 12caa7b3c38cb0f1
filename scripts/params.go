package scripts

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxParamBytes bounds one parameter value. A value is an argument to a
// script (a host name, a path), not a payload: 1 KiB is plenty, and it keeps
// a run's environment (and its cache key) small.
const MaxParamBytes = 1024

// paramEnvPrefix names the environment variable a parameter is passed in.
const paramEnvPrefix = "CORRAL_PARAM_"

// params picks the allow-listed names out of a request's query values and
// returns them as environment entries plus the key that identifies the run
// they ask for. Names not on the list are ignored (Prometheus adds its own).
// A value that is too long, not UTF-8, or holds a control character (NUL,
// newline, escape...) is refused: it never reaches a script.
func params(allowed []string, values url.Values) (env []string, key string, err error) {
	if len(values) == 0 {
		return nil, "", nil
	}
	var b strings.Builder
	for _, name := range allowed {
		vs, ok := values[name]
		if !ok || len(vs) == 0 {
			continue
		}
		v := vs[0]
		if err := checkParam(v); err != nil {
			return nil, "", fmt.Errorf("param %q: %w", name, err)
		}
		env = append(env, paramEnvPrefix+strings.ToUpper(name)+"="+v)
		// Values hold no control characters, so NUL and newline separate
		// unambiguously.
		b.WriteString(name)
		b.WriteByte(0)
		b.WriteString(v)
		b.WriteByte('\n')
	}
	return env, b.String(), nil
}

func checkParam(v string) error {
	if len(v) > MaxParamBytes {
		return fmt.Errorf("value longer than %d bytes", MaxParamBytes)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("value is not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("value contains control character %U", r)
		}
	}
	return nil
}
