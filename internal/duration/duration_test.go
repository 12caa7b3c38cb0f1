package duration

import (
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestDecode: what TOML values read as a Duration, and the exact error of
// those that do not.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{`d = "5s"`, 5 * time.Second, ""},
		{`d = "1m30s"`, 90 * time.Second, ""},
		{`d = "-1s"`, -time.Second, ""},
		{`d = "0s"`, 0, ""},
		{`d = 10`, 0, `toml: line 1 (last key "d"): a duration is a string with a unit, such as "5s" (have 10)`},
		{`d = "10"`, 0, `toml: line 1 (last key "d"): a duration is a string with a unit, such as "5s" (have 10)`},
		{`d = 1.5`, 0, `toml: line 1 (last key "d"): a duration is a string with a unit, such as "5s" (have 1.500000)`},
		{`d = "5 parsecs"`, 0, `toml: line 1 (last key "d"): invalid duration "5 parsecs": want a number with a unit (ns, us, ms, s, m, h), such as "5s"`},
		{`d = true`, 0, `toml: line 1 (last key "d"): invalid duration "true": want a number with a unit (ns, us, ms, s, m, h), such as "5s"`},
	} {
		var v struct {
			D Duration `toml:"d"`
		}
		_, err := toml.Decode(tc.in, &v)
		have := ""
		if err != nil {
			have = err.Error()
		}
		if have != tc.err || v.D.Std() != tc.want {
			t.Errorf("%s: want %v %q, have %v %q", tc.in, tc.want, tc.err, v.D, have)
		}
	}
}

// TestRoundTrip: what MarshalText writes, UnmarshalText reads back.
func TestRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{0, time.Millisecond, 1500 * time.Millisecond, 90 * time.Minute} {
		text, _ := Of(d).MarshalText()
		var back Duration
		if err := back.UnmarshalText(text); err != nil || back.Std() != d {
			t.Errorf("want %v, have %v (%s, %v)", d, back, text, err)
		}
	}
}
