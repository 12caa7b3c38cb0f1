package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigGood(t *testing.T) {
	cfg, err := loadConfig("testdata/full.toml", []string{"testdata/dropin"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what       string
		have, want any
	}{
		{"web.listen_address", cfg.Web.ListenAddress, "127.0.0.1:9999"},
		{"web.max_body_bytes", int64(cfg.Web.MaxBodyBytes), int64(16 << 20)},
		{"supervisor.stop_timeout", cfg.Supervisor.StopTimeout, 8 * time.Second},
		{"process.node.depends_on", strings.Join(cfg.Process["node"].DependsOn, ","), "init"},
		{"exporter.node.timeout", cfg.Exporter["node"].Timeout, 10 * time.Second},
		{"exporter.app.timeout (default)", cfg.Exporter["app"].Timeout, 10 * time.Second},
		{"exporter.app.verify (default)", *cfg.Exporter["app"].Verify, true},
		{"file.jobs.path (drop-in)", cfg.File["jobs"].Path, "/var/lib/app/jobs.prom"},
		{"script.hello.params", strings.Join(cfg.Script["hello"].Params, ","), "host"},
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
		names = append(names, m.Kind+"."+m.Name)
	}
	if have, want := strings.Join(names, " "), "exporter.app exporter.node file.jobs file.textfile script.hello"; have != want {
		t.Errorf("modules: want %s, have %s", want, have)
	}
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
			want:  []string{`DIR/main.toml: line 3: exporter.a.timeout: invalid duration: "5 parsecs"`},
		},
		{
			name:  "duration without unit",
			files: map[string]string{"main.toml": "[task.t]\ncommand = [\"true\"]\ntimeout = 30\n"},
			want:  []string{`DIR/main.toml: task.t.timeout: a duration is a string with a unit, such as "5s"`},
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
			want:  []string{`DIR/main.toml: line 3: web.max_body_bytes: invalid size "lots": want a positive number with a unit such as 512KiB, 32MiB, 1GiB`},
		},
		{
			name:  "bad web values",
			files: map[string]string{"main.toml": "[web]\nmerge_label = \"1bad\"\nallow_networks = [\"10.0.0.0/33\"]\n"},
			want: []string{
				`DIR/main.toml: web.merge_label: "1bad" is not a valid label name`,
				`DIR/main.toml: web.allow_networks[0]: netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`,
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
