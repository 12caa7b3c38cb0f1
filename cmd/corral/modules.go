package main

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/scripts"
)

// sourceBuilder makes the gateway's modules from a configuration. Scripts
// whose configuration did not change are carried over a reload as they are,
// with their cache and any run in progress.
type sourceBuilder struct {
	metrics *gateway.Metrics // the sources' own metrics; nil for corral check
	scripts scripts.Deps
	running map[string]builtScript // the scripts of the modules in service
}

type builtScript struct {
	cfg    scripts.Config
	script *scripts.Script
}

// build makes every module of cfg. Every failure names its file and key, as
// the loader's do. Nothing changes until adopt is called with the result.
func (b *sourceBuilder) build(cfg *Config) ([]gateway.Module, map[string]builtScript, error) {
	var mods []gateway.Module
	var errs []error
	for _, name := range sortedKeys(cfg.Exporter) {
		e := cfg.Exporter[name]
		src, err := gateway.NewExporter(e)
		if err != nil {
			section := "exporter." + name
			errs = append(errs, fmt.Errorf("%s: %s.%w", cfg.where(section), section, err))
			continue
		}
		mods = append(mods, gateway.Module{
			Name: name, Kind: "exporter", Process: e.Process,
			Merge: *e.Merge, Verify: *e.Verify, Labels: e.Labels, Source: src,
		})
	}
	for _, name := range sortedKeys(cfg.File) {
		f := cfg.File[name]
		mods = append(mods, gateway.Module{
			Name: name, Kind: "file",
			Merge: *f.Merge, Verify: true, Labels: f.Labels, Source: gateway.NewFile(name, f, b.metrics),
		})
	}
	built := make(map[string]builtScript, len(cfg.Script))
	for _, name := range sortedKeys(cfg.Script) {
		s := cfg.Script[name]
		bs, ok := b.running[name]
		if !ok || !reflect.DeepEqual(bs.cfg, s) {
			bs = builtScript{cfg: s, script: scripts.New(name, s, b.scripts)}
		}
		built[name] = bs
		mods = append(mods, gateway.Module{
			Name: name, Kind: "script",
			Merge: *s.Merge, Verify: true, Labels: s.Labels, Source: bs.script,
		})
	}
	return mods, built, errors.Join(errs...)
}

// adopt records the scripts now in service and forgets the metrics of the
// scripts that left.
func (b *sourceBuilder) adopt(built map[string]builtScript) {
	for name := range b.running {
		if _, ok := built[name]; !ok && b.scripts.Metrics != nil {
			b.scripts.Metrics.Forget(name)
		}
	}
	b.running = built
}
