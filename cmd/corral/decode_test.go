package main

import (
	"fmt"
	"testing"
)

// TestNeutralize: the refused value, and only it, is replaced, in every way
// TOML may write it on its line.
func TestNeutralize(t *testing.T) {
	for _, tc := range []struct {
		text, key string
		line      int
		want      string
	}{
		{"a = 1\ntimeout = 30\n", "task.t.timeout", 2, "a = 1\ntimeout = \"0s\"\n"},
		{"timeout = \"5 parsecs\" # why\n", "x.timeout", 1, "timeout = \"0s\" # why\n"},
		{"timeout = '5 parsecs'\n", "x.timeout", 1, "timeout = \"0s\"\n"},
		{"backoff = { initial = \"1s\", max = 60, reset = \"soon\" }\n", "p.backoff.max", 1, "backoff = { initial = \"1s\", max = \"0s\", reset = \"soon\" }\n"},
		{"backoff = { max = \"1s\", reset = \"so\\\"on\" }\n", "p.backoff.reset", 1, "backoff = { max = \"1s\", reset = \"0s\" }\n"},
		{"\"timeout\" = 3\n", `x."timeout"`, 1, "\"timeout\" = \"0s\"\n"},
		{"timeouts = 3\n", "x.timeout", 1, "timeouts = 3\n"}, // another key: unchanged
		{"timeout = 3\n", "x.timeout", 5, "timeout = 3\n"},   // no such line: unchanged
	} {
		if have := neutralize(tc.text, tc.line, parseKey(tc.key), "0s"); have != tc.want {
			t.Errorf("%q at %s: want %q, have %q", tc.text, tc.key, tc.want, have)
		}
	}
}

// TestParseKey: a dotted key as toml writes it, quoted parts included.
func TestParseKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a.b.c", `["a" "b" "c"]`},
		{`file."a b".path`, `["file" "a b" "path"]`},
		{`"x.y".z`, `["x.y" "z"]`},
		{`"open`, `["\"open"]`},
	} {
		if have := fmt.Sprintf("%q", []string(parseKey(tc.in))); have != tc.want {
			t.Errorf("%s: want %s, have %s", tc.in, tc.want, have)
		}
	}
}
