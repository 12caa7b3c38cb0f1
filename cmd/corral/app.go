package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/supervisor"
)

// newApp is corral's command line.
func newApp(sigs *supervisor.Signals) *cli.App {
	app := &cli.App{
		Name:            "corral",
		Usage:           "PID 1 of an appliance container: process supervisor and Prometheus metrics gateway on one port",
		UsageText:       "corral [global options] [-- main command...]\ncorral check|version|healthcheck [options]\ncorral ctl status|start|stop|restart|signal|logs [options] [NAME [SIGNAL]]",
		HideVersion:     true,
		Flags:           append(configFlags(), logFlags()...),
		Action:          func(c *cli.Context) error { return serve(c, sigs) },
		HideHelpCommand: true,
		Commands: []*cli.Command{
			{
				Name:      "check",
				Usage:     "validate the configuration and print a summary (exit 1 with one `file: key: problem` line per error)",
				Flags:     configFlags(),
				Action:    check,
				ArgsUsage: " ",
			},
			{
				Name:   "version",
				Usage:  "print the version",
				Action: printVersion,
			},
			{
				Name:  "healthcheck",
				Usage: "GET /-/healthy on the configured listen address; exit 0 when healthy, 1 if not (a Docker HEALTHCHECK)",
				Flags: append(configFlags(), &cli.DurationFlag{
					Name: "timeout", Value: 5 * time.Second, Usage: "how long to wait for the answer",
				}),
				Action: healthcheck,
			},
			importCommand(),
			ctlCommand(),
		},
	}
	for _, cmd := range app.Commands {
		cmd.Before = releaseSignals
	}
	return app
}

// runApp runs app on args (os.Args) with tini's meaning of "--": when no
// subcommand comes before the first "--", everything after it is the main
// command, whatever its name (`corral -- version` runs a program named
// version, not corral's command). urfave/cli alone would take the first
// argument after "--" for one of its commands.
func runApp(app *cli.App, args []string) error {
	own, main, found := splitMain(app.Flags, args)
	if !found {
		return app.Run(args)
	}
	app.Metadata = map[string]any{mainKey: main}
	return app.Run(own)
}

// mainKey is where runApp leaves the main command in the app's Metadata.
const mainKey = "main"

// mainCommand is the main command of serve: the words after "--" (runApp),
// or else the arguments left after the global flags (`corral cmd args`);
// nil when there are none.
func mainCommand(c *cli.Context) []string {
	m, ok := c.App.Metadata[mainKey].([]string)
	if !ok {
		m = c.Args().Slice()
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// splitMain splits args (the program's name first) at the first "--" when
// only global flags (flags, and their values) come before it; found is
// false when there is no "--" or a subcommand (any other word) comes first.
func splitMain(flags []cli.Flag, args []string) (own, main []string, found bool) {
	takesValue := map[string]bool{}
	for _, f := range flags {
		v, ok := f.(cli.DocGenerationFlag)
		for _, n := range f.Names() {
			takesValue[n] = ok && v.TakesValue()
		}
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return args[:i], slices.Clone(args[i+1:]), true
		case !strings.HasPrefix(a, "-") || a == "-":
			return nil, nil, false // a subcommand, or what urfave/cli makes of it
		case !strings.Contains(a, "=") && takesValue[strings.TrimLeft(a, "-")]:
			i++ // its value, whatever it looks like
		}
	}
	return nil, nil, false
}

// releaseSignals gives the signals main caught back to Go's defaults, for
// the commands that are not the appliance: ^C ends them.
func releaseSignals(*cli.Context) error {
	signal.Reset()
	return nil
}

// configFlags are the flags that locate the configuration; they are on the
// app and again on the subcommands, so both `corral --config.file F check`
// and `corral check --config.file F` work.
func configFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config.file", Value: "/etc/corral/corral.toml", EnvVars: []string{"CORRAL_CONFIG_FILE"}, Usage: "the configuration file"},
		&cli.StringSliceFlag{Name: "config.dir", EnvVars: []string{"CORRAL_CONFIG_DIR"}, Usage: "a drop-in directory: every *.toml in it is merged in (repeatable)"},
		&cli.StringFlag{Name: "web.listen-address", EnvVars: []string{"CORRAL_WEB_LISTEN_ADDRESS"}, Usage: "the address to listen on (wins over [web] listen_address)"},
		&cli.StringFlag{Name: "web.config.file", EnvVars: []string{"CORRAL_WEB_CONFIG_FILE"}, Usage: "exporter-toolkit web config: TLS, client certificates, basic auth (wins over [web] web_config_file)"},
	}
}

