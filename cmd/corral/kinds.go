package main

import (
	"time"

	"github.com/BurntSushi/toml"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/scripts"
	"github.com/corral-metrics/corral/source"
	"github.com/corral-metrics/corral/source/exporter"
	"github.com/corral-metrics/corral/source/file"
)

// kinds is the one list of source kinds. A kind is a package with a Config
// (embedding source.Settings, with Defaults and Validate of its own keys)
// and a constructor; adding one is adding its line here. Everything else
// (decoding [KIND.NAME], the shared namespace of names, defaults,
// validation, building, reload) loops over this list.
func kinds() []kind {
	return []kind{
		kindOf(exporter.Kind, func(_ string, c *exporter.Config, _ deps) (source.Source, error) {
			return exporter.New(*c)
		}),
		kindOf(file.Kind, func(name string, c *file.Config, d deps) (source.Source, error) {
			return file.NewModule(name, *c, func(t time.Time) { d.gateway.FileMtime(name, t) }), nil
		}),
		kindOf(scripts.Kind, func(name string, c *scripts.Config, d deps) (source.Source, error) {
			return scripts.New(name, *c, d.scripts), nil
		}),
	}
}

// sourceConfig is what the config of a [KIND.NAME] section does: fill the
// defaults of its own keys, report their problems, and hand over the
// settings every kind shares (through the embedded source.Settings).
type sourceConfig interface {
	Defaults()
	Validate() error
	Shared() *source.Settings
}

// deps is what building a source may take from the rest of corral.
type deps struct {
	gateway *gateway.Gateway // the sources' metrics (FileMtime); nil for corral check
	scripts scripts.Deps
}

// kind is one kind of source: how its sections decode and how a source is
// built from one.
type kind struct {
	name source.Kind
	// decode reads the [KIND.*] sections of one file, by name.
	decode func(md *toml.MetaData, p toml.Primitive) (map[string]sourceConfig, error)
	// build makes the source of one section that passed validation.
	build func(name string, c sourceConfig, d deps) (source.Source, error)
}

// kindOf makes the kind whose sections decode into T.
func kindOf[T any, P interface {
	*T
	sourceConfig
}](name source.Kind, build func(name string, c P, d deps) (source.Source, error)) kind {
	return kind{
		name: name,
		decode: func(md *toml.MetaData, p toml.Primitive) (map[string]sourceConfig, error) {
			var sections map[string]T
			err := md.PrimitiveDecode(p, &sections)
			out := make(map[string]sourceConfig, len(sections))
			for n := range sections {
				v := sections[n]
				out[n] = P(&v)
			}
			return out, err
		},
		build: func(n string, c sourceConfig, d deps) (source.Source, error) { return build(n, c.(P), d) },
	}
}
