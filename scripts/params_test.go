package scripts

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

// TestParams passes hostile values to a real script: accepted values reach
// it verbatim as CORRAL_PARAM_HOST and are never evaluated; refused ones get
// 400 and start nothing.
func TestParams(t *testing.T) {
	dir := t.TempDir()
	out, pwned := filepath.Join(dir, "param"), filepath.Join(dir, "pwned")
	f := newScript(t, "params", Config{
		Command: []string{testdata(t, "env.sh")},
		Timeout: duration.Of(time.Minute),
		Params:  []string{"host"},
		Env:     map[string]string{"OUT": out},
	}, Deps{})

	for _, tc := range []struct {
		name   string
		values url.Values
		want   string // what the script received, or the error
	}{
		{"shell separator", url.Values{"host": {"; rm -rf /"}}, "; rm -rf /"},
		{"command substitution", url.Values{"host": {"$(touch " + pwned + ")"}}, "$(touch " + pwned + ")"},
		{"backquotes", url.Values{"host": {"`touch " + pwned + "`"}}, "`touch " + pwned + "`"},
		{"quotes", url.Values{"host": {`'"\`}}, `'"\`},
		{"unicode", url.Values{"host": {"héllo.example"}}, "héllo.example"},
		{"first of many", url.Values{"host": {"a", "b"}}, "a"},
		{"longest allowed", url.Values{"host": {strings.Repeat("x", MaxParamBytes)}}, strings.Repeat("x", MaxParamBytes)},
		{"unknown ignored", url.Values{"target": {"x"}, "module": {"params"}}, ""},
		{"empty value", url.Values{"host": {""}}, ""},
		{"newline", url.Values{"host": {"a\nb"}}, `script "params": param "host": value contains control character U+000A`},
		{"carriage return", url.Values{"host": {"a\rb"}}, `script "params": param "host": value contains control character U+000D`},
		{"NUL", url.Values{"host": {"a\x00b"}}, `script "params": param "host": value contains control character U+0000`},
		{"escape", url.Values{"host": {"\x1b[2J"}}, `script "params": param "host": value contains control character U+001B`},
		{"C1 control", url.Values{"host": {"a\u0085b"}}, `script "params": param "host": value contains control character U+0085`},
		{"not UTF-8", url.Values{"host": {"a\xffb"}}, `script "params": param "host": value is not valid UTF-8`},
		{"100 KB", url.Values{"host": {strings.Repeat("x", 100<<10)}}, `script "params": param "host": value longer than 1024 bytes`},
	} {
		os.Remove(out)
		_, err := scrape(context.Background(), f.Script, tc.values)
		var have string
		if err != nil {
			have = err.Error()
			if source.StatusOf(err) != 400 {
				t.Errorf("%s: want status 400, have %d", tc.name, source.StatusOf(err))
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Errorf("%s: refused, yet the script ran", tc.name)
			}
		} else {
			b, readErr := os.ReadFile(out)
			if readErr != nil {
				t.Fatalf("%s: %v", tc.name, readErr)
			}
			have = string(b)
		}
		if have != tc.want {
			t.Errorf("%s: want %.80q, have %.80q", tc.name, tc.want, have)
		}
	}
	if _, err := os.Stat(pwned); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a parameter was evaluated by a shell: %s exists", pwned)
	}
}

func TestParamKeys(t *testing.T) {
	allowed := []string{"host", "port"}
	for _, tc := range []struct {
		a, b url.Values
		same bool
	}{
		{nil, url.Values{}, true},
		{nil, url.Values{"target": {"x"}}, true}, // unknown params do not split runs
		{url.Values{"host": {"a"}}, url.Values{"host": {"a"}, "x": {"y"}}, true},
		{url.Values{"host": {"a"}}, url.Values{"host": {"b"}}, false},
		{url.Values{"host": {"a"}}, url.Values{"port": {"a"}}, false},
		{url.Values{"host": {""}}, nil, false}, // present but empty is not absent
		{url.Values{"host": {"a", "port"}}, url.Values{"host": {"a"}, "port": {""}}, false},
	} {
		_, ka, errA := params(allowed, tc.a)
		_, kb, errB := params(allowed, tc.b)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if (ka == kb) != tc.same {
			t.Errorf("%v vs %v: want same key %v, have %q and %q", tc.a, tc.b, tc.same, ka, kb)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Command: []string{"x"}, Params: []string{"host", "port"}}, ""},
		{Config{}, "command: missing"},
		{Config{Command: []string{"x"}, Params: []string{"host", "HOST"}}, `params[1]: "host" and "HOST" are both passed as CORRAL_PARAM_HOST`},
		{Config{Command: []string{"x"}, Params: []string{"a-b"}}, `params[0]: "a-b" must be letters, digits and underscores`},
		{Config{Command: []string{"x"}, Params: []string{"module"}}, `params[0]: "module" is reserved: /proxy's first module= names the source`},
		{Config{Command: []string{"x"}, Timeout: duration.Of(-1)}, "timeout: must be positive"},
	} {
		have := ""
		if err := tc.cfg.Validate(); err != nil {
			have = err.Error()
		}
		if have != tc.want {
			t.Errorf("%+v: want %q, have %q", tc.cfg, tc.want, have)
		}
	}
}

func TestLogStderr(t *testing.T) {
	long := strings.Repeat("y", maxStderrLine+100)
	for _, tc := range []struct {
		in   string
		want []string // messages logged
	}{
		{"", nil},
		{"one\ntwo\n", []string{"one", "two"}},
		{"no newline at end", []string{"no newline at end"}},
		{"crlf\r\n", []string{"crlf"}},
		{long + "\nnext\n", []string{long[:maxStderrLine] + " (truncated)", "next"}},
	} {
		var have []string
		s := &Script{logger: slog.New(recorder{&have})}
		s.logStderr(io.NopCloser(strings.NewReader(tc.in)))
		if strings.Join(have, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%.40q: want %.60q, have %.60q", tc.in, tc.want, have)
		}
	}
}

// recorder is a slog handler that keeps each message, marking truncation.
type recorder struct{ msgs *[]string }

func (r recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r recorder) Handle(_ context.Context, rec slog.Record) error {
	msg := rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "truncated" {
			msg += " (truncated)"
		}
		return true
	})
	*r.msgs = append(*r.msgs, msg)
	return nil
}
func (r recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r recorder) WithGroup(string) slog.Handler      { return r }
