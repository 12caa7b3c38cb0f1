package exposition

import (
	"strconv"
	"strings"
	"testing"
)

// TestSimpleFloatAgrees holds the fast value check to strconv.ParseFloat,
// which it replaces on the common forms.
func TestSimpleFloatAgrees(t *testing.T) {
	for _, v := range []string{
		"0", "1", "-1", "+1", "1.", ".5", "-.5", ".", "-", "+", "1.5.3", "1e5", "1E5", "1e+05", "1e-07", "1e",
		"1e+", "1e100", "1e400", "-1e400", "1e-400", "12345678901234567890123", "0.000001", "1_000", "0x10",
		"0x1p-2", "Inf", "+Inf", "-Inf", "NaN", "nan", "1e5x", "1..", "--1", "1-", "1e5.5", "١",
	} {
		_, err := strconv.ParseFloat(v, 64)
		want := err == nil && !strings.ContainsAny(v, "pP_") // as before the fast path
		if have := validFloat([]byte(v)); have != want {
			t.Errorf("%q: want %v, have %v", v, want, have)
		}
	}
}

func FuzzSimpleFloat(f *testing.F) {
	for _, v := range []string{"1", "-0.25", "1.5e-07", "1e99", "+Inf", "1.", ".5", "1e", "1e+", "1e123", "1 2", "1\n"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) == 0 {
			return
		}
		ok, sure := simpleFloat([]byte(v))
		// plainValue takes a value before its newline exactly when
		// simpleFloat is sure it is valid.
		if n := plainValue([]byte(v + "\n")); !strings.Contains(v, "\n") && ((n == len(v)) != (ok && sure) || n != 0 && n != len(v)) {
			t.Errorf("%q: plainValue %d, simpleFloat %v sure %v", v, n, ok, sure)
		}
		if !sure {
			return
		}
		_, err := strconv.ParseFloat(v, 64)
		if ok != (err == nil) {
			t.Errorf("%q: simpleFloat says %v, ParseFloat %v", v, ok, err)
		}
	})
}
