package main

import (
	"errors"
	"fmt"

	"github.com/corral-metrics/corral/gateway"
)

// buildModules makes the gateway's sources from cfg. m receives the sources'
// own metrics (nil: none, for corral check). Every failure names its file and
// key, as the loader's do.
//
// TODO(lead): add [script] sources here.
func buildModules(cfg *Config, m *gateway.Metrics) ([]gateway.Module, error) {
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
			Merge: *f.Merge, Verify: true, Labels: f.Labels, Source: gateway.NewFile(name, f, m),
		})
	}
	return mods, errors.Join(errs...)
}
