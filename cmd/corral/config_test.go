package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/scripts"
	"github.com/corral-metrics/corral/source"
	"github.com/corral-metrics/corral/source/exporter"
	"github.com/corral-metrics/corral/source/file"
	"github.com/corral-metrics/corral/supervisor"
)

func TestLoadConfigGood(t *testing.T) {
	cfg, err := loadConfig("testdata/full.toml", []string{"testdata/dropin"})
	if err != nil {
		t.Fatal(err)
	}
	exporters, files, scripts := sectionsOf[*exporter.Config](cfg, exporter.Kind), sectionsOf[*file.Config](cfg, file.Kind), sectionsOf[*scripts.Config](cfg, scripts.Kind)
	for _, tc := range []struct {
		what       string
		have, want any
	}{
		{"web.listen_address", cfg.Web.ListenAddress, "127.0.0.1:9999"},
		{"web.max_body_bytes", int64(cfg.Web.MaxBodyBytes), int64(16 << 20)},
		{"supervisor.stop_timeout", cfg.Supervisor.StopTimeout.Std(), 8 * time.Second},
		{"process.node.depends_on", strings.Join(cfg.Process["node"].DependsOn, ","), "init"},
		{"exporter.node.timeout", exporters["node"].Timeout.Std(), 10 * time.Second},
		{"exporter.app.timeout (default)", exporters["app"].Timeout.Std(), 10 * time.Second},
		{"exporter.app.verify (default)", *exporters["app"].Verify, true},
		{"file.jobs.path (drop-in)", files["jobs"].Path, "/var/lib/app/jobs.prom"},
		{"script.hello.params", strings.Join(scripts["hello"].Params, ","), "host"},
		{"origin of exporter.app", cfg.where("exporter.app"), "testdata/dropin/10-app.toml"},
	} {
		if tc.have != tc.want {
			t.Errorf("%s: want %v, have %v", tc.what, tc.want, tc.have)
		}
	}
	mods, _, err := new(sourceBuilder).build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mods {
		names = append(names, string(m.Kind)+"."+m.Name)
	}
	if have, want := strings.Join(names, " "), "exporter.app exporter.node file.jobs file.textfile script.hello"; have != want {
		t.Errorf("modules: want %s, have %s", want, have)
	}
}

// sectionsOf are the sections of one kind, as their config type.
func sectionsOf[P sourceConfig](cfg *Config, k source.Kind) map[string]P {
	out := make(map[string]P)
	for name, c := range cfg.Sources[k] {
		out[name] = c.(P)
	}
	return out
}

