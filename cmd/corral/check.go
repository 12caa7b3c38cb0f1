package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/scripts"
)

// check validates the configuration as serve would load it and prints a
// summary; on error it prints one "file: key: problem" line per problem
// and exits 1.
func check(c *cli.Context) error {
	cfg, err := readFlagged(c)
	if cfg != nil {
		// What is right is checked further, whatever else is wrong: a
		// missing file is reported with the bad values.
		err = errors.Join(err, checkBuild(cfg.valid()))
	}
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	mods, _, _ := new(sourceBuilder).build(cfg)
	summarize(c.App.Writer, cfg, mods)
	return nil
}

// checkBuild does what serve does after loading, short of listening: the web
// config file, the bearer token, the sources' files; for a configuration
// with problems, of its sections without one (Config.valid).
func checkBuild(cfg *Config) error {
	var errs []error
	if !cfg.invalid["web"] {
		if err := gateway.CheckWebConfig(cfg.Web.WebConfigFile, cfg.Web.BearerTokenFile != ""); err != nil {
			errs = append(errs, fmt.Errorf("%s: web.web_config_file: %w", cfg.where("web"), err))
		}
		if _, err := gatewayOptions(cfg.Web); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cfg.where("web"), err))
		}
	}
	if _, _, err := new(sourceBuilder).build(cfg); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(append(errs, checkProcesses(cfg)...)...)
}

// checkProcesses reports what serve would refuse or fail at start of the
// processes and tasks, and at every run of the scripts: a stop_timeout
// longer than the whole shutdown's, a working directory that does not
// exist.
func checkProcesses(cfg *Config) []error {
	var errs []error
	dir := func(section, d string) {
		if d == "" {
			return
		}
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("%s: %s.dir: %s: no such directory", cfg.where(section), section, d))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Process)) {
		p, section := cfg.Process[name], "process."+name
		if p.StopTimeout > cfg.Supervisor.StopTimeout && !cfg.invalid["supervisor"] {
			errs = append(errs, fmt.Errorf("%s: %s.stop_timeout: %s is longer than [supervisor] stop_timeout (%s), the bound of the whole shutdown",
				cfg.where(section), section, p.StopTimeout, cfg.Supervisor.StopTimeout))
		}
		dir(section, p.Dir)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Task)) {
		dir("task."+name, cfg.Task[name].Dir)
	}
	scriptSections := cfg.Sources[scripts.Kind]
	for _, name := range slices.Sorted(maps.Keys(scriptSections)) {
		if s, ok := scriptSections[name].(*scripts.Config); ok {
			dir("script."+name, s.Dir)
		}
	}
	return errs
}

func summarize(w io.Writer, cfg *Config, mods []gateway.Module) {
	fmt.Fprintf(w, "configuration OK\n")
	tls := "plain HTTP"
	if cfg.Web.WebConfigFile != "" {
		tls = "web config " + cfg.Web.WebConfigFile
	}
	fmt.Fprintf(w, "listen address: %s (%s)\n", cfg.Web.ListenAddress, tls)
	fmt.Fprintf(w, "control: %s\n", controlSummary(cfg.Web))
	fmt.Fprintf(w, "processes: %d\n", len(cfg.Process))
	for _, name := range slices.Sorted(maps.Keys(cfg.Process)) {
		p := cfg.Process[name]
		fmt.Fprintf(w, "  %-16s %s (restart %s)\n", name, strings.Join(p.Command, " "), p.Restart)
	}
	fmt.Fprintf(w, "tasks: %d\n", len(cfg.Task))
	for _, name := range slices.Sorted(maps.Keys(cfg.Task)) {
		fmt.Fprintf(w, "  %-16s %s (timeout %s)\n", name, strings.Join(cfg.Task[name].Command, " "), cfg.Task[name].Timeout)
	}
	fmt.Fprintf(w, "sources: %d\n", len(mods))
	for _, m := range mods {
		target := ""
		if t, ok := m.Source.(gateway.Targeter); ok {
			target = t.Target()
		}
		fmt.Fprintf(w, "  %-16s %-8s %s%s\n", m.Name, m.Kind, target, flags(m.Merge, m.Verify))
	}
	if eps := cfg.endpoints(); len(eps) > 0 {
		fmt.Fprintf(w, "endpoints: %d\n", len(eps))
		for _, e := range eps {
			fmt.Fprintf(w, "  %-16s %s: %s\n", e.Name, e.Path, strings.Join(e.Sources, ", "))
		}
	}
}

func flags(merge, verify bool) string {
	var f []string
	if merge {
		f = append(f, "merged")
	}
	if verify {
		f = append(f, "verified")
	}
	if len(f) == 0 {
		return ""
	}
	return " (" + strings.Join(f, ", ") + ")"
}

// controlSummary says who may start, stop, restart and signal processes
// through the port.
func controlSummary(web gateway.WebConfig) string {
	if !web.Control {
		return "off (set [web] control = true to start, stop, restart and signal processes through the port)"
	}
	auth, _ := gateway.WebConfigAuthenticates(web.WebConfigFile) // a bad file is checkBuild's error
	if web.BearerTokenFile != "" || auth {
		return "on, for authenticated clients"
	}
	who := "on, loopback clients only (not through trusted_proxies, nor relayed with X-Forwarded-For, Forwarded or X-Real-IP)"
	for _, n := range web.TrustedProxies {
		p, err := netip.ParsePrefix(n) // a bad one is checkBuild's error
		if err == nil && (p.Overlaps(netip.MustParsePrefix("127.0.0.0/8")) || p.Overlaps(netip.MustParsePrefix("::1/128"))) {
			who += ", and none from " + n + ", a trusted proxy (corral ctl on this host included)"
			break
		}
	}
	return who + ": no authentication is configured (bearer_token_file, or basic auth or client certificates in the web config file)"
}
