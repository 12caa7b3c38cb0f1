package supervisor

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/corral-metrics/corral/internal/testkit"
)

func TestPump(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	// 'é' is two bytes: placed across the 64 KiB bound it must not be cut.
	split := strings.Repeat("y", maxLine-1) + "é" + "z"
	exact := strings.Repeat("e", maxLine)
	for _, tc := range []struct {
		name, in, format, want string
	}{
		{"lines", "one\ntwo\n", FormatLogfmt, "[p] one\n[p] two\n"},
		{"no final newline", "one\ntwo", FormatLogfmt, "[p] one\n[p] two\n"},
		{"crlf and empty", "a\r\n\nb\n", FormatLogfmt, "[p] a\n[p] \n[p] b\n"},
		{"long line split", long + "\n", FormatLogfmt, "[p] " + long[:maxLine] + "\n[p] xxxxxxxxxx\n"},
		{"line of exactly 64 KiB", exact + "\nnext\n", FormatLogfmt, "[p] " + exact + "\n[p] next\n"},
		{"line of exactly 128 KiB", exact + exact + "\n", FormatLogfmt, "[p] " + exact + "\n[p] " + exact + "\n"},
		{"empty line after a 64 KiB one", exact + "\n\n", FormatLogfmt, "[p] " + exact + "\n[p] \n"},
		{"split on a rune boundary", split + "\n", FormatLogfmt, "[p] " + strings.Repeat("y", maxLine-1) + "\n[p] éz\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out testkit.Buffer
			// One byte at a time: lines must still come out whole.
			pump(iotest.OneByteReader(strings.NewReader(tc.in)), &sink{w: &out}, nil, tc.format, "p", "stdout")
			if have := out.String(); have != tc.want {
				t.Errorf("want %.80q, have %.80q", tc.want, have)
			}
		})
	}
}

func TestPumpJSON(t *testing.T) {
	var out testkit.Buffer
	pump(strings.NewReader("hello \"world\"\t\x01\xff\n"), &sink{w: &out}, nil, FormatJSON, "web", "stderr")
	var have map[string]string
	if err := json.Unmarshal([]byte(out.String()), &have); err != nil {
		t.Fatalf("%v: %q", err, out.String())
	}
	want := map[string]string{"level": "INFO", "msg": "hello \"world\"\t\x01\ufffd", "process": "web", "stream": "stderr"}
	for k, v := range want {
		if have[k] != v {
			t.Errorf("%s: want %q, have %q", k, v, have[k])
		}
	}
	if have["time"] == "" {
		t.Error("no time")
	}
}

func TestChildOutputPrefixed(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	p := helper(t, "talker", rec, "print", "first", "second")
	p.Restart = RestartNever
	h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"talker": p}})
	testkit.Eventually(t, "output", func() bool { return strings.Contains(h.out.String(), "[talker] second\n") })
	if have := h.out.String(); !strings.Contains(have, "[talker] first\n[talker] second\n") {
		t.Errorf("want both lines in order, have %q", have)
	}
}