// TestLoadConfigBad: each bad input gives exactly these errors.
func TestLoadConfigBad(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string // main.toml and drop-ins d/NAME.toml
		want  []string          // DIR/ stands for the test's directory
	}{
		{
			name:  "malformed TOML",
			files: map[string]string{"main.toml": "[exporter.a]\nurl = \"http://x/\"\ntimeout = \n"},
			want:  []string{`DIR/main.toml: line 3: exporter.a.timeout: expected value but found '\n' instead`},
		},
		{
			// The parser's last key is the line before's: the line, not
			// that key, says where.
			name:  "stray line after a section",
			files: map[string]string{"main.toml": "[exporter.ok]\nurl = \"http://x/\"\n[[[\n"},
			want:  []string{`DIR/main.toml: line 3: expected '.' or ']' to end table name, but got '[' instead`},
		},
		{
			name:  "key defined twice",
			files: map[string]string{"main.toml": "[exporter.a]\nurl = \"http://x/\"\nurl = \"http://y/\"\n"},
			want:  []string{`DIR/main.toml: line 3: exporter.a.url: Key 'exporter.a.url' has already been defined.`},
		},
		{
			name:  "unknown key",
			files: map[string]string{"main.toml": "[exporter.a]\nurl = \"http://x/\"\nurll = \"http://y/\"\n[exporter.a.tls]\nca = \"x\"\n[wbe]\nx = 1\n"},
			want: []string{
				"DIR/main.toml: exporter.a.urll: unknown key",
				"DIR/main.toml: exporter.a.tls.ca: unknown key",
				"DIR/main.toml: wbe: unknown key",
			},
		},
		{
			name: "duplicate name across drop-ins",
			files: map[string]string{
				"main.toml":    "[exporter.a]\nurl = \"http://x/\"\n",
				"d/10-a.toml":  "[file.a]\npath = \"/a.prom\"\n",
				"d/20-b.toml":  "[exporter.b]\nurl = \"http://x/\"\n[web]\nmerge_label = \"src\"\n",
				"d/30-b.toml":  "[exporter.b]\nurl = \"http://y/\"\n",
				"d/40-w.toml":  "[web]\nmerge_label = \"other\"\n",
				"d/ignored.md": "not toml",
			},
			want: []string{
				"DIR/d/10-a.toml: file.a: name already used by [exporter.a] in DIR/main.toml",
				"DIR/d/30-b.toml: exporter.b: already defined in DIR/d/20-b.toml",
				"DIR/d/40-w.toml: web: already set in DIR/d/20-b.toml (set [web] in one file only)",
			},
		},
		{
			// A typo is reported with what it leaves missing, at once.
			name:  "unknown key and a bad value",
			files: map[string]string{"main.toml": "[exporter.a]\nurll = \"http://y/\"\n[process.p]\ncommand = [\"x\"]\nrestart = \"sometimes\"\n"},
			want: []string{
				"DIR/main.toml: exporter.a.urll: unknown key",
				`DIR/main.toml: process.p.restart: "sometimes" is not one of always, on-failure, never`,
				"DIR/main.toml: exporter.a.url: missing",
			},
		},
		{
			// A file that is not TOML defines nothing: the others are not
			// checked without it.
			name: "malformed drop-in",
			files: map[string]string{
				"main.toml":   "[process.p]\ncommand = [\"x\"]\ndepends_on = [\"init\"]\n",
				"d/10-a.toml": "[task.init\ncommand = [\"true\"]\n",
			},
			want: []string{`DIR/d/10-a.toml: line 2: expected '.' or ']' to end table name, but got '\n' instead`},
		},
		{
			name:  "bad duration",
			files: map[string]string{"main.toml": "[exporter.a]\nurl = \"http://x/\"\ntimeout = \"5 parsecs\"\n"},
			want:  []string{`DIR/main.toml: line 3: exporter.a.timeout: invalid duration "5 parsecs": want a number with a unit (ns, us, ms, s, m, h), such as "5s"`},
		},
		{
			name:  "duration without unit",
			files: map[string]string{"main.toml": "[task.t]\ncommand = [\"true\"]\ntimeout = 30\n"},
			want:  []string{`DIR/main.toml: line 3: task.t.timeout: a duration is a string with a unit, such as "5s" (have 30)`},
		},
		{
			// Was taken as 10 ns: reset was missing from a hand-kept list of duration keys.
			name:  "backoff.reset without unit",
			files: map[string]string{"main.toml": "[process.p]\ncommand = [\"x\"]\nbackoff = { reset = 10 }\n"},
			want:  []string{`DIR/main.toml: line 3: process.p.backoff.reset: a duration is a string with a unit, such as "5s" (have 10)`},
		},
		{
			// One bad value hid every other problem of the file.
			name: "several bad values in one file",
			files: map[string]string{"main.toml": "[web]\nscrape_timeout = 5\nmax_body_bytes = \"lots\"\n" +
				"[exporter.a]\nurl = \"http://x/\"\ntimeout = \"5 parsecs\"\n" +
				"[process.p]\ncommand = [\"x\"]\nrestart = \"sometimes\"\nstop_grace = \"1s\"\n" +
				"backoff = { initial = \"1s\", max = 60, reset = \"soon\" }\nready = { tcp = \"x:1\", interval = 1 }\n" +
				"[process.q]\ncommand = [\"x\"]\nrestart_window = \"1 fortnight\"\n" +
				"[task.t]\ncommand = [\"x\"]\ntimeout = 30\n" +
				"[script.s]\ncommand = [\"x\"]\ncache = \"1\"\nlabels = { \"bad-name\" = \"x\" }\n"},
			want: []string{
				`DIR/main.toml: line 2: web.scrape_timeout: a duration is a string with a unit, such as "5s" (have 5)`,
				`DIR/main.toml: line 3: web.max_body_bytes: invalid size "lots": want a positive number with a unit such as 512KiB, 32MiB, 1GiB`,
				`DIR/main.toml: line 6: exporter.a.timeout: invalid duration "5 parsecs": want a number with a unit (ns, us, ms, s, m, h), such as "5s"`,
				`DIR/main.toml: line 11: process.p.backoff.max: a duration is a string with a unit, such as "5s" (have 60)`,
				`DIR/main.toml: line 11: process.p.backoff.reset: invalid duration "soon": want a number with a unit (ns, us, ms, s, m, h), such as "5s"`,
				`DIR/main.toml: line 12: process.p.ready.interval: a duration is a string with a unit, such as "5s" (have 1)`,
				`DIR/main.toml: line 15: process.q.restart_window: invalid duration "1 fortnight": want a number with a unit (ns, us, ms, s, m, h), such as "5s"`,
				`DIR/main.toml: line 18: task.t.timeout: a duration is a string with a unit, such as "5s" (have 30)`,
				`DIR/main.toml: line 21: script.s.cache: a duration is a string with a unit, such as "5s" (have 1)`,
				"DIR/main.toml: process.p.stop_grace: unknown key",
				`DIR/main.toml: process.p.restart: "sometimes" is not one of always, on-failure, never`,
				`DIR/main.toml: script.s.labels.bad-name: "bad-name" is not a valid label name (letters, digits and '_', not starting with a digit)`,
			},
		},
		{
			// Script labels were never checked; no kind's are now left out.
			name: "labels of every kind",
			files: map[string]string{"main.toml": "[script.s]\ncommand = [\"x\"]\nlabels = { \"bad-name\" = \"x\" }\n" +
				"[exporter.e]\nurl = \"http://x/\"\nlabels = { le = \"1\", quantile = \"2\", __meta = \"3\", exporter = \"4\", ok = \"5\" }\n" +
				"[file.f]\npath = \"/x\"\nlabels = { \"0x\" = \"1\" }\n"},
			want: []string{
				`DIR/main.toml: exporter.e.labels.__meta: "__meta" is reserved: names starting with "__" are Prometheus' own`,
				`DIR/main.toml: exporter.e.labels.exporter: "exporter" is the merge label (web.merge_label), which names the source`,
				`DIR/main.toml: exporter.e.labels.le: "le" is reserved: histogram buckets carry it`,
				`DIR/main.toml: exporter.e.labels.quantile: "quantile" is reserved: summary quantiles carry it`,
				`DIR/main.toml: file.f.labels.0x: "0x" is not a valid label name (letters, digits and '_', not starting with a digit)`,
				`DIR/main.toml: script.s.labels.bad-name: "bad-name" is not a valid label name (letters, digits and '_', not starting with a digit)`,
			},
		},
		{
			name:  "merge label family",
			files: map[string]string{"main.toml": "[web]\nmerge_label = \"family\"\n"},
			want:  []string{`DIR/main.toml: web.merge_label: "family" is taken: corral_merge_conflicts_total names the family left out with it`},
		},
		{
			name:  "merge label le",
			files: map[string]string{"main.toml": "[web]\nmerge_label = \"le\"\n"},
			want:  []string{`DIR/main.toml: web.merge_label: "le" is reserved: histogram buckets carry it`},
		},
		{
			name:  "merge label quantile",
			files: map[string]string{"main.toml": "[web]\nmerge_label = \"quantile\"\n"},
			want:  []string{`DIR/main.toml: web.merge_label: "quantile" is reserved: summary quantiles carry it`},
		},
		{
			name:  "merge label __name__",
			files: map[string]string{"main.toml": "[web]\nmerge_label = \"__name__\"\n"},
			want:  []string{`DIR/main.toml: web.merge_label: "__name__" is reserved: names starting with "__" are Prometheus' own`},
		},
		{
			name:  "bad URL",
			files: map[string]string{"main.toml": "[exporter.a]\nurl = \"127.0.0.1:9100/metrics\"\n[exporter.b]\nurl = \"ftp://x/\"\n[exporter.c]\n"},
			want: []string{
				`DIR/main.toml: exporter.a.url: parse "127.0.0.1:9100/metrics": first path segment in URL cannot contain colon`,
				`DIR/main.toml: exporter.b.url: "ftp://x/" must be an absolute http or https URL`,
				"DIR/main.toml: exporter.c.url: missing",
			},
		},
		{
			name:  "missing command",
			files: map[string]string{"main.toml": "[process.p]\nrestart = \"always\"\n[task.t]\ncommand = []\n[script.s]\ntimeout = \"1s\"\n"},
			want: []string{
				"DIR/main.toml: process.p.command: missing",
				"DIR/main.toml: task.t.command: missing",
				"DIR/main.toml: script.s.command: missing",
			},
		},
		{
			name: "references",
			files: map[string]string{"main.toml": "[exporter.a]\nurl = \"http://x/\"\nprocess = \"ghost\"\n" +
				"[process.p]\ncommand = [\"x\"]\ndepends_on = [\"q\", \"nobody\"]\n[process.q]\ncommand = [\"x\"]\ndepends_on = [\"p\"]\n" +
				"[file.corral]\npath = \"/x\"\n[file.\"a b\"]\npath = \"/x\"\n"},
			want: []string{
				"DIR/main.toml: exporter.a.process: no [process.ghost]",
				`DIR/main.toml: file.a b.name: "a b" must be letters, digits, '_', '-' or '.'`,
				`DIR/main.toml: file.corral.name: "corral" is corral's own source (web.self_source)`,
				`DIR/main.toml: process.p.depends_on: no process or task named "nobody"`,
				"DIR/main.toml: process.p.depends_on: cycle p -> q -> p",
			},
		},
		{
			name:  "bad web",
			files: map[string]string{"main.toml": "[web]\nmerge_label = \"1bad\"\nmax_body_bytes = \"lots\"\n"},
			want: []string{
				`DIR/main.toml: line 3: web.max_body_bytes: invalid size "lots": want a positive number with a unit such as 512KiB, 32MiB, 1GiB`,
				`DIR/main.toml: web.merge_label: "1bad" is not a valid label name (letters, digits and '_', not starting with a digit)`,
			},
		},
		{
			name:  "bad web values",
			files: map[string]string{"main.toml": "[web]\nmerge_label = \"1bad\"\nallow_networks = [\"10.0.0.0/33\"]\n"},
			want: []string{
				`DIR/main.toml: web.merge_label: "1bad" is not a valid label name (letters, digits and '_', not starting with a digit)`,
				`DIR/main.toml: web.allow_networks[0]: netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`,
			},
		},
		{
			name: "bad endpoints",
			files: map[string]string{
				"main.toml": "[exporter.pg]\nurl = \"http://x/\"\n[endpoint.db]\npath = \"/db/metrics\"\nsources = [\"pg\", \"nope\"]\n" +
					"[endpoint.rel]\npath = \"db\"\nsources = [\"pg\"]\n[endpoint.own]\npath = \"/proxy\"\nsources = [\"pg\", \"pg\"]\n" +
					"[endpoint.health]\npath = \"/-/x\"\nsources = []\n[endpoint.odd]\npath = \"/a?b\"\nsource = [\"pg\"]\n",
				"d/10.toml": "[endpoint.db2]\npath = \"/db/metrics\"\nsources = [\"pg\"]\n[web]\ndefault_module = \"none\"\nexternal_address = \"a b:99\"\n",
			},
			want: []string{
				"DIR/main.toml: endpoint.odd.source: unknown key",
				`DIR/d/10.toml: web.external_address: "a b" is not a host name`,
				`DIR/main.toml: endpoint.health.path: "/-/x" is corral's own (/, /metrics, /proxy, /-/...)`,
				"DIR/main.toml: endpoint.health.sources: missing: name the sources to merge",
				`DIR/main.toml: endpoint.odd.path: "/a?b" must be a plain path (no query, spaces, braces, // or ..)`,
				"DIR/main.toml: endpoint.odd.sources: missing: name the sources to merge",
				`DIR/main.toml: endpoint.own.path: "/proxy" is corral's own (/, /metrics, /proxy, /-/...)`,
				`DIR/main.toml: endpoint.own.sources[1]: "pg" listed twice`,
				`DIR/main.toml: endpoint.rel.path: "db" must start with /`,
				`DIR/d/10.toml: web.default_module: no source named "none"`,
				`DIR/main.toml: endpoint.db.sources[1]: no source named "nope"`,
				`DIR/d/10.toml: endpoint.db2.path: "/db/metrics" is already the path of [endpoint.db]`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var dirs []string
			if _, err := os.Stat(filepath.Join(dir, "d")); err == nil {
				dirs = []string{filepath.Join(dir, "d")}
			}
			cfg, err := loadConfig(filepath.Join(dir, "main.toml"), dirs)
			if err == nil {
				t.Fatalf("want errors, have a config: %+v", cfg)
			}
			have := strings.Split(strings.ReplaceAll(err.Error(), dir+"/", "DIR/"), "\n")
			if strings.Join(have, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("want:\n%s\nhave:\n%s", strings.Join(tc.want, "\n"), strings.Join(have, "\n"))
			}
		})
	}
}

