// Package duration owns how the configuration writes a length of time: a
// string with a unit ("500ms", "5s", "1m30s"), never a bare number, which
// BurntSushi/toml would otherwise take as nanoseconds. It is a leaf that
// every package with a config struct imports (supervisor, scripts, the
// source kinds, the gateway), so the rule lives once.
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration read from TOML as a string with a unit.
type Duration time.Duration

// Of converts a time.Duration, for literals in code and tests.
func Of(d time.Duration) Duration { return Duration(d) }

// Std is the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String writes the duration as time.Duration does ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as String does; it reads back the same.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a duration with a unit. A bare number, which TOML
// hands over as its digits, is refused: it would mean nanoseconds.
func (d *Duration) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return fmt.Errorf("a duration is a string with a unit, such as \"5s\" (have %s)", s)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a number with a unit (ns, us, ms, s, m, h), such as \"5s\"", s)
	}
	*d = Duration(v)
	return nil
}
