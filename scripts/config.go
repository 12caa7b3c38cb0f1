package scripts

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

// Kind is the kind of source this package makes: [script.NAME].
const Kind source.Kind = "script"

// The defaults of a [script.NAME] section, each written here once.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultMaxConcurrent = 1
)

// Config is a [script.NAME] section: an on-demand script source.
type Config struct {
	source.Settings
	Command       []string          `toml:"command"`
	Timeout       duration.Duration `toml:"timeout"`
	Params        []string          `toml:"params"`
	Cache         duration.Duration `toml:"cache"`
	StaleOnError  bool              `toml:"stale_on_error"`
	MaxConcurrent int               `toml:"max_concurrent"`
	Env           map[string]string `toml:"env"`
	Dir           string            `toml:"dir"`
	// AllowArgs passes each args= value of a request as one more argument
	// (exporter_exporter's exec args); off by default: see argsOf.
	AllowArgs bool `toml:"allow_args"`
}

// Defaults fills what the operator left out of the script's own keys.
func (c *Config) Defaults() {
	if c.Timeout == 0 {
		c.Timeout = duration.Of(DefaultTimeout)
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
}

// Validate reports every problem of the script's own keys, each prefixed
// with its key.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Command) == 0 || c.Command[0] == "" {
		errs = append(errs, errors.New("command: missing"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must be positive"))
	}
	if c.Cache < 0 {
		errs = append(errs, errors.New("cache: must be 0 or positive"))
	}
	if c.MaxConcurrent < 0 {
		errs = append(errs, errors.New("max_concurrent: must be positive"))
	}
	envOf := make(map[string]string, len(c.Params))
	for i, p := range c.Params {
		if p == "module" {
			errs = append(errs, fmt.Errorf("params[%d]: %q is reserved: /proxy's first module= names the source", i, p))
			continue
		}
		if !validParam(p) {
			errs = append(errs, fmt.Errorf("params[%d]: %q must be letters, digits and underscores", i, p))
			continue
		}
		// Each is passed as CORRAL_PARAM_<NAME>: two names that differ only
		// in case would be one variable.
		if prev, ok := envOf[strings.ToUpper(p)]; ok {
			errs = append(errs, fmt.Errorf("params[%d]: %q and %q are both passed as %s%s", i, prev, p, paramEnvPrefix, strings.ToUpper(p)))
			continue
		}
		envOf[strings.ToUpper(p)] = p
	}
	return errors.Join(errs...)
}

func validParam(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