func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log.level", Value: "info", EnvVars: []string{"CORRAL_LOG_LEVEL"}, Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log.format", Value: "logfmt", EnvVars: []string{"CORRAL_LOG_FORMAT"}, Usage: "logfmt or json"},
	}
}

// flag is the value of a flag given to c or to any command above it, the
// nearest that set it winning; else its default.
func flag(c *cli.Context, name string) string {
	for _, x := range c.Lineage() {
		if x.IsSet(name) {
			return x.String(name)
		}
	}
	return c.String(name)
}

func flagSlice(c *cli.Context, name string) []string {
	for _, x := range c.Lineage() {
		if x.IsSet(name) {
			return x.StringSlice(name)
		}
	}
	return nil
}

// loadFlagged loads the configuration the flags name, the flags winning over [web].
func loadFlagged(c *cli.Context) (*Config, error) {
	cfg, err := readFlagged(c)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// readFlagged is loadFlagged, but returns a configuration with problems
// with them when every file parsed, as readConfig does.
func readFlagged(c *cli.Context) (*Config, error) {
	cfg, err := readConfig(flag(c, "config.file"), flagSlice(c, "config.dir"))
	if cfg == nil {
		return nil, err
	}
	errs := []error{err}
	if v := flag(c, "web.listen-address"); v != "" {
		if err := gateway.CheckListenAddress(v); err != nil {
			errs = append(errs, fmt.Errorf("--web.listen-address: %w", err))
		}
		cfg.Web.ListenAddress = v
	}
	if v := flag(c, "web.config.file"); v != "" {
		cfg.Web.WebConfigFile = v
	}
	return cfg, errors.Join(errs...)
}

// gatewayOptions turns [web] into the gateway's options.
func gatewayOptions(web gateway.WebConfig) (gateway.Options, error) {
	opts := gateway.Options{
		MergeLabel:           web.MergeLabel,
		SelfSource:           web.SelfSource,
		MergeSelf:            web.MergeSelf == nil || *web.MergeSelf,
		ScrapeTimeout:        web.ScrapeTimeout.Std(),
		MaxBodyBytes:         int64(web.MaxBodyBytes),
		MaxConcurrentScrapes: web.MaxConcurrentScrapes,
		DefaultModule:        web.DefaultModule,
		ExternalAddress:      web.ExternalAddress,
		Control:              web.Control,
		MaxInflightBytes:     int64(web.MaxInflightBytes),
		MaxConnections:       web.MaxConnections,
		TrimWhenQuiet:        true, // README: Memory
	}
	for _, n := range web.AllowNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return opts, fmt.Errorf("web.allow_networks: %w", err)
		}
		opts.AllowNetworks = append(opts.AllowNetworks, p.Masked())
	}
	for _, n := range web.TrustedProxies {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return opts, fmt.Errorf("web.trusted_proxies: %w", err)
		}
		opts.TrustedProxies = append(opts.TrustedProxies, p.Masked())
	}
	if web.BearerTokenFile != "" {
		// Read now (a bad file fails start-up), then re-read on change and
		// on reload; a file that goes bad later denies every request.
		tok, err := gateway.NewFileSecret(web.BearerTokenFile)
		if err != nil {
			return opts, fmt.Errorf("web.bearer_token_file: %w", err)
		}
		opts.BearerTokenFile = tok
	}
	auth, err := gateway.WebConfigAuthenticates(web.WebConfigFile)
	if err != nil {
		return opts, fmt.Errorf("web.web_config_file: %w", err)
	}
	opts.WebAuthenticated = auth
	return opts, nil
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log.level: %q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "logfmt", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log.format: %q is not one of logfmt, json", format)
}

type build struct{ version, revision string }

// buildInfo is the module version and VCS revision the binary was built from.
func buildInfo() build {
	b := build{version: "(devel)", revision: "unknown"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" {
		b.version = v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			b.revision = s.Value
		}
	}
	return b
}

func printVersion(c *cli.Context) error {
	b := buildInfo()
	fmt.Fprintf(c.App.Writer, "corral version %s (revision %s)\n", b.version, b.revision)
	return nil
}
