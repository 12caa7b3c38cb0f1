// Command corral is the PID 1 of an appliance container: a process
// supervisor and a Prometheus metrics gateway on one port.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/internal/logsink"
	"github.com/corral-metrics/corral/scripts"
	"github.com/corral-metrics/corral/supervisor"
	"github.com/corral-metrics/corral/supervisor/proc"
)

func main() {
	// Every catchable signal is taken before anything else runs, so that
	// none meets Go's default action (exit 2) while corral starts up as
	// PID 1; the other commands give them back before they act.
	sigs := supervisor.CatchSignals()
	if err := runApp(newApp(sigs), os.Args); err != nil {
		var ec cli.ExitCoder
		if !errors.As(err, &ec) {
			fmt.Fprintln(os.Stderr, "corral:", err)
			os.Exit(1)
		}
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, msg)
		}
		os.Exit(ec.ExitCode())
	}
}

// serve is corral's main action: load the configuration, build the
// components from the leaves up, run them as one group until the appliance
// stops, and exit with its code.
func serve(c *cli.Context, sigs *supervisor.Signals) error {
	// corral's own log lines go through a bounded queue: no log call waits
	// on a blocked stderr; what is queued is written out on the way out.
	logs := logsink.New(os.Stderr, logLines)
	defer logs.Flush(time.Second)
	logger, err := newLogger(c.String("log.level"), c.String("log.format"), logs)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	load := func() (*Config, error) { return loadFlagged(c) }
	cfg, err := load()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}

	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit keeps the heap near what is live rather than twice
		// it: the bodies in flight stay within max_inflight_bytes, and
		// 64 MiB is ample for the rest of corral.
		debug.SetMemoryLimit(int64(cfg.Web.MaxInflightBytes) + 64<<20)
	}

	build := buildInfo()
	reg := prometheus.NewRegistry()
	reg.MustRegister(logs.Dropped())
	metrics := gateway.NewMetrics(reg, gateway.BuildInfo{Version: build.version, Revision: build.revision})
	reaper := proc.NewReaper(logger.With("component", "reaper"), reg)
	mainCmd, mainName := mainCommand(c), "" // the main process after "--", if any
	if mainCmd != nil {
		mainName = mainCmd[0]
	}
	sup, err := supervisor.New(supervisor.Options{
		Config:     cfg.Supervisor,
		Processes:  cfg.Process,
		Tasks:      cfg.Task,
		Main:       mainCmd,
		Reaper:     reaper,
		Logger:     logger,
		Registerer: reg,
		LogFormat:  c.String("log.format"),
	})
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	sources := &sourceBuilder{deps: deps{
		scripts: scripts.Deps{
			Reaper:         reaper,
			Logger:         logger,
			Metrics:        scripts.NewMetrics(reg),
			Limiter:        scripts.NewLimiter(scriptRuns()),
			MaxOutputBytes: int64(cfg.Web.MaxBodyBytes),
		},
	}}
	opts, err := gatewayOptions(cfg.Web)
	if err == nil {
		err = gateway.CheckWebConfig(cfg.Web.WebConfigFile, cfg.Web.BearerTokenFile != "")
	}
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	opts.Logger, opts.Registry, opts.Metrics, opts.Version = logger, reg, metrics, build.version
	opts.Processes, opts.Ready = func() []gateway.ProcessStatus { return processStatus(sup) }, sup.Ready
	opts.Controller = controller{sup}
	rl := &reloader{load: load, web: cfg.Web, tasks: cfg.Task, metrics: metrics, sources: sources, supervisor: sup, logger: logger.With("component", "reload")}
	opts.Reload = rl.reload
	gw := gateway.New(opts)
	rl.gateway, sources.deps.gateway = gw, gw
	mods, built, err := sources.build(cfg)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	sources.adopt(built)
	gw.SetModules(mods)
	gw.SetEndpoints(cfg.endpoints())
	metrics.Reloaded(true, time.Now())
	// The port first: when it is taken, corral fails before it has started
	// anything, rather than start every process and stop them at once.
	listener, err := net.Listen("tcp", cfg.Web.ListenAddress)
	if err != nil {
		return cli.Exit(fmt.Sprintf("web.listen_address: cannot listen on %s: %v", cfg.Web.ListenAddress, err), 1)
	}
	logger.Info("starting corral", "version", build.version, "config", c.String("config.file"),
		"sources", len(mods), "processes", len(cfg.Process), "main", mainName)

	var g run.Group
	{ // The log writer: corral's own lines to stderr, never blocking a caller.
		g.Add(logs.Run, func(error) { logs.Stop() })
	}
	{ // The reaper: the one owner of wait4, for every child and orphan.
		g.Add(reaper.Run, func(error) { reaper.Stop() })
	}
	{ // The supervisor: tasks, then processes; returns once all have stopped.
		g.Add(sup.Run, func(error) {
			gw.Stopping()
			sup.Stop()
		})
	}
	{ // The HTTP server: every endpoint on the one port.
		srv := gateway.NewServer(gw, gateway.ServerOptions{
			ListenAddresses: []string{cfg.Web.ListenAddress}, // already bound: listener
			WebConfigFile:   cfg.Web.WebConfigFile,
		})
		g.Add(func() error { return srv.Serve(listener) }, func(error) { srv.Stop() })
	}
	{ // Signals: TERM/INT stop (twice: kill), HUP reloads, most others go to the main process.
		g.Add(sup.HandleSignals(sigs, func() { rl.reload() }))
	}
	err = g.Run()
	var exit *supervisor.ExitError
	switch {
	case errors.As(err, &exit):
		logger.Error("stopped", "reason", exit.Reason, "code", exit.Code)
		return cli.Exit("", exit.Code)
	case err != nil:
		logger.Error("stopped", "err", err)
		return cli.Exit("", 1)
	}
	logger.Info("stopped")
	return nil
}

// logLines bounds corral's own log lines waiting for stderr.
const logLines = 4096

// scriptRuns is the cap on script runs at once across all scripts, so a
// flood of distinct parameters cannot fork-bomb the appliance.
func scriptRuns() int { return max(4, 2*runtime.NumCPU()) }
