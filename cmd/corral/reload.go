package main

import (
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/supervisor"
)

// reloader reloads the configuration on SIGHUP and POST /-/reload.
type reloader struct {
	load       func() (*Config, error)
	web        gateway.WebConfig                // the [web] the server runs with
	tasks      map[string]supervisor.TaskConfig // the tasks that ran at start-up
	gateway    *gateway.Gateway
	supervisor *supervisor.Supervisor
	sources    *sourceBuilder
	metrics    *gateway.Metrics
	logger     *slog.Logger
	mu         sync.Mutex // one reload at a time
}

// reload applies the configuration as it is now on disk: the supervisor
// reconciles its processes (new start, removed stop, changed restart,
// unchanged untouched) and the gateway swaps its modules at once. A
// configuration that fails to load or build is refused whole and the
// running one stays.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := r.load()
	if err == nil {
		// Valid as written (a restart would run it), and valid with what
		// the reload leaves as it is.
		err = cfg.checkRunning(r.web, r.tasks)
	}
	var (
		mods []gateway.Module
		next map[string]built
	)
	if err == nil {
		mods, next, err = r.sources.build(cfg)
	}
	var access gateway.Options
	if err == nil {
		if access, err = reloadAccess(r.web, cfg.Web); err != nil {
			err = fmt.Errorf("%s: %w", cfg.where("web"), err)
		}
	}
	if err == nil && !reflect.DeepEqual(cfg.Task, r.tasks) {
		r.logger.Warn("[task] changed: tasks run once, at start-up; the change applies on restart")
	}
	if err == nil {
		if err = r.supervisor.Reload(cfg.Supervisor, cfg.Process); err != nil {
			err = fmt.Errorf("processes: %w", err)
		}
	}
	if err != nil {
		r.metrics.Reloaded(false, time.Now())
		r.logger.Error("configuration refused, keeping the running one", "err", err)
		return err
	}
	if keys := gateway.RestartKeys(r.web, cfg.Web); len(keys) > 0 {
		r.logger.Warn("[web] changed where a reload cannot apply it: it takes effect on restart only", "keys", keys)
	}
	r.sources.adopt(next)
	r.gateway.SetModules(mods)
	r.gateway.SetEndpoints(cfg.endpoints())
	r.gateway.SetAccess(access)
	r.gateway.RefreshSecrets()
	r.metrics.Reloaded(true, time.Now())
	r.logger.Info("configuration reloaded", "sources", len(mods), "processes", len(cfg.Process))
	return nil
}

// reloadAccess is the access control a reload applies: [web] as it runs
// after the reload (gateway.Running), so with the web_config_file the
// server started with, a restart key: whether clients authenticate (the
// control API's gate), and whether its basic auth conflicts with a bearer
// token, is read from that file, as it is now on disk. Read from next's
// file, a reload naming a file with basic auth users would open the
// control API to every client without authentication. Each error names
// its key.
func reloadAccess(running, next gateway.WebConfig) (gateway.Options, error) {
	web := gateway.Running(running, next)
	access, err := gatewayOptions(web)
	if err != nil {
		return access, err
	}
	if err := gateway.CheckWebConfig(web.WebConfigFile, web.BearerTokenFile != ""); err != nil {
		return access, fmt.Errorf("web.web_config_file: %w", err)
	}
	return access, nil
}
