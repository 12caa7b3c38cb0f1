package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v2"

	"github.com/corral-metrics/corral/source/exporter"
)

// FuzzImport: any file read as exporter_exporter's (reverse false) or
// reverse_exporter's (reverse true) configuration is imported or refused,
// never a panic or a hang (an alias bomb is refused, as the peers' yaml.v3
// refuses it). An import that succeeds prints a configuration that loads
// and builds as corral check loads and builds it, and writes every side
// file it names where it says; one that fails writes nothing, and every
// line of its error names the file and a key (or the YAML line).
func FuzzImport(f *testing.F) {
	err := filepath.WalkDir(filepath.Join("testdata", "import"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || (filepath.Ext(p) != ".yml" && filepath.Ext(p) != ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		// Each file as both peers' too: the other's keys are errors.
		f.Add(false, b)
		f.Add(true, b)
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, reverse bool, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "peer.yml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		peer := "exporter_exporter"
		if reverse {
			peer = "reverse_exporter"
		}
		out, stderr, code := runImport(t, peer, file)
		switch code {
		case 0:
			checkImport(t, dir, out, stderr)
		case 1:
			if out != "" {
				t.Errorf("refused, yet printed\n%s", out)
			}
			for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				rest, ok := strings.CutPrefix(line, file+": ")
				if !ok || !namesKey.MatchString(rest) {
					t.Errorf("an error line that does not name the file and a key: %q\nwhole error:\n%s", line, stderr)
				}
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("refused, yet wrote files: %d entries in the directory", len(ents))
			}
		default:
			t.Fatalf("exit %d\n%s", code, stderr)
		}
	})
}

// namesKey matches an import error after its file: the key path as yamlDoc
// writes it (keys joined by '.', a key quoted when it needs to be, list
// items as [N]; a key with a ':' or a character that does not print
// quoted) or "(top level)", then ": "; or YAML's own error, which
// names the line.
var namesKey = regexp.MustCompile(`^(?:not valid YAML: |\(top level\): |` +
	`(?:"(?:[^"\\]|\\.)*"|[^."\[\]:[:cntrl:]]+)(?:\[\d+\])*(?:\.(?:"(?:[^"\\]|\\.)*"|[^."\[\]:[:cntrl:]]+)(?:\[\d+\])*)*: )`)

// sideFileLine is a line of corral import's log naming a side file written.
var sideFileLine = regexp.MustCompile(`^corral import: (?:wrote )?(/.+?): `)

// checkImport checks a successful import into dir: the side files its log
// names are in dir; every file in dir the configuration names is one of
// them; the configuration loads and builds, as corral check does it, with
// the files the peer's configuration named itself (certificates, CAs),
// which the import passes on as they are, standing in for by test ones.
func checkImport(t *testing.T, dir, out, stderr string) {
	t.Helper()
	written := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if line == "" {
			continue
		}
		m := sideFileLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("a line of the log that names no side file: %q", line)
			continue
		}
		if filepath.Dir(m[1]) != dir {
			t.Errorf("side file %s written outside the output directory %s", m[1], dir)
		}
		if _, err := os.Stat(m[1]); err != nil {
			t.Errorf("side file the log names: %v", err)
		}
		written[m[1]] = true
	}
	var fixtures string
	fixture := func(name string) string {
		if fixtures == "" {
			fixtures = t.TempDir()
			writeTLSFiles(t, fixtures)
		}
		return filepath.Join(fixtures, name)
	}
	inDir := func(key, p string) {
		if p != "" && filepath.Dir(p) == dir && !written[p] {
			t.Errorf("%s %s: in the output directory, yet not written by the import", key, p)
		}
	}
	cfg, err := loadImported(t, out, func(cfg *Config) {
		inDir("web.web_config_file", cfg.Web.WebConfigFile)
		inDir("web.bearer_token_file", cfg.Web.BearerTokenFile)
		for name, s := range cfg.Sources[exporter.Kind] {
			c := s.(*exporter.Config)
			inDir("exporter."+name+".basic_auth.password_file", c.BasicAuth.PasswordFile)
			for _, fx := range []struct {
				p    *string
				name string
			}{{&c.TLS.CAFile, "ca.crt"}, {&c.TLS.CertFile, "server.crt"}, {&c.TLS.KeyFile, "server.key"}} {
				if *fx.p != "" {
					*fx.p = fixture(fx.name)
				}
			}
		}
		if cfg.Web.WebConfigFile != "" {
			cfg.Web.WebConfigFile = webConfigWithFixtures(t, cfg.Web.WebConfigFile, fixture)
		}
	})
	if err != nil {
		t.Fatalf("the imported configuration does not load: %v\n%s", err, out)
	}
	if cfg.Web.ListenAddress == "" {
		t.Errorf("no listen address\n%s", out)
	}
}

