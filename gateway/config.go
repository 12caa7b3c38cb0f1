package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

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
	// ScrapeTimeout bounds a scrape when the client sends no
	// X-Prometheus-Scrape-Timeout-Seconds.
	ScrapeTimeout time.Duration `toml:"scrape_timeout"`
	// SelfSource names corral's own metrics in the merge; MergeSelf = false
	// leaves them out of /metrics.
	SelfSource string `toml:"self_source"`
	MergeSelf  *bool  `toml:"merge_self"`
}

// Defaults fills what the operator left out.
func (c *WebConfig) Defaults() {
	if c.ListenAddress == "" {
		c.ListenAddress = ":9999"
	}
	if c.MergeLabel == "" {
		c.MergeLabel = "exporter"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 32 << 20
	}
	if c.ScrapeTimeout == 0 {
		c.ScrapeTimeout = 10 * time.Second
	}
	if c.SelfSource == "" {
		c.SelfSource = "corral"
	}
	if c.MaxConcurrentScrapes == 0 {
		c.MaxConcurrentScrapes = DefaultMaxConcurrentScrapes
	}
	if c.MaxInflightBytes == 0 {
		c.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if c.MergeSelf == nil {
		c.MergeSelf = ptr(true)
	}
}

// RestartKeys names the [web] keys that differ between old and new and
// that only a restart applies: every key but the access control and limits.
func RestartKeys(old, new WebConfig) []string {
	var keys []string
	o, n := reflect.ValueOf(old), reflect.ValueOf(new)
	for i := range o.NumField() {
		key, _, _ := strings.Cut(o.Type().Field(i).Tag.Get("toml"), ",")
		switch key {
		case "allow_networks", "bearer_token_file", "trusted_proxies", "max_concurrent_scrapes", "max_inflight_bytes":
			continue // applied by Gateway.SetAccess
		}
		if !reflect.DeepEqual(o.Field(i).Interface(), n.Field(i).Interface()) {
			keys = append(keys, key)
		}
	}
	return keys
}

// Validate reports every problem, each prefixed with its key.
func (c *WebConfig) Validate() error {
	var errs []error
	if !validLabelName(c.MergeLabel) {
		errs = append(errs, fmt.Errorf("merge_label: %q is not a valid label name", c.MergeLabel))
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
	return errors.Join(errs...)
}

// ExporterConfig is an [exporter.NAME] section: an HTTP source.
type ExporterConfig struct {
	URL       string            `toml:"url"`
	Process   string            `toml:"process"`
	Timeout   time.Duration     `toml:"timeout"`
	Verify    *bool             `toml:"verify"`
	Merge     *bool             `toml:"merge"`
	Labels    map[string]string `toml:"labels"`
	Headers   map[string]string `toml:"headers"`
	TLS       TLSConfig         `toml:"tls"`
	BasicAuth BasicAuth         `toml:"basic_auth"`
}

// TLSConfig is how corral talks TLS to an upstream.
type TLSConfig struct {
	CAFile             string `toml:"ca_file"`
	CertFile           string `toml:"cert_file"`
	KeyFile            string `toml:"key_file"`
	ServerName         string `toml:"server_name"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
}

// BasicAuth is the upstream's basic auth; the password is only ever read from a file.
type BasicAuth struct {
	Username     string `toml:"username"`
	PasswordFile string `toml:"password_file"`
}

// Defaults fills what the operator left out.
func (c *ExporterConfig) Defaults() {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Verify == nil {
		c.Verify = ptr(true)
	}
	if c.Merge == nil {
		c.Merge = ptr(true)
	}
}

// Validate reports every problem, each prefixed with its key.
func (c *ExporterConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("url: missing"))
	} else if u, err := url.Parse(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url: %q must be an absolute http or https URL", c.URL))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must be positive"))
	}
	errs = append(errs, validateLabels(c.Labels))
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert_file and key_file go together"))
	}
	if c.BasicAuth.Username != "" && c.BasicAuth.PasswordFile == "" {
		errs = append(errs, errors.New("basic_auth.password_file: missing (passwords are only read from files)"))
	}
	return errors.Join(errs...)
}

// FileConfig is a [file.NAME] section: a textfile read on every scrape.
type FileConfig struct {
	Path   string            `toml:"path"`
	Merge  *bool             `toml:"merge"`
	Labels map[string]string `toml:"labels"`
}

// Defaults fills what the operator left out.
func (c *FileConfig) Defaults() {
	if c.Merge == nil {
		c.Merge = ptr(true)
	}
}

// Validate reports every problem, each prefixed with its key.
func (c *FileConfig) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path: missing"))
	}
	errs = append(errs, validateLabels(c.Labels))
	return errors.Join(errs...)
}

func validateLabels(labels map[string]string) error {
	var errs []error
	for k := range labels {
		if !validLabelName(k) || strings.HasPrefix(k, "__") {
			errs = append(errs, fmt.Errorf("labels.%s: not a valid label name", k))
		}
	}
	return errors.Join(errs...)
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

func ptr[T any](v T) *T { return &v }

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
