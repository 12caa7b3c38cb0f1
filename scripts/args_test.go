package scripts

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

// TestArgs: with allow_args, each args= value is one more argument, never
// through a shell, under the parameters' rules and a bounded count; without
// it, args= is ignored. Runs with other arguments are cached apart.
func TestArgs(t *testing.T) {
	many := url.Values{"args": make([]string, MaxArgs+1)}
	for i := range many["args"] {
		many["args"][i] = "x"
	}
	for _, tc := range []struct {
		name       string
		allow      bool
		query      url.Values
		want       string // the output, or the error
		wantReason string
	}{
		{"off: ignored", false, url.Values{"args": {"a"}}, "arg{i=\"0\",value=\"fixed\"} 1\nargs 1\n", ""},
		{"on, none", true, url.Values{}, "arg{i=\"0\",value=\"fixed\"} 1\nargs 1\n", ""},
		{"on, two", true, url.Values{"args": {"a", "b c"}}, "arg{i=\"0\",value=\"fixed\"} 1\narg{i=\"1\",value=\"a\"} 1\narg{i=\"2\",value=\"b c\"} 1\nargs 3\n", ""},
		{"no shell", true, url.Values{"args": {"$(id);*"}}, "arg{i=\"0\",value=\"fixed\"} 1\narg{i=\"1\",value=\"$(id);*\"} 1\nargs 2\n", ""},
		{"control character", true, url.Values{"args": {"a\nb"}}, `script "args": args[0]: value contains control character U+000A`, source.ReasonParams},
		{"too long", true, url.Values{"args": {strings.Repeat("a", MaxParamBytes+1)}}, `script "args": args[0]: value longer than 1024 bytes`, source.ReasonParams},
		{"too many", true, many, `script "args": args given 17 times: at most 16`, source.ReasonParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(t, "args", Config{Command: []string{testdata(t, "args.sh"), "fixed"}, AllowArgs: tc.allow}, Deps{})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			have, err := scrape(ctx, s.Script, tc.query)
			reason := ""
			if err != nil {
				have, reason = err.Error(), source.ReasonOf(err)
			}
			if have != tc.want || reason != tc.wantReason {
				t.Errorf("want %q (%q), have %q (%q)", tc.want, tc.wantReason, have, reason)
			}
		})
	}
}

// TestArgsCacheKey: a cached result for some arguments is not served for
// others.
func TestArgsCacheKey(t *testing.T) {
	s := newScript(t, "args", Config{Command: []string{testdata(t, "args.sh")}, AllowArgs: true, Cache: duration.Of(time.Hour)}, Deps{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct{ arg, want string }{
		{"a", "arg{i=\"0\",value=\"a\"} 1\nargs 1\n"},
		{"b", "arg{i=\"0\",value=\"b\"} 1\nargs 1\n"},
		{"a", "arg{i=\"0\",value=\"a\"} 1\nargs 1\n"},
	} {
		have, err := scrape(ctx, s.Script, url.Values{"args": {tc.arg}})
		if err != nil || have != tc.want {
			t.Errorf("args=%s: want %q, have %q (%v)", tc.arg, tc.want, have, err)
		}
	}
	if have := s.counter(s.metrics.cacheHits); have != 1 {
		t.Errorf("cache hits: want 1, have %d", have)
	}
}
