package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/source"
	"github.com/corral-metrics/corral/supervisor"
)

// Config is the whole configuration: the main file and its drop-ins merged.
type Config struct {
	Web        gateway.WebConfig
	Supervisor supervisor.Config
	Process    map[string]supervisor.ProcessConfig
	Task       map[string]supervisor.TaskConfig
	// Endpoint are the merged endpoints besides /metrics, by name.
	Endpoint map[string]gateway.EndpointConfig
	// Sources are the [KIND.NAME] sections, by kind then name.
	Sources map[source.Kind]map[string]sourceConfig

	// origin is the file that defined each section ("web", "exporter.NAME").
	origin map[string]string
	// invalid are the sections validate found a problem in.
	invalid map[string]bool
}

// loadConfig reads file and every *.toml of dirs (each dir in name order),
// merges them, fills defaults and validates. The error joins one
// "FILE: key: problem" error per problem found.
func loadConfig(file string, dirs []string) (*Config, error) {
	cfg, err := readConfig(file, dirs)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// readConfig is loadConfig, but for a configuration with problems where
// every file parsed, it returns it with the problems: what it has right
// can be checked further (see Config.valid), so that corral check reports
// a missing file with the bad values, not once they are fixed.
func readConfig(file string, dirs []string) (*Config, error) {
	files := []string{file}
	for _, d := range dirs {
		matches, err := filepath.Glob(filepath.Join(d, "*.toml"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		slices.Sort(matches)
		files = append(files, matches...)
	}
	cfg := &Config{origin: map[string]string{"": file}, invalid: map[string]bool{}, Sources: map[source.Kind]map[string]sourceConfig{}}
	var errs []error
	parsed := true
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ferrs, ok := cfg.merge(f, data)
		errs = append(errs, ferrs...)
		parsed = parsed && ok
	}
	// Every file read as TOML: what is wrong in the values is reported
	// with the unknown keys, not after they are fixed. A file that did not
	// parse contributed nothing, and checking the rest without it would
	// report what it defines as missing.
	if !parsed {
		return nil, errors.Join(errs...)
	}
	if err := cfg.validate(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// valid is c without the sections validate found a problem in: what can be
// checked further. [web] is kept (its defaults filled); c.invalid["web"]
// tells whether it is sound.
func (c *Config) valid() *Config {
	v := *c
	v.Process = validOnly(c.invalid, "process", c.Process)
	v.Task = validOnly(c.invalid, "task", c.Task)
	v.Sources = make(map[source.Kind]map[string]sourceConfig, len(c.Sources))
	for k, sections := range c.Sources {
		v.Sources[k] = validOnly(c.invalid, string(k), sections)
	}
	return &v
}

func validOnly[T any](invalid map[string]bool, kind string, sections map[string]T) map[string]T {
	out := make(map[string]T, len(sections))
	for name, s := range sections {
		if !invalid[kind+"."+name] {
			out[name] = s
		}
	}
	return out
}

// merge decodes one file into c, refusing unknown keys and names already
// defined by another file; parsed is false when the file is not valid TOML
// (and nothing of it was merged).
func (c *Config) merge(file string, data []byte) (errs []error, parsed bool) {
	part, errs, parsed := decodeFile(file, data)
	if !parsed {
		return errs, false
	}
	for _, section := range []string{"web", "supervisor"} {
		if !part.defined[section] {
			continue
		}
		if prev, ok := c.origin[section]; ok {
			errs = append(errs, fmt.Errorf("%s: %s: already set in %s (set [%s] in one file only)", file, section, prev, section))
			continue
		}
		c.origin[section] = file
	}
	if part.defined["web"] {
		c.Web = part.Web
	}
	if part.defined["supervisor"] {
		c.Supervisor = part.Supervisor
	}
	// Sources share one namespace (they are all modules); processes and
	// tasks each have their own.
	errs = append(errs, mergeSection(c.origin, file, "process", nil, &c.Process, part.Process)...)
	errs = append(errs, mergeSection(c.origin, file, "task", nil, &c.Task, part.Task)...)
	errs = append(errs, mergeSection(c.origin, file, "endpoint", nil, &c.Endpoint, part.Endpoint)...)
	var namespace []string
	for _, k := range kinds() {
		namespace = append(namespace, string(k.name))
	}
	for _, k := range kinds() {
		dst := c.Sources[k.name]
		errs = append(errs, mergeSection(c.origin, file, string(k.name), namespace, &dst, part.Sources[k.name])...)
		if dst != nil {
			c.Sources[k.name] = dst
		}
	}
	return errs, true
}

// mergeSection adds the sections of one file to dst; a name already taken
// by a section of kind or of any of the kinds in namespace is an error.
func mergeSection[T any](origin map[string]string, file, kind string, namespace []string, dst *map[string]T, src map[string]T) []error {
	if namespace == nil {
		namespace = []string{kind}
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(src)) {
		dup := false
		for _, other := range namespace {
			if prev, ok := origin[other+"."+name]; ok {
				what := "already defined"
				if other != kind {
					what = "name already used by [" + other + "." + name + "]"
				}
				errs = append(errs, fmt.Errorf("%s: %s.%s: %s in %s", file, kind, name, what, prev))
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if *dst == nil {
			*dst = make(map[string]T)
		}
		(*dst)[name] = src[name]
		origin[kind+"."+name] = file
	}
	return errs
}

// validate fills defaults, validates every section and the references
// between sections.
func (c *Config) validate() error {
	var errs []error
	report := c.reporter(&errs)
	c.Web.Defaults()
	report("web", c.Web.Validate())
	c.Supervisor.Defaults()
	report("supervisor", c.Supervisor.Validate())
	prepare("process", c.Process, report)
	prepare("task", c.Task, report)
	prepare("endpoint", c.Endpoint, report)
	for _, k := range kinds() {
		sections := c.Sources[k.name]
		for _, name := range slices.Sorted(maps.Keys(sections)) {
			section, s := string(k.name)+"."+name, sections[name]
			s.Shared().Defaults()
			s.Defaults()
			report(section, s.Validate())
		}
	}
	c.checkWith(c.Web, c.Task, report)
	return errors.Join(errs...)
}

// reporter is how validate reports: each problem of err as
// "FILE: SECTION.KEY: problem", appended to errs, and the section marked
// invalid.
func (c *Config) reporter(errs *[]error) func(section string, err error) {
	return func(section string, err error) {
		for _, e := range unjoin(err) {
			*errs = append(*errs, fmt.Errorf("%s: %s.%w", c.where(section), section, e))
			if c.invalid != nil {
				c.invalid[section] = true
			}
		}
	}
}

// checkWith checks the sections against [web] and the tasks as web and
// tasks give them, and against each other: static labels and the merge
// label, source names (and the self source), what a source, an endpoint,
// default_module and depends_on name. validate passes the configuration's
// own; a reload passes what it does not change (see checkRunning).
func (c *Config) checkWith(web gateway.WebConfig, tasks map[string]supervisor.TaskConfig, report func(string, error)) {
	for _, k := range kinds() {
		sections := c.Sources[k.name]
		for _, name := range slices.Sorted(maps.Keys(sections)) {
			section, shared := string(k.name)+"."+name, sections[name].Shared()
			report(section, shared.Validate(web.MergeLabel))
			if p := shared.Process; p != "" {
				if _, ok := c.Process[p]; !ok {
					report(section, fmt.Errorf("process: no [process.%s]", p))
				}
			}
			if !validModuleName(name) {
				report(section, fmt.Errorf("name: %q must be letters, digits, '_', '-' or '.'", name))
			}
			if name == web.SelfSource {
				report(section, fmt.Errorf("name: %q is corral's own source (web.self_source)", name))
			}
		}
	}
	if m := web.DefaultModule; m != "" && !c.hasSource(m) {
		report("web", fmt.Errorf("default_module: no source named %q", m))
	}
	c.validateEndpoints(report)
	// The supervisor's own rules for depends_on, its errors naming the
	// section ("process.NAME.depends_on: ...").
	for _, e := range unjoin(supervisor.ValidateGraph(c.Process, tasks)) {
		kind, rest, _ := strings.Cut(e.Error(), ".")
		name, _, _ := strings.Cut(rest, ".depends_on")
		report(kind+"."+name, errors.New(strings.TrimPrefix(rest, name+".")))
	}
}

// checkRunning tells why c, which loaded (so a restart would run it as it
// is), cannot run now: a reload leaves the [web] keys that take effect on
// restart only at their values in running, and the tasks as they ran at
// start-up (tasks). The sections are checked against those; each problem
// says which of them it was checked against.
func (c *Config) checkRunning(running gateway.WebConfig, tasks map[string]supervisor.TaskConfig) error {
	var kept []string
	for _, key := range gateway.RestartKeys(running, c.Web) {
		kept = append(kept, "web."+key)
	}
	var why []string
	switch len(kept) {
	case 0:
	case 1:
		why = append(why, kept[0]+" keeps its running value until a restart")
	default:
		why = append(why, strings.Join(kept, ", ")+" keep their running values until a restart")
	}
	if !reflect.DeepEqual(c.Task, tasks) {
		why = append(why, "tasks run once, at start-up: the ones that ran stay until a restart")
	}
	var errs []error
	c.checkWith(gateway.Running(running, c.Web), tasks, func(section string, err error) {
		for _, e := range unjoin(err) {
			errs = append(errs, fmt.Errorf("%s: %s.%w (a reload does not apply all of this configuration: %s)", c.where(section), section, e, strings.Join(why, "; ")))
		}
	})
	return errors.Join(errs...)
}

// unjoin lists the errors inside a joined error, joins within joins
// included: none for nil, err alone if it joins nothing.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, unjoin(e)...)
	}
	return out
}

// where is the file that defined section, for messages.
func (c *Config) where(section string) string {
	if f, ok := c.origin[section]; ok {
		return f
	}
	for _, kind := range []string{"process.", "task."} {
		if f, ok := c.origin[kind+section]; ok {
			return f
		}
	}
	if f, ok := c.origin[""]; ok {
		return f
	}
	return "(defaults)"
}

// validateEndpoints checks what an [endpoint] names against the rest: its
// sources exist, and no other endpoint has its path.
func (c *Config) validateEndpoints(report func(string, error)) {
	paths := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(c.Endpoint)) {
		e := c.Endpoint[name]
		for i, s := range e.Sources {
			if !c.hasSource(s) {
				report("endpoint."+name, fmt.Errorf("sources[%d]: no source named %q", i, s))
			}
		}
		if prev, ok := paths[e.Path]; ok && e.Path != "" {
			report("endpoint."+name, fmt.Errorf("path: %q is already the path of [endpoint.%s]", e.Path, prev))
			continue
		}
		paths[e.Path] = name
	}
}

// endpoints are the [endpoint] sections as the gateway takes them.
func (c *Config) endpoints() []gateway.Endpoint {
	var eps []gateway.Endpoint
	for _, name := range slices.Sorted(maps.Keys(c.Endpoint)) {
		e := c.Endpoint[name]
		eps = append(eps, gateway.Endpoint{Name: name, Path: e.Path, Sources: slices.Clone(e.Sources)})
	}
	return eps
}

// hasSource tells whether a source of any kind is called name.
func (c *Config) hasSource(name string) bool {
	for _, sections := range c.Sources {
		if _, ok := sections[name]; ok {
			return true
		}
	}
	return false
}

func validModuleName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r != '_' && r != '-' && r != '.' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// section is what every named section's config does: fill its defaults,
// then report its problems.
type section[T any] interface {
	*T
	Defaults()
	Validate() error
}

// prepare fills the defaults of every section of one kind and reports each
// one's problems under KIND.NAME, in name order.
func prepare[T any, P section[T]](kind string, sections map[string]T, report func(string, error)) {
	for _, name := range slices.Sorted(maps.Keys(sections)) {
		v := sections[name]
		P(&v).Defaults()
		report(kind+"."+name, P(&v).Validate())
		sections[name] = v
	}
}
