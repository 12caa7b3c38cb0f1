package gateway

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
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

// TestRunning: after a reload, [web] runs with the new values of the keys
// a reload applies and the running values of every other key, each of
// which RestartKeys names when it changed.
func TestRunning(t *testing.T) {
	var running WebConfig
	running.Defaults()
	no := false
	next := WebConfig{
		ListenAddress: ":1", WebConfigFile: "web.yml", MergeLabel: "job", MaxBodyBytes: 1 << 20,
		AllowNetworks: []string{"10.0.0.0/8"}, BearerTokenFile: "/run/secrets/t", TrustedProxies: []string{"10.1.0.0/16"},
		MaxConcurrentScrapes: 3, MaxInflightBytes: 1 << 24, MaxConnections: 7, ScrapeTimeout: duration.Of(time.Second),
		SelfSource: "me", MergeSelf: &no, DefaultModule: "node", ExternalAddress: "corral:9999", Control: true,
	}
	want := running
	want.AllowNetworks, want.BearerTokenFile, want.TrustedProxies = next.AllowNetworks, next.BearerTokenFile, next.TrustedProxies
	want.MaxConcurrentScrapes, want.MaxInflightBytes, want.MaxConnections = next.MaxConcurrentScrapes, next.MaxInflightBytes, next.MaxConnections
	want.DefaultModule, want.ExternalAddress, want.Control = next.DefaultModule, next.ExternalAddress, next.Control
	if have := Running(running, next); !reflect.DeepEqual(have, want) {
		t.Errorf("Running:\nwant %+v\nhave %+v", want, have)
	}
	const restart = "listen_address web_config_file merge_label max_body_bytes scrape_timeout self_source merge_self"
	if have := strings.Join(RestartKeys(running, next), " "); have != restart {
		t.Errorf("RestartKeys: want %q, have %q", restart, have)
	}
	if have := RestartKeys(running, Running(running, next)); len(have) != 0 {
		t.Errorf("RestartKeys of what runs: want none, have %q", have)
	}
}