// TestLoadConfigMissingFile: no file, no config.
func TestLoadConfigMissingFile(t *testing.T) {
	_, err := loadConfig("testdata/nope.toml", nil)
	if want := "open testdata/nope.toml: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("want %q, have %v", want, err)
	}
	_, err = loadConfig("testdata/minimal.toml", []string{"testdata/nodir"})
	if want := "testdata/nodir: stat testdata/nodir: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("want %q, have %v", want, err)
	}
}

// FuzzLoadConfig: any input loads or fails with errors, never panics, and
// a config that loads validates again the same way.
func FuzzLoadConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.toml")
	more, _ := filepath.Glob("testdata/*/*.toml")
	for _, s := range append(seeds, more...) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("[web]\nmax_body_bytes = \"1GiB\"\n[exporter.a]\nurl=\"http://x\"\ntimeout=\"-1s\"\n"))
	f.Add([]byte("[process.a]\ncommand=[\"x\"]\ndepends_on=[\"a\"]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.toml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(p, nil)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if err := cfg.validate(); err != nil {
			t.Fatalf("a loaded config fails validation again: %v", err)
		}
	})
}

// TestDurationsTyped: every duration of every section, the kinds' included,
// is a duration.Duration, which refuses a bare number; a time.Duration
// would take one as nanoseconds.
func TestDurationsTyped(t *testing.T) {
	types := []reflect.Type{
		reflect.TypeFor[gateway.WebConfig](), reflect.TypeFor[supervisor.Config](),
		reflect.TypeFor[supervisor.ProcessConfig](), reflect.TypeFor[supervisor.TaskConfig](),
	}
	for _, k := range kinds() {
		var top map[string]toml.Primitive
		md, err := toml.Decode("["+string(k.name)+".x]\n", &top)
		if err != nil {
			t.Fatal(err)
		}
		sections, err := k.decode(&md, top[string(k.name)])
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, reflect.TypeOf(sections["x"]).Elem())
	}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(path, typ.Elem())
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				walk(path+"."+f.Name, f.Type)
			}
		}
		if typ == reflect.TypeFor[time.Duration]() {
			t.Errorf("%s: want duration.Duration, have time.Duration", path)
		}
	}
	for _, typ := range types {
		walk(typ.String(), typ)
	}
	if len(types) != 4+len(kinds()) {
		t.Errorf("want %d config types walked, have %d", 4+len(kinds()), len(types))
	}
}
