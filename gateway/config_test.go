package gateway

import (
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// TestWebConfigMergeLabel: the merge label is a label name corral can add
// to every series, and not one corral's own metrics already carry beside it.
func TestWebConfigMergeLabel(t *testing.T) {
	for _, tc := range []struct {
		label string
		want  string
	}{
		{"exporter", ""},
		{"source_name", ""},
		{"1bad", `merge_label: "1bad" is not a valid label name (letters, digits and '_', not starting with a digit)`},
		{"bad-name", `merge_label: "bad-name" is not a valid label name (letters, digits and '_', not starting with a digit)`},
		{"__name__", `merge_label: "__name__" is reserved: names starting with "__" are Prometheus' own`},
		{"le", `merge_label: "le" is reserved: histogram buckets carry it`},
		{"quantile", `merge_label: "quantile" is reserved: summary quantiles carry it`},
		{"family", `merge_label: "family" is taken: corral_merge_conflicts_total names the family left out with it`},
	} {
		c := WebConfig{MergeLabel: tc.label}
		c.Defaults()
		have := ""
		if err := c.Validate(); err != nil {
			have = err.Error()
		}
		if have != tc.want {
			t.Errorf("%s: want %q, have %q", tc.label, tc.want, have)
		}
	}
}

// TestWebConfigDefaults: what [web] is when left out.
func TestWebConfigDefaults(t *testing.T) {
	var c WebConfig
	c.Defaults()
	have := strings.Join([]string{c.ListenAddress, c.MergeLabel, c.SelfSource, c.ScrapeTimeout.String(), string(must(c.MaxBodyBytes.MarshalText()))}, " ")
	if want := ":9999 exporter corral 10s 32MiB"; have != want {
		t.Errorf("want %s, have %s", want, have)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
