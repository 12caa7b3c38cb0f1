package scripts

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParams feeds any query string to a script's parameter handling: a
// value that passes is short, UTF-8 and free of control characters, reaches
// the script only as CORRAL_PARAM_<NAME>, and distinct values never share a
// run (their keys differ).
func FuzzParams(f *testing.F) {
	for _, seed := range []string{
		"host=example.com",
		"host=example.com&port=443&module=cert&target=x",
		"host=%3B%20rm%20-rf%20%2F",
		"host=%24%28reboot%29",
		"host=a%0Ab",
		"host=%00",
		"host=%C3%28",
		"host=" + strings.Repeat("x", MaxParamBytes+1),
		"host=a&host=b",
		"HOST=upper&host=",
		"port=%E2%80%8F",
		";;&&==",
	} {
		f.Add(seed, "other.example")
	}
	allowed := []string{"host", "port"}
	f.Fuzz(func(t *testing.T, query, other string) {
		values, err := url.ParseQuery(query)
		if err != nil && len(values) == 0 {
			return
		}
		env, key, err := params(allowed, values)
		if err != nil {
			return
		}
		for _, e := range env {
			name, v, ok := strings.Cut(e, "=")
			if !ok || (name != "CORRAL_PARAM_HOST" && name != "CORRAL_PARAM_PORT") {
				t.Fatalf("query %q: environment entry %q is not an allowed parameter", query, e)
			}
			if len(v) > MaxParamBytes || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
				t.Fatalf("query %q: value %q passed", query, v)
			}
		}
		// Another host value is another run, unless it is the same value.
		changed := url.Values{}
		for k, v := range values {
			changed[k] = v
		}
		changed["host"] = []string{other}
		_, key2, err := params(allowed, changed)
		if err != nil {
			return
		}
		same := len(values["host"]) > 0 && values["host"][0] == other
		if (key == key2) != same {
			t.Fatalf("query %q, host %q: keys %q and %q, same value: %v", query, other, key, key2, same)
		}
	})
}
