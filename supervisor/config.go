package supervisor

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/duration"
)

// Config is the [supervisor] section.
type Config struct {
	// StopTimeout bounds the whole shutdown, from the first stop signal to
	// the last SIGKILL; with the final sweep it must fit in Docker's 10 s.
	StopTimeout duration.Duration `toml:"stop_timeout"`
	// ProcessStopTimeout is a process's own grace between its stop signal
	// and SIGKILL when its section sets none; the main process's and the
	// tasks' too. At most StopTimeout; by default half of it, so that the
	// other half is left for stopping in reverse dependency order.
	ProcessStopTimeout duration.Duration `toml:"process_stop_timeout"`
	// StartTimeout, if set, bounds start-up (tasks, then every process ready
	// or failed): past it the appliance stops with exit code 1.
	StartTimeout duration.Duration `toml:"start_timeout"`
	// MainOutput is where the main process's stdout and stderr go:
	// MainOutputInherit (the default) or MainOutputPrefix.
	MainOutput string `toml:"main_output"`
}

// Values of [supervisor] main_output.
const (
	MainOutputInherit = "inherit" // corral's own streams, untouched, as under tini
	MainOutputPrefix  = "prefix"  // like any process's: "[main] " lines in corral's log format
)

// Defaults fills what the operator left out.
func (c *Config) Defaults() {
	if c.StopTimeout == 0 {
		c.StopTimeout = duration.Of(8 * time.Second)
	}
	if c.ProcessStopTimeout == 0 {
		c.ProcessStopTimeout = c.StopTimeout / 2
	}
	if c.MainOutput == "" {
		c.MainOutput = MainOutputInherit
	}
}

// Validate reports every problem, each prefixed with its key.
func (c *Config) Validate() error {
	var errs []error
	if c.StopTimeout < 0 {
		errs = append(errs, errors.New("stop_timeout: must be positive"))
	}
	if c.ProcessStopTimeout < 0 || c.ProcessStopTimeout > c.StopTimeout {
		errs = append(errs, fmt.Errorf("process_stop_timeout: want 0 < process_stop_timeout (%s) <= stop_timeout (%s)", c.ProcessStopTimeout, c.StopTimeout))
	}
	if c.StartTimeout < 0 {
		errs = append(errs, errors.New("start_timeout: must be positive"))
	}
	if c.MainOutput != MainOutputInherit && c.MainOutput != MainOutputPrefix {
		errs = append(errs, fmt.Errorf("main_output: %q is not one of inherit, prefix", c.MainOutput))
	}
	return errors.Join(errs...)
}

// ProcessConfig is a [process.NAME] section: a supervised long-running child.
type ProcessConfig struct {
	Command       []string          `toml:"command"`
	Env           map[string]string `toml:"env"`
	Dir           string            `toml:"dir"`
	User          string            `toml:"user"`
	Restart       string            `toml:"restart"`
	Backoff       Backoff           `toml:"backoff"`
	MaxRestarts   int               `toml:"max_restarts"`
	RestartWindow duration.Duration `toml:"restart_window"`
	Critical      bool              `toml:"critical"`
	DependsOn     []string          `toml:"depends_on"`
	Ready         Ready             `toml:"ready"`
	StopSignal    string            `toml:"stop_signal"`
	// StopTimeout is this process's grace between its stop signal and
	// SIGKILL; 0: [supervisor] process_stop_timeout. At most [supervisor]
	// stop_timeout.
	StopTimeout duration.Duration `toml:"stop_timeout"`
	// Autostart false leaves the process stopped until a start through the
	// control API; default true.
	Autostart *bool `toml:"autostart"`
	// SuccessExitCodes are exit codes that count as success besides 0, for
	// restart = "on-failure" and critical.
	SuccessExitCodes []int `toml:"success_exit_codes"`
}

// autostart tells whether the process starts with the appliance (the default).
func (c *ProcessConfig) autostart() bool { return c.Autostart == nil || *c.Autostart }

// success tells whether an exit code counts as success.
func (c *ProcessConfig) success(code int) bool {
	return code == 0 || slices.Contains(c.SuccessExitCodes, code)
}

// Backoff bounds the exponential, jittered delay between restarts: the first
// restart waits Initial, each next one twice as long (plus up to 20% jitter),
// at most Max. A run that lasted Reset (default 10s) counts as stable and
// starts the sequence again at Initial.
type Backoff struct {
	Initial duration.Duration `toml:"initial"`
	Max     duration.Duration `toml:"max"`
	Reset   duration.Duration `toml:"reset"`
}

// Ready is a readiness check: exactly one of HTTP, TCP, Exec or NotifyFD,
// or none.
type Ready struct {
	HTTP string   `toml:"http"`
	TCP  string   `toml:"tcp"`
	Exec []string `toml:"exec"`
	// NotifyFD is s6's notification-fd protocol: the process gets a pipe
	// on this descriptor (3 or more) and writes a newline to it when ready.
	NotifyFD int               `toml:"notify_fd"`
	Interval duration.Duration `toml:"interval"`
	Timeout  duration.Duration `toml:"timeout"`
}

// kind names the check: "http", "tcp", "exec", or "" for none.
func (r Ready) kind() string {
	switch {
	case r.HTTP != "":
		return "http"
	case r.TCP != "":
		return "tcp"
	case len(r.Exec) > 0:
		return "exec"
	case r.NotifyFD != 0:
		return "notify"
	}
	return ""
}

// Restart policies.
const (
	RestartAlways    = "always"
	RestartOnFailure = "on-failure"
	RestartNever     = "never"
)