// webConfigWithFixtures is a copy of the web config at p with the files
// its tls_server_config names replaced by fixture's.
func webConfigWithFixtures(t *testing.T, p string, fixture func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("web config %s: %v\n%s", p, err, b)
	}
	for _, item := range doc {
		if item.Key != "tls_server_config" {
			continue
		}
		tls, _ := item.Value.(yaml.MapSlice)
		for i, kv := range tls {
			switch kv.Key {
			case "cert_file":
				tls[i].Value = fixture("server.crt")
			case "key_file":
				tls[i].Value = fixture("server.key")
			case "client_ca_file":
				tls[i].Value = fixture("ca.crt")
			}
		}
	}
	b, err = yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(copied, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return copied
}

// TestImportAliasBomb: YAML whose aliases (or defaults) expand to millions
// of values is refused as the peers' yaml.v3 refuses it, quickly, in as
// little memory: the import follows aliases and merge keys itself, past
// yaml.v3's own limit (which holds only while decoding into Go values).
func TestImportAliasBomb(t *testing.T) {
	// rep is f(0) to f(n-1), joined by sep.
	rep := func(n int, f func(i int) string, sep string) string {
		l := make([]string, n)
		for i := range l {
			l[i] = f(i)
		}
		return strings.Join(l, sep)
	}
	const n = 3000
	for _, tc := range []struct {
		name, peer, yaml string
	}{
		{
			// n modules, each the same http with n headers: n² headers.
			name: "exporter_exporter: modules × headers", peer: "exporter_exporter",
			yaml: "modules:\n  m0: &m {method: http, http: {port: 1, headers: {" +
				rep(n, func(i int) string { return "h" + strconv.Itoa(i) + ": x" }, ", ") + "}}}\n" +
				rep(n, func(i int) string { return "  m" + strconv.Itoa(i+1) + ": *m" }, "\n") + "\n",
		},
		{
			// n paths, each with the same n exporters: n² exporters, each
			// an error (its name is taken).
			name: "reverse_exporter: paths × exporters", peer: "reverse_exporter",
			yaml: "x: &e {name: a, address: 'http://x:1/'}\nreverse_exporters:\n- &p {path: /p, exporters: {http: [" +
				rep(n, func(int) string { return "*e" }, ", ") + "]}}\n" +
				rep(n, func(int) string { return "- *p" }, "\n") + "\n",
		},
		{
			// n exporters, each taking the n labels of exporter_defaults:
			// n² labels, as if each had an alias of them.
			name: "reverse_exporter: exporters × default labels", peer: "reverse_exporter",
			yaml: "exporter_defaults:\n  file: {labels: {" + rep(n, func(i int) string { return "l" + strconv.Itoa(i) + ": x" }, ", ") + "}}\n" +
				"reverse_exporters:\n- path: /metrics\n  exporters:\n    file:\n" +
				rep(n, func(i int) string { return "    - {name: f" + strconv.Itoa(i) + ", path: /x}" }, "\n") + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "bomb.yml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			out, stderr, code := runImport(t, tc.peer, file)
			took := time.Since(start)
			want := file + ": "
			if code != 1 || out != "" || !strings.Contains(stderr, "document contains excessive aliasing") || !strings.HasPrefix(stderr, want) {
				t.Errorf("want exit 1 and %s...: document contains excessive aliasing, have %d, %d bytes out, %d bytes of error:\n%.600s",
					want, code, len(out), len(stderr), stderr)
			}
			if lines := strings.Count(stderr, "\n"); lines > 10 {
				t.Errorf("want the refusal, not one error per expanded value: %d lines", lines)
			}
			if took > 10*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}

// TestImportDefaultModule: exporter_exporter's defaultModule is carried
// over when it names a module, of the file or of -config.dirs, and left
// out with a note when it names none (exporter_exporter answered 404 for
// it; corral refuses a default_module that names no source). Found by
// FuzzImport: `defaultModule: 00` was imported as a configuration corral
// refused.
func TestImportDefaultModule(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		dirs       bool
		want       string
	}{
		{"of the file", "defaultModule: a\nmodules:\n  a: {method: file, file: {path: /x}}\n", false, `default_module = "a"`},
		{"of -config.dirs", "defaultModule: node\nmodules: {}\n", true, `default_module = "node"`},
		{"of no module", "defaultModule: 00\n", false, `# import: defaultModule "00" names no module`},
		{"of no module, with modules", "defaultModule: b\nmodules:\n  a: {method: file, file: {path: /x}}\n", false, `# import: defaultModule "b" names no module`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyImportData(t, "expexp/dirs")
			if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"exporter_exporter", filepath.Join(dir, "x.yaml")}
			if tc.dirs {
				args = append(args, "-config.dirs", filepath.Join(dir, "expexp.d"))
			}
			out, stderr, code := runImport(t, args...)
			if code != 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("want exit 0 and %s, have %d\n%s%s", tc.want, code, out, stderr)
			}
			if _, err := loadImported(t, out, nil); err != nil {
				t.Errorf("the imported configuration does not load: %v\n%s", err, out)
			}
		})
	}
}
