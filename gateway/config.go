package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

// The defaults of [web], each written here once.
const (
	DefaultListenAddress = ":9999"
	DefaultMergeLabel    = "exporter"
	DefaultSelfSource    = "corral"
	DefaultScrapeTimeout = 10 * time.Second
)

// familyLabel is the label of corral_merge_conflicts_total naming the
// family left out; the merge label, which that metric carries beside it,
// cannot be the same.
const familyLabel = "family"

// WebConfig is the [web] section: the one exposed port and how it is guarded.
type WebConfig struct {
	ListenAddress   string   `toml:"listen_address"`
	WebConfigFile   string   `toml:"web_config_file"`
	MergeLabel      string   `toml:"merge_label"`
	MaxBodyBytes    ByteSize `toml:"max_body_bytes"`
	AllowNetworks   []string `toml:"allow_networks"`
	BearerTokenFile string   `toml:"bearer_token_file"`
	// TrustedProxies are the peers (CIDRs) whose X-Forwarded-For is believed
	// when checking allow_networks; empty: X-Forwarded-For is ignored.
	TrustedProxies []string `toml:"trusted_proxies"`
	// MaxConcurrentScrapes bounds scrapes of /metrics and /proxy in flight;
	// more get 503 at once.
	MaxConcurrentScrapes int `toml:"max_concurrent_scrapes"`
	// MaxInflightBytes bounds the memory held for answers in flight; past
	// it, scrapes get 503 at once.
	MaxInflightBytes ByteSize `toml:"max_inflight_bytes"`
	// MaxConnections bounds the client connections open at once; one past
	// it closes the connection waiting longest without a request.
	MaxConnections int `toml:"max_connections"`
	// ScrapeTimeout bounds a scrape when the client sends no
	// X-Prometheus-Scrape-Timeout-Seconds.
	ScrapeTimeout duration.Duration `toml:"scrape_timeout"`
	// SelfSource names corral's own metrics in the merge; MergeSelf = false
	// leaves them out of /metrics.
	SelfSource string `toml:"self_source"`
	MergeSelf  *bool  `toml:"merge_self"`
	// DefaultModule is served by /proxy when the request names no module
	// (exporter_exporter's defaultModule); "": module is required.
	DefaultModule string `toml:"default_module"`
	// ExternalAddress is the host:port /-/sd gives Prometheus as every
	// target's address; "": the Host the client used.
	ExternalAddress string `toml:"external_address"`
	// Control turns on the control API's actions (start, stop, restart,
	// signal a process); off by default, as it changes state.
	Control bool `toml:"control"`
}

// Defaults fills what the operator left out.
func (c *WebConfig) Defaults() {
	if c.ListenAddress == "" {
		c.ListenAddress = DefaultListenAddress
	}
	if c.MergeLabel == "" {
		c.MergeLabel = DefaultMergeLabel
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = source.DefaultMaxBodyBytes
	}
	if c.ScrapeTimeout == 0 {
		c.ScrapeTimeout = duration.Of(DefaultScrapeTimeout)
	}
	if c.SelfSource == "" {
		c.SelfSource = DefaultSelfSource
	}
	if c.MaxConcurrentScrapes == 0 {
		c.MaxConcurrentScrapes = DefaultMaxConcurrentScrapes
	}
	if c.MaxInflightBytes == 0 {
		c.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MergeSelf == nil {
		mergeSelf := true
		c.MergeSelf = &mergeSelf
	}
}

// appliedOnReload tells whether a reload applies the [web] key (through
// Gateway.SetAccess): the access control, the limits, default_module,
// external_address and control. Every other key takes effect on restart.
func appliedOnReload(key string) bool {
	switch key {
	case "allow_networks", "bearer_token_file", "trusted_proxies", "max_concurrent_scrapes", "max_inflight_bytes", "max_connections",
		"default_module", "external_address", "control":
		return true
	}
	return false
}

// RestartKeys names the [web] keys that differ between old and new and
// that only a restart applies.
func RestartKeys(old, new WebConfig) []string {
	var keys []string
	o, n := reflect.ValueOf(old), reflect.ValueOf(new)
	for i := range o.NumField() {
		key := tomlKey(o.Type().Field(i))
		if !appliedOnReload(key) && !reflect.DeepEqual(o.Field(i).Interface(), n.Field(i).Interface()) {
			keys = append(keys, key)
		}
	}
	return keys
}

// Running is the [web] that runs after a reload from running to next:
// next's values of the keys a reload applies, running's of the others
// (the listen address, the merge label, the self source...), which
// take effect on restart only. A reload is checked against it.
func Running(running, next WebConfig) WebConfig {
	out := next
	o, r := reflect.ValueOf(&out).Elem(), reflect.ValueOf(running)
	for i := range o.NumField() {
		if !appliedOnReload(tomlKey(o.Type().Field(i))) {
			o.Field(i).Set(r.Field(i))
		}
	}
	return out
}

func tomlKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return key
}

