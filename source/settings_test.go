package source

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestCheckLabelName: the one rule for a label corral adds to a source's
// series, static or the merge label.
func TestCheckLabelName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string
	}{
		{"role", ""},
		{"_x", ""},
		{"A1_b", ""},
		{"", `"" is not a valid label name (letters, digits and '_', not starting with a digit)`},
		{"bad-name", `"bad-name" is not a valid label name (letters, digits and '_', not starting with a digit)`},
		{"0x", `"0x" is not a valid label name (letters, digits and '_', not starting with a digit)`},
		{"é", `"é" is not a valid label name (letters, digits and '_', not starting with a digit)`},
		{"__name__", `"__name__" is reserved: names starting with "__" are Prometheus' own`},
		{"__meta_x", `"__meta_x" is reserved: names starting with "__" are Prometheus' own`},
		{"le", `"le" is reserved: histogram buckets carry it`},
		{"quantile", `"quantile" is reserved: summary quantiles carry it`},
	} {
		have := ""
		if err := CheckLabelName(tc.name); err != nil {
			have = err.Error()
		}
		if have != tc.want {
			t.Errorf("%q: want %q, have %q", tc.name, tc.want, have)
		}
	}
}

// TestSettings: defaults, and every bad label reported under its key, the
// merge label among them.
func TestSettings(t *testing.T) {
	var s Settings
	s.Defaults()
	if !*s.Merge || !*s.Verify {
		t.Errorf("defaults: want merge and verify true, have %v %v", *s.Merge, *s.Verify)
	}
	s.Labels = map[string]string{"ok": "1", "src": "2", "le": "3", "a-b": "4"}
	want := `labels.a-b: "a-b" is not a valid label name (letters, digits and '_', not starting with a digit)` + "\n" +
		`labels.le: "le" is reserved: histogram buckets carry it` + "\n" +
		`labels.src: "src" is the merge label (web.merge_label), which names the source`
	if err := s.Validate("src"); err == nil || err.Error() != want {
		t.Errorf("want:\n%s\nhave:\n%v", want, err)
	}
}

// TestReasons: the reason of a failure, and the status /proxy answers.
func TestReasons(t *testing.T) {
	for _, tc := range []struct {
		err    error
		reason string
		status int
	}{
		{Fail(ReasonParams, errors.New("x")), ReasonParams, 400},
		{Fail(ReasonBusy, errors.New("x")), ReasonBusy, 503},
		{Fail(ReasonTimeout, errors.New("x")), ReasonTimeout, 504},
		{fmt.Errorf("wrapped: %w", Fail(ReasonInvalid, errors.New("x"))), ReasonInvalid, 502},
		{fmt.Errorf("late: %w", context.DeadlineExceeded), ReasonTimeout, 504},
		{errors.New("anything"), ReasonRefused, 502},
	} {
		if r, s := ReasonOf(tc.err), StatusOf(tc.err); r != tc.reason || s != tc.status {
			t.Errorf("%v: want %s %d, have %s %d", tc.err, tc.reason, tc.status, r, s)
		}
	}
}