// Defaults fills what the operator left out.
func (c *ProcessConfig) Defaults() {
	if c.Restart == "" {
		c.Restart = RestartAlways
	}
	if c.Backoff.Initial == 0 {
		c.Backoff.Initial = duration.Of(500 * time.Millisecond)
	}
	if c.Backoff.Max == 0 {
		c.Backoff.Max = max(duration.Of(30*time.Second), c.Backoff.Initial)
	}
	if c.Backoff.Reset == 0 {
		c.Backoff.Reset = duration.Of(10 * time.Second)
	}
	if c.RestartWindow == 0 {
		c.RestartWindow = duration.Of(5 * time.Minute)
	}
	if c.StopSignal == "" {
		c.StopSignal = "SIGTERM"
	}
	if c.Ready.Interval == 0 {
		c.Ready.Interval = duration.Of(250 * time.Millisecond)
	}
	if c.Ready.Timeout == 0 {
		c.Ready.Timeout = duration.Of(60 * time.Second)
	}
}

// maxNotifyFD bounds ready.notify_fd: a higher descriptor would make the
// child hold that many closed slots.
const maxNotifyFD = 63

// Validate reports every problem of this one process, each prefixed with its
// key. Cross-process checks (depends_on) are ValidateGraph's.
func (c *ProcessConfig) Validate() error {
	var errs []error
	if len(c.Command) == 0 || c.Command[0] == "" {
		errs = append(errs, errors.New("command: missing"))
	}
	switch c.Restart {
	case RestartAlways, RestartOnFailure, RestartNever:
	default:
		errs = append(errs, fmt.Errorf("restart: %q is not one of always, on-failure, never", c.Restart))
	}
	if c.Backoff.Initial <= 0 || c.Backoff.Max < c.Backoff.Initial {
		errs = append(errs, fmt.Errorf("backoff: want 0 < initial (%s) <= max (%s)", c.Backoff.Initial, c.Backoff.Max))
	}
	if c.Backoff.Reset < 0 {
		errs = append(errs, errors.New("backoff.reset: must be positive"))
	}
	if c.RestartWindow < 0 {
		errs = append(errs, errors.New("restart_window: must be positive"))
	}
	if c.MaxRestarts < 0 {
		errs = append(errs, errors.New("max_restarts: must be 0 (unlimited) or more"))
	}
	if _, err := ParseSignal(c.StopSignal); err != nil {
		errs = append(errs, fmt.Errorf("stop_signal: %w", err))
	}
	if c.StopTimeout < 0 {
		errs = append(errs, errors.New("stop_timeout: must be positive"))
	}
	if c.User != "" {
		if _, err := LookupUser(c.User); err != nil {
			errs = append(errs, fmt.Errorf("user: %w", err))
		}
	}
	checks := 0
	if c.Ready.HTTP != "" {
		checks++
		if u, err := url.Parse(c.Ready.HTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("ready.http: %q is not an absolute http or https URL", c.Ready.HTTP))
		}
	}
	if c.Ready.TCP != "" {
		checks++
		if !strings.Contains(c.Ready.TCP, ":") {
			errs = append(errs, fmt.Errorf("ready.tcp: %q is not host:port", c.Ready.TCP))
		}
	}
	if len(c.Ready.Exec) > 0 {
		checks++
		if c.Ready.Exec[0] == "" {
			errs = append(errs, errors.New("ready.exec: missing command"))
		}
	}
	if c.Ready.NotifyFD != 0 {
		checks++
		if c.Ready.NotifyFD < 3 || c.Ready.NotifyFD > maxNotifyFD {
			errs = append(errs, fmt.Errorf("ready.notify_fd: %d is not a descriptor from 3 to %d (0, 1 and 2 are stdin, stdout and stderr)", c.Ready.NotifyFD, maxNotifyFD))
		}
	}
	if checks > 1 {
		errs = append(errs, errors.New("ready: give one of http, tcp, exec or notify_fd"))
	}
	for i, code := range c.SuccessExitCodes {
		if code < 0 || code > 255 {
			errs = append(errs, fmt.Errorf("success_exit_codes[%d]: %d is not an exit code (0 to 255)", i, code))
		}
	}
	if c.Ready.Interval < 0 || c.Ready.Timeout < 0 {
		errs = append(errs, errors.New("ready: interval and timeout must be positive"))
	}
	return errors.Join(errs...)
}

// TaskConfig is a [task.NAME] section: a one-shot init task.
type TaskConfig struct {
	Command   []string          `toml:"command"`
	Env       map[string]string `toml:"env"`
	Dir       string            `toml:"dir"`
	User      string            `toml:"user"`
	Timeout   duration.Duration `toml:"timeout"`
	DependsOn []string          `toml:"depends_on"`
}

// Defaults fills what the operator left out.
func (c *TaskConfig) Defaults() {
	if c.Timeout == 0 {
		c.Timeout = duration.Of(30 * time.Second)
	}
}

// Validate reports every problem, each prefixed with its key.
func (c *TaskConfig) Validate() error {
	var errs []error
	if len(c.Command) == 0 || c.Command[0] == "" {
		errs = append(errs, errors.New("command: missing"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must be positive"))
	}
	if c.User != "" {
		if _, err := LookupUser(c.User); err != nil {
			errs = append(errs, fmt.Errorf("user: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ParseSignal reads a signal name: "SIGTERM", "TERM" or "term".
func ParseSignal(name string) (unix.Signal, error) {
	n := strings.ToUpper(name)
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	if s := unix.SignalNum(n); s != 0 {
		return s, nil
	}
	return 0, fmt.Errorf("unknown signal %q", name)
}
