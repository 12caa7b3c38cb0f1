package main

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/source"
)

// sourceBuilder makes the gateway's modules from a configuration. A source
// whose configuration did not change is carried over a reload as it is: a
// script with its cache and any run in progress, an exporter with its
// connections. A source's constructor must start nothing (no goroutine, no
// process): one made for a reload that keeps the running source is
// dropped.
type sourceBuilder struct {
	deps    deps
	running map[string]built // the sources of the modules in service, by name
}

// built is one source and the configuration it was made from.
type built struct {
	kind source.Kind
	cfg  sourceConfig
	src  source.Source
}

// forgetter is a source with metrics of its own to drop when it leaves the
// configuration.
type forgetter interface{ Forget() }

// build makes every module of cfg, kind by kind in the order of kinds(),
// each in name order. Every failure names its file and key, as the loader's
// do. Nothing changes until adopt is called with the result.
func (b *sourceBuilder) build(cfg *Config) ([]gateway.Module, map[string]built, error) {
	var mods []gateway.Module
	var errs []error
	next := make(map[string]built)
	for _, k := range kinds() {
		sections := cfg.Sources[k.name]
		for _, name := range slices.Sorted(maps.Keys(sections)) {
			c := sections[name]
			// Built every time, so that what it reads now (a file it names)
			// is checked on every reload, then dropped if the running one
			// is the same.
			src, err := k.build(name, c, b.deps)
			if err != nil {
				section := string(k.name) + "." + name
				errs = append(errs, fmt.Errorf("%s: %s.%w", cfg.where(section), section, err))
				continue
			}
			bs, ok := b.running[name]
			if !ok || bs.kind != k.name || !reflect.DeepEqual(bs.cfg, c) {
				bs = built{kind: k.name, cfg: c, src: src}
			}
			next[name] = bs
			s := c.Shared()
			mods = append(mods, gateway.Module{
				Name: name, Kind: k.name, Process: s.Process,
				Merge: *s.Merge, Verify: *s.Verify, Labels: s.Labels, Source: bs.src,
			})
		}
	}
	return mods, next, errors.Join(errs...)
}

// adopt records the sources now in service and forgets the metrics of the
// sources that left.
func (b *sourceBuilder) adopt(next map[string]built) {
	for name, bs := range b.running {
		if n, ok := next[name]; ok && n.kind == bs.kind {
			continue // the same, or its successor, which owns the series now
		}
		if f, ok := bs.src.(forgetter); ok {
			f.Forget()
		}
	}
	b.running = next
}