// Validate reports every problem, each prefixed with its key.
func (c *WebConfig) Validate() error {
	var errs []error
	if err := source.CheckLabelName(c.MergeLabel); err != nil {
		errs = append(errs, fmt.Errorf("merge_label: %w", err))
	} else if c.MergeLabel == familyLabel {
		errs = append(errs, fmt.Errorf("merge_label: %q is taken: corral_merge_conflicts_total names the family left out with it", c.MergeLabel))
	}
	if c.ScrapeTimeout < 0 {
		errs = append(errs, errors.New("scrape_timeout: must be positive"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("max_body_bytes: must be positive"))
	}
	for i, n := range c.AllowNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			errs = append(errs, fmt.Errorf("allow_networks[%d]: %w", i, err))
		}
	}
	for i, n := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(n); err != nil {
			errs = append(errs, fmt.Errorf("trusted_proxies[%d]: %w", i, err))
		}
	}
	if len(c.TrustedProxies) > 0 && len(c.AllowNetworks) == 0 {
		errs = append(errs, errors.New("trusted_proxies: only used with allow_networks, which is empty"))
	}
	if c.MaxConcurrentScrapes < 0 {
		errs = append(errs, errors.New("max_concurrent_scrapes: must be positive"))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, errors.New("max_connections: must be positive"))
	}
	if err := CheckListenAddress(c.ListenAddress); err != nil {
		errs = append(errs, fmt.Errorf("listen_address: %w", err))
	}
	if c.ExternalAddress != "" {
		if err := checkHostPort(c.ExternalAddress); err != nil {
			errs = append(errs, fmt.Errorf("external_address: %w", err))
		}
	}
	return errors.Join(errs...)
}

// CheckListenAddress tells why the server could not listen on s, as far as
// its syntax says, without binding: it is host:port, the host empty (every
// address), an IP address or a host name, the port a number from 0 to
// 65535 or a service name.
func CheckListenAddress(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return fmt.Errorf("%q: %s (want host:port, such as \":9999\" or \"127.0.0.1:9999\")", s, ae.Err)
		}
		return fmt.Errorf("%q: %w", s, err)
	}
	if n, err := strconv.Atoi(port); err == nil {
		if n < 0 || n > 65535 {
			return fmt.Errorf("%q: port %d: want 0 to 65535", s, n)
		}
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("%q: port %q: want a number from 0 to 65535 or a service name", s, port)
	}
	if _, err := netip.ParseAddr(host); host == "" || err == nil {
		return nil
	}
	if err := checkHostPort(host); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	return nil
}

// ByteSize is a size in bytes written with a unit: "32MiB", "512KiB", "1GB", or a bare number of bytes.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// UnmarshalText parses a size with one of the units KiB, MiB, GiB, KB, MB, GB, B.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, factor = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/factor {
		return fmt.Errorf("invalid size %q: want a positive number with a unit such as 512KiB, 32MiB, 1GiB", string(text))
	}
	*b = ByteSize(n * factor)
	return nil
}

// MarshalText writes the size back in the largest exact binary unit.
func (b ByteSize) MarshalText() ([]byte, error) {
	n := int64(b)
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.factor && n%u.factor == 0 {
			return []byte(strconv.FormatInt(n/u.factor, 10) + u.suffix), nil
		}
	}
	return []byte(strconv.FormatInt(n, 10) + "B"), nil
}
