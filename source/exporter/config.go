package exporter

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

// Kind is the kind of source this package makes: [exporter.NAME].
const Kind source.Kind = "exporter"

// DefaultTimeout bounds a scrape of an exporter when timeout is left out.
const DefaultTimeout = 10 * time.Second

// Config is an [exporter.NAME] section: an HTTP source.
type Config struct {
	source.Settings
	URL     string            `toml:"url"`
	Timeout duration.Duration `toml:"timeout"`
	// Headers are sent on every request; they are configuration, never
	// shown. The client's own headers are never forwarded.
	Headers         map[string]string `toml:"headers"`
	TLS             TLS               `toml:"tls"`
	BasicAuth       BasicAuth         `toml:"basic_auth"`
	BearerTokenFile string            `toml:"bearer_token_file"`
}

// TLS is how corral talks TLS to the upstream.
type TLS struct {
	CAFile             string `toml:"ca_file"`
	CertFile           string `toml:"cert_file"`
	KeyFile            string `toml:"key_file"`
	ServerName         string `toml:"server_name"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
}

// BasicAuth is the upstream's basic auth; the password is only ever read
// from a file, on every request.
type BasicAuth struct {
	Username     string `toml:"username"`
	PasswordFile string `toml:"password_file"`
}

// Defaults fills what the operator left out of the exporter's own keys.
func (c *Config) Defaults() {
	if c.Timeout == 0 {
		c.Timeout = duration.Of(DefaultTimeout)
	}
}

// Validate reports every problem of the exporter's own keys, each prefixed
// with its key.
func (c *Config) Validate() error {
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
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert_file and key_file go together"))
	}
	if c.BasicAuth.Username != "" && c.BasicAuth.PasswordFile == "" {
		errs = append(errs, errors.New("basic_auth.password_file: missing (passwords are only read from files)"))
	}
	if c.BasicAuth.Username == "" && c.BasicAuth.PasswordFile != "" {
		errs = append(errs, errors.New("basic_auth.username: missing"))
	}
	if c.BearerTokenFile != "" && c.BasicAuth.Username != "" {
		errs = append(errs, errors.New("bearer_token_file: give basic_auth or bearer_token_file, not both"))
	}
	return errors.Join(errs...)
}
