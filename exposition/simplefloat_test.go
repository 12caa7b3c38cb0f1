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

// TestCanonicalValue: an le or quantile read in canonical form comes out
// as Prometheus' labels.FormatOpenMetricsFloat writes it (its outputs for
// these inputs written down here), the common forms without strconv.
func TestCanonicalValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1", "1.0"}, {"1.0", "1.0"}, {"10", "10.0"}, {"0.005", "0.005"}, {"2.5", "2.5"}, {"+Inf", "+Inf"},
		{"Inf", "+Inf"}, {"-inf", "-Inf"}, {"NaN", "NaN"}, {"0", "0.0"}, {"-0", "0.0"}, {"-0.0", "0.0"},
		{"0.50", "0.5"}, {"1e3", "1000.0"}, {"1000000", "1e+06"}, {"999999", "999999.0"}, {"0.0001", "0.0001"},
		{"0.00001", "1e-05"}, {"-1", "-1.0"}, {"-0.25", "-0.25"}, {"01", "1.0"}, {"1e400", "1e400"}, {"x", "x"},
		{"", ""}, {"0x1p-2", "0.25"}, {"123456.789012345", "123456.789012345"}, {"0.1000000000000000055511151231257827", "0.1"},
	} {
		if have := string(appendCanonicalValue(nil, []byte(tc.in))); have != tc.want {
			t.Errorf("%q: want %q, have %q", tc.in, tc.want, have)
		}
	}
}

func FuzzSimpleFloat(f *testing.F) {
	for _, v := range []string{"1", "-0.25", "1.5e-07", "1e99", "+Inf", "1.", ".5", "1e", "1e+", "1e123", "1 2", "1\n", "0.0001", "123456.5", "-0"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) == 0 {
			return
		}
		// The canonical form of an le: quickCanonical, where it is
		// sure, is strconv's.
		if quick, ok := quickCanonical(nil, []byte(v)); ok {
			if slow, _ := appendCanonicalFloat(nil, []byte(v)); string(quick) != string(slow) {
				t.Errorf("%q: quickCanonical %q, strconv %q", v, quick, slow)
			}
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
