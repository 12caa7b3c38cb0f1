// Command corral is the PID 1 of an appliance container: a process
// supervisor and a Prometheus metrics gateway on one port.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"

	"github.com/corral-metrics/corral/gateway"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
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
// components from the leaves up, run them as one group until a signal.
func serve(c *cli.Context) error {
	logger, err := newLogger(c.String("log.level"), c.String("log.format"), os.Stderr)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if c.Args().Present() {
		// TODO(lead): the main process after "--" is the supervisor's.
		return cli.Exit("corral: a main command after -- is not supported yet", 2)
	}
	load := func() (*Config, error) { return loadFlagged(c) }
	cfg, err := load()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}

	build := buildInfo()
	reg := prometheus.NewRegistry()
	metrics := gateway.NewMetrics(reg, gateway.BuildInfo{Version: build.version, Revision: build.revision})
	opts, err := gatewayOptions(cfg.Web)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	opts.Logger, opts.Registry, opts.Metrics, opts.Version = logger, reg, metrics, build.version
	rl := &reloader{load: load, web: cfg.Web, metrics: metrics, logger: logger.With("component", "reload")}
	opts.Reload = rl.reload
	gw := gateway.New(opts)
	rl.gateway = gw
	mods, err := buildModules(cfg, metrics)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	gw.SetModules(mods)
	metrics.Reloaded(true, time.Now())
	logger.Info("starting corral", "version", build.version, "config", c.String("config.file"), "sources", len(mods))

	var g run.Group
	{ // The HTTP server: every endpoint on the one port.
		srv := gateway.NewServer(gw, gateway.ServerOptions{
			ListenAddresses: []string{cfg.Web.ListenAddress},
			WebConfigFile:   cfg.Web.WebConfigFile,
		})
		g.Add(srv.Run, func(error) { srv.Stop() })
	}
	{ // Termination signals. TODO(lead): the supervisor's signal handling replaces this.
		g.Add(run.SignalHandler(context.Background(), syscall.SIGINT, syscall.SIGTERM))
	}
	{ // SIGHUP reloads the configuration.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		done := make(chan struct{})
		var once sync.Once
		g.Add(func() error {
			for {
				select {
				case <-hup:
					rl.reload()
				case <-done:
					return nil
				}
			}
		}, func(error) {
			signal.Stop(hup)
			once.Do(func() { close(done) })
		})
	}
	err = g.Run()
	if errors.Is(err, run.ErrSignal) {
		logger.Info("stopped", "reason", err.Error())
		return nil
	}
	if err != nil {
		logger.Error("stopped", "err", err)
		return cli.Exit("", 1)
	}
	return nil
}
