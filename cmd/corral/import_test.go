package main

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	goflag "flag"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"github.com/urfave/cli/v2"
	yaml "go.yaml.in/yaml/v2"
	yaml3 "go.yaml.in/yaml/v3"

	"github.com/corral-metrics/corral/scripts"
	"github.com/corral-metrics/corral/source/exporter"
)

var updateImport = goflag.Bool("update", false, "rewrite the .golden files in testdata/import/golden")

// runImport runs `corral import ARGS...` in the process and returns what it
// printed and its exit code.
func runImport(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	app := newApp(nil)
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	app.ExitErrHandler = func(*cli.Context, error) {} // the exit code is read below, not acted on
	err := app.Run(append([]string{"corral", "import"}, args...))
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ec):
		code = ec.ExitCode()
		fmt.Fprintln(&errOut, err)
	case err != nil:
		code = -1
		fmt.Fprintln(&errOut, err)
	}
	return out.String(), errOut.String(), code
}

// copyImportData copies testdata/import/SUB to a new directory.
func copyImportData(t *testing.T, sub string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "import", sub))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sourcesOf lists the sources of cfg as "KIND.NAME" with " merged" when they
// are part of /metrics.
func sourcesOf(cfg *Config) string {
	var l []string
	add := func(kind, name string, merge *bool) {
		s := kind + "." + name
		if merge != nil && *merge {
			s += " merged"
		}
		l = append(l, s)
	}
	for _, k := range kinds() {
		sections := cfg.Sources[k.name]
		for _, n := range slices.Sorted(maps.Keys(sections)) {
			add(string(k.name), n, sections[n].Shared().Merge)
		}
	}
	return strings.Join(l, ", ")
}

// importCase is one of the peers' documented configurations: ARGS of corral
// import (with {dir} for the copy of testdata/import/DATA), and what the
// imported configuration must hold.
type importCase struct {
	name, data string
	args       []string
	sources    string
	listen     string
	want       []string // in the TOML
	absent     []string // not in the TOML
	tls        bool     // setup: writeTLSFiles
}

func importCases() []importCase {
	expexpSources := "exporter.blackbox, exporter.cadvisor, exporter.haproxy, exporter.mtail, exporter.node"
	reverseSources := "exporter.blackbox_exporter, exporter.node_exporter merged, exporter.prometheus merged, " +
		"file.cron_metrics merged, script.dynamic_metrics merged, script.periodic_dynamic_metrics merged"
	return []importCase{
		{
			name: "exporter_exporter expexp.yaml", data: "expexp",
			args:    []string{"exporter_exporter", "{dir}/expexp.yaml"},
			sources: expexpSources, listen: ":9999",
			want: []string{`default_module = "node"`, "tls_ca_cert_file nofile is not carried over", `headers = { foo = "bar" }`},
		},
		{
			name: "exporter_exporter README", data: "expexp",
			args: []string{"exporter_exporter", "{dir}/readme.yaml"},
			sources: "exporter.blackbox, exporter.cadvisor, exporter.mtail, exporter.netdata, exporter.node, " +
				"file.somefile, script.somescript",
			listen: ":9999",
			want: []string{
				`url = "http://localhost:19999/api/v1/allmetrics?format=prometheus"`,
				`command = ["/tmp/myscript.sh", "myarg1", "myarg2"]`,
				`env = { THING = "1", THING2 = "2" }`,
				"ran the command with only these variables",
				"/proxy?...&args=X",
				`timeout = "5m"`, `timeout = "1s"`,
			},
			// Notes once written here, and false: corral passes a second
			// module= on, and adds expexp_file_mtime_timestamp on /proxy.
			absent: []string{"second module=", "answers 400", "corral_file_mtime_seconds", "expexp_file_mtime_timestamp"},
		},
		{
			name: "exporter_exporter YAML merge keys and dotted names", data: "yaml",
			args: []string{"exporter_exporter", "{dir}/expexp.yaml"},
			sources: "exporter.a, exporter.b, exporter.c, exporter.d, exporter.e, " +
				"exporter.node.v2, exporter.prod.node, exporter.staging.node, script.s",
			listen: ":9999",
			want: []string{
				"[exporter.b]\nurl = \"http://localhost:19101/metrics\"\n",
				`basic_auth = { username = "u", password_file = "{dir}/b.password" }`,
				"[exporter.c]\nurl = \"http://localhost:19101/metrics\"\n",
				"[exporter.d]\nurl = \"http://localhost:19101/metrics\"\n",
				`url = "http://localhost:19102/first"`,
				`headers = { X-Id = "0123" }`, `basic_auth = { username = "u", password_file = "{dir}/e.password" }`,
				"[exporter.\"node.v2\"]\n", `timeout = "30s"`,
				"[exporter.\"prod.node\"]\n", `headers = { "X-Token.v2" = "1" }`,
				"[exporter.\"staging.node\"]\n",
				`env = { THING = "0123", "my.setting" = "1" }`,
				"holds more than one YAML document",
			},
		},
		{
			name: "exporter_exporter -config.dirs", data: "expexp/dirs",
			args:    []string{"exporter_exporter", "{dir}/expexp.yaml", "-config.dirs", "{dir}/expexp.d"},
			sources: "exporter.mtail, exporter.node", listen: ":9999",
		},
		{
			name: "exporter_exporter -config.dirs only, flags first", data: "expexp/dirs",
			args:    []string{"exporter_exporter", "-config.file=", "--config.dirs={dir}/expexp.d", "-web.listen-address", "127.0.0.1:9999", "-allow.net", "10.0.0.0/8", "-allow.net=127.0.0.0/8"},
			sources: "exporter.mtail, exporter.node", listen: "127.0.0.1:9999",
			want: []string{`allow_networks = ["10.0.0.0/8", "127.0.0.0/8"]`},
		},
		{
			// The README's TLS example, flags as given there.
			name: "exporter_exporter README TLS flags", data: "expexp",
			args: []string{"exporter_exporter", "{dir}/expexp.yaml", "-web.listen-address=", "-web.tls.listen-address=:9998",
				"-web.tls.cert={dir}/server.crt", "-web.tls.key={dir}/server.key", "-web.tls.ca={dir}/ca.crt", "-web.tls.verify",
				"-web.tls.certmatch=^prometheus$", "-web.bearer.token", "s3cret"},
			sources: expexpSources, listen: ":9998",
			want: []string{`web_config_file = "{dir}/web.yml"`, `bearer_token_file = "{dir}/bearer.token"`},
			tls:  true,
		},
		{
			name: "reverse_exporter complete", data: "reverse",
			args:    []string{"reverse_exporter", "{dir}/complete.yml"},
			sources: reverseSources, listen: "0.0.0.0:9998",
			want: []string{`merge_label = "exporter_name"`, `labels = { node_uuid = "some.special.identifier" }`,
				`cache = "30s"`, "stale_on_error = true", `web_config_file = "{dir}/web.yml"`,
				"web.listen unix:///var/run/server.socket: not carried over"},
		},
		{
			name: "reverse_exporter test_config", data: "reverse",
			args: []string{"reverse_exporter", "{dir}/test_config.yml", "-output.dir", "{dir}/out"},
			sources: "exporter.blackbox_exporter, exporter.node_exporter merged, exporter.prometheus merged, " +
				"file.cron_metrics, script.dynamic_metrics, script.periodic_dynamic_metrics",
			listen: "1.2.3.4:9115",
			want:   []string{`timeout = "5s"`, `web_config_file = "{dir}/out/web.yml"`},
		},
		{
			name: "reverse_exporter compose", data: "reverse",
			args:    []string{"reverse_exporter", "{dir}/compose.yml"},
			sources: "exporter.node_exporter merged, exporter.prometheus merged", listen: ":9998",
		},
		{
			name: "reverse_exporter empty", data: "reverse",
			args:    []string{"reverse_exporter", "{dir}/empty.yml"},
			sources: "", listen: ":9998",
		},
		{
			name: "reverse_exporter YAML merge keys and dotted names", data: "yaml",
			args:    []string{"reverse_exporter", "{dir}/reverse.yml"},
			sources: "exporter.node merged, exporter.node.v2 merged", listen: ":9998",
			want: []string{"[exporter.\"node.v2\"]\nurl = \"http://127.0.0.1:9101/metrics\"\n",
				`labels = { site = "x", rack = "007" }`},
		},
	}
}

// writeTLSFiles writes a CA and a server certificate with its key in dir,
// and returns the CA and a client certificate it signed for "prometheus".
func writeTLSFiles(t *testing.T, dir string) (*x509.Certificate, tls.Certificate) {
	ca, caKey := newCA(t)
	writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", ca.Raw)
	issue(t, ca, caKey, dir, "server", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
	return ca, issue(t, ca, caKey, t.TempDir(), "prometheus", x509.ExtKeyUsageClientAuth, nil, []string{"prometheus"})
}

// slug is s in lower case with runs of anything but letters and digits as '_'.
func slug(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') })
	return strings.Join(f, "_")
}

func expand(args []string, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "{dir}", dir)
	}
	return out
}

// loadImported loads the configuration an import printed as corral check
// does: loadConfig, then checkBuild, with adjust (if any) applied to the
// loaded configuration between the two.
func loadImported(t *testing.T, out string, adjust func(*Config)) (*Config, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "corral.toml")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(file, nil)
	if err != nil {
		return nil, err
	}
	if adjust != nil {
		adjust(cfg)
	}
	return cfg, checkBuild(cfg)
}

// TestImportDocumentedConfigs feeds each peer's documented configurations
// through corral import and loads the result as corral check does.
func TestImportDocumentedConfigs(t *testing.T) {
	for _, tc := range importCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyImportData(t, tc.data)
			if tc.tls {
				writeTLSFiles(t, dir)
			}
			out, stderr, code := runImport(t, expand(tc.args, dir)...)
			if code != 0 {
				t.Fatalf("want exit 0, have %d\n%s", code, stderr)
			}
			cfg, err := loadImported(t, out, nil)
			if err != nil {
				t.Fatalf("the imported configuration does not load: %v\n%s", err, out)
			}
			if have := sourcesOf(cfg); have != tc.sources {
				t.Errorf("sources:\nwant %s\nhave %s", tc.sources, have)
			}
			if cfg.Web.ListenAddress != tc.listen {
				t.Errorf("listen_address: want %q, have %q", tc.listen, cfg.Web.ListenAddress)
			}
			golden := filepath.Join("testdata", "import", "golden", slug(tc.name)+".toml.golden")
			// The notes unwrapped: where they wrap depends on the length of dir.
			rel := strings.ReplaceAll(strings.ReplaceAll(out, "\n#   ", " "), dir, "{dir}")
			if *updateImport {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(rel), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want, err := os.ReadFile(golden); err != nil || string(want) != rel {
				t.Errorf("output differs from %s (go test -update rewrites it): %v\nwant:\n%s\nhave:\n%s", golden, err, want, rel)
			}
			for _, w := range expand(tc.want, dir) {
				if !strings.Contains(out, w) {
					t.Errorf("want in the output: %s\nhave:\n%s", w, out)
				}
			}
			for _, w := range tc.absent {
				if strings.Contains(out, w) {
					t.Errorf("want %q nowhere in the output, have:\n%s", w, out)
				}
			}
			for _, line := range strings.Split(out, "\n") {
				if len(line) > 0 && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "[") && !strings.Contains(line, " = ") {
					t.Errorf("a line that is neither a comment, a section nor a setting: %q", line)
				}
			}
		})
	}
}

// TestImportReadsYAMLAsThePeers: exporter_exporter's own parser (yaml.v3,
// into the types it decodes into) and the import agree on what each module
// of testdata/import/yaml/expexp.yaml holds, anchors, aliases and merge keys
// resolved, every name and value as written.
func TestImportReadsYAMLAsThePeers(t *testing.T) {
	dir := copyImportData(t, "yaml")
	out, stderr, code := runImport(t, "exporter_exporter", dir+"/expexp.yaml")
	if code != 0 {
		t.Fatalf("want exit 0, have %d\n%s", code, stderr)
	}
	file := filepath.Join(t.TempDir(), "corral.toml")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(file, nil)
	if err != nil {
		t.Fatalf("the imported configuration does not load: %v\n%s", err, out)
	}
	var peer struct {
		Modules map[string]struct {
			Method  string
			Timeout time.Duration
			HTTP    struct {
				Port                  int
				Path, Scheme, Address string
				Headers               map[string]string
				BasicAuthUsername     string `yaml:"basic_auth_username"`
				BasicAuthPassword     string `yaml:"basic_auth_password"`
			}
			Exec struct {
				Command string
				Args    []string
				Env     map[string]string
			}
		}
	}
	b, err := os.ReadFile(dir + "/expexp.yaml")
	if err == nil {
		err = yaml3.Unmarshal(b, &peer)
	}
	if err != nil {
		t.Fatal(err)
	}
	if want, have := len(peer.Modules), len(cfg.Sources[exporter.Kind])+len(cfg.Sources[scripts.Kind]); want != have {
		t.Errorf("modules: want %d, have %d: %s", want, have, sourcesOf(cfg))
	}
	for name, m := range peer.Modules {
		switch m.Method {
		case "http":
			c, ok := cfg.Sources[exporter.Kind][name].(*exporter.Config)
			if !ok {
				t.Errorf("%s: want [exporter.%q], have none: %s", name, name, sourcesOf(cfg))
				continue
			}
			h := m.HTTP
			url := cmp.Or(h.Scheme, "http") + "://" + net.JoinHostPort(cmp.Or(h.Address, "localhost"), strconv.Itoa(h.Port)) + cmp.Or(h.Path, "/metrics")
			pw, _ := os.ReadFile(c.BasicAuth.PasswordFile)
			if c.URL != url || !maps.Equal(c.Headers, h.Headers) || c.BasicAuth.Username != h.BasicAuthUsername || string(pw) != h.BasicAuthPassword {
				t.Errorf("%s:\nwant url %s, headers %v, user %q, password %q\nhave url %s, headers %v, user %q, password %q",
					name, url, h.Headers, h.BasicAuthUsername, h.BasicAuthPassword, c.URL, c.Headers, c.BasicAuth.Username, pw)
			}
			if m.Timeout > 0 && c.Timeout.Std() != m.Timeout {
				t.Errorf("%s: timeout: want %s, have %s", name, m.Timeout, c.Timeout)
			}
		case "exec":
			c, ok := cfg.Sources[scripts.Kind][name].(*scripts.Config)
			if !ok {
				t.Errorf("%s: want [script.%q], have none: %s", name, name, sourcesOf(cfg))
				continue
			}
			if want := append([]string{m.Exec.Command}, m.Exec.Args...); !slices.Equal(c.Command, want) || !maps.Equal(c.Env, m.Exec.Env) {
				t.Errorf("%s:\nwant command %q, env %v\nhave command %q, env %v", name, want, m.Exec.Env, c.Command, c.Env)
			}
		default:
			t.Errorf("%s: method %q: not in this test", name, m.Method)
		}
	}
}

// TestImportWebConfig: the -web.tls.* flags of exporter_exporter's README
// and reverse_exporter's basic auth become a web config the toolkit loads.
func TestImportWebConfig(t *testing.T) {
	dir := copyImportData(t, "expexp")
	writeTLSFiles(t, dir)
	_, stderr, code := runImport(t, "exporter_exporter", dir+"/expexp.yaml", "-web.tls.listen-address=:9998",
		"-web.tls.cert="+dir+"/server.crt", "-web.tls.key="+dir+"/server.key", "-web.tls.ca="+dir+"/ca.crt",
		"-web.tls.verify", "-web.tls.certmatch=^prometheus$")
	if code != 0 {
		t.Fatalf("want exit 0, have %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "web.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"cert_file: " + dir + "/server.crt",
		"key_file: " + dir + "/server.key",
		"client_auth_type: RequireAndVerifyClientCert",
		"client_ca_file: " + dir + "/ca.crt",
		"client_allowed_sans:\n  - prometheus",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("web.yml: want %q, have\n%s", want, b)
		}
	}
	if !strings.Contains(stderr, "wrote "+dir+"/web.yml") {
		t.Errorf("stderr: want where the web config went, have %q", stderr)
	}

	// A pattern cannot be listed as names: no client is accepted (an empty
	// list, as the toolkit reads it, is not no list).
	pat := copyImportData(t, "expexp")
	writeTLSFiles(t, pat)
	out, stderr, code := runImport(t, "exporter_exporter", pat+"/expexp.yaml", "-web.tls.listen-address=:9998",
		"-web.tls.cert="+pat+"/server.crt", "-web.tls.key="+pat+"/server.key", "-web.tls.ca="+pat+"/ca.crt",
		"-web.tls.verify", "-web.tls.certmatch=^prom.*")
	if code != 0 || !strings.Contains(out, "NO CLIENT IS ACCEPTED") {
		t.Errorf("certmatch pattern: want exit 0 and a warning, have %d\n%s%s", code, out, stderr)
	}
	var wc struct {
		TLS web.TLSConfig `yaml:"tls_server_config"`
	}
	if b, err := os.ReadFile(pat + "/web.yml"); err != nil || yaml.Unmarshal(b, &wc) != nil || wc.TLS.ClientAllowedSans == nil || len(wc.TLS.ClientAllowedSans) != 0 {
		t.Errorf("certmatch pattern: want client_allowed_sans an empty list, have %#v (%v)", wc.TLS.ClientAllowedSans, err)
	}

	// A web config an import wrote is written again by the next one (a
	// reverse_exporter's bcrypt hashes differ each time); any other file
	// is left alone.
	rev := copyImportData(t, "reverse")
	for i := range 2 {
		if _, stderr, code := runImport(t, "reverse_exporter", rev+"/complete.yml"); code != 0 || !strings.Contains(stderr, "wrote "+rev+"/web.yml") {
			t.Errorf("import %d: want exit 0 and web.yml written, have %d\n%s", i+1, code, stderr)
		}
	}
	os.WriteFile(rev+"/web.yml", []byte("tls_server_config: {}\n"), 0o600)
	if _, stderr, code := runImport(t, "reverse_exporter", rev+"/complete.yml"); code != 1 || !strings.Contains(stderr, rev+"/web.yml: already exists with other contents") {
		t.Errorf("over a web config of someone else's: want exit 1, have %d\n%s", code, stderr)
	}
}

// TestImportBadInput: what goes in, the error that comes out (naming the
// file and key), and proof that nothing was printed or written.
func TestImportBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		files map[string]string // written in {dir} first
		code  int
		want  []string
	}{
		{"not YAML", []string{"exporter_exporter", "{dir}/x.yaml"}, map[string]string{"x.yaml": "modules: [a\n"}, 1,
			[]string{"{dir}/x.yaml: not valid YAML: line 1"}},
		{"unknown method", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  node:\n    method: grpc\n"}, 1,
			[]string{`{dir}/x.yaml: modules.node.method: unknown method "grpc": want http, exec or file`}},
		{"unknown keys, all reported", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modulez: {}\nmodules:\n  node:\n    method: http\n    http:\n      prot: 9100\n"}, 1,
			[]string{"{dir}/x.yaml: modulez: unknown key (known here: global, modules, defaultModule)",
				"{dir}/x.yaml: modules.node.http.prot: unknown key (known here: verify, ",
				"{dir}/x.yaml: modules.node.http.port: want a port number from 1 to 65535"}},
		{"verify at module level, as in wftech's README", []string{"exporter_exporter", "{dir}/wftech-readme.yaml"}, nil, 1,
			[]string{"{dir}/wftech-readme.yaml: modules.cadvisor.verify: unknown key (known here: method, timeout, http, exec, file)"}},
		{"bare number for a duration", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  s:\n    method: exec\n    timeout: 5\n    exec: {command: /bin/true}\n"}, 1,
			[]string{`{dir}/x.yaml: modules.s.timeout: want a duration with a unit, such as "5s"; have 5`}},
		{"module in the file and in a directory", []string{"exporter_exporter", "{dir}/x.yaml", "-config.dirs", "{dir}/d"},
			map[string]string{"x.yaml": "modules:\n  node:\n    method: file\n    file: {path: /x}\n", "d/node.yml": "method: file\nfile: {path: /y}\n"}, 1,
			[]string{"{dir}/d/node.yml: module node is already defined"}},
		{"module name corral cannot take", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  my node:\n    method: file\n    file: {path: /x}\n"}, 1,
			[]string{`{dir}/x.yaml: modules.my node: module name "my node": corral's module names are letters`}},
		{"module names that would break the key path or the line (found by FuzzImport)", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  \"00:\": {method: file, file: {path: /x}}\n  \"a\\nb\": {method: file, file: {path: /x}}\n"}, 1,
			[]string{`{dir}/x.yaml: modules."00:": module name "00:": corral's module names are letters`,
				`{dir}/x.yaml: modules."a\nb": module name "a\nb": corral's module names are letters`}},
		{"a value with a newline, quoted in the error", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  a:\n    method: http\n    http:\n      port: !!binary |\n        aGVsbG8=\n        aGVsbG8=\n"}, 1,
			[]string{`{dir}/x.yaml: modules.a.http.port: want a whole number, have "aGVsbG8=\naGVsbG8=\n"`}},
		{"a merge of something else than a mapping", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  a:\n    <<: 5\n    method: file\n    file: {path: /x}\n"}, 1,
			[]string{"{dir}/x.yaml: modules.a.<<: want a mapping or a list of mappings to merge (as yaml.v3 requires), have 5"}},
		{"a merge of an alias of a list, which yaml.v3 refuses", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  a:\n    method: file\n    file: &f [{path: /x}]\n  b:\n    method: file\n    file: {<<: *f}\n"}, 1,
			[]string{"{dir}/x.yaml: modules.b.file.<<: want a mapping or a list of mappings to merge (as yaml.v3 requires), have an alias of a list"}},
		{"a mapping that merges itself", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  a: &a\n    method: file\n    file: {path: /x}\n    <<: *a\n"}, 1,
			[]string{"{dir}/x.yaml: modules.a: <<: merges a mapping that holds it"}},
		{"a key given twice", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  a: {method: file, file: {path: /x}}\n  a: {method: file, file: {path: /y}}\n"}, 1,
			[]string{"{dir}/x.yaml: modules.a: given twice (lines 2 and 3)"}},
		{"a port written as a string, which exporter_exporter refuses", []string{"exporter_exporter", "{dir}/x.yaml"},
			map[string]string{"x.yaml": "modules:\n  node.v2:\n    method: http\n    http: {port: \"9100\"}\n"}, 1,
			[]string{`{dir}/x.yaml: modules."node.v2".http.port: want a whole number, have "9100"`}},
		{"certmatch without verify", []string{"exporter_exporter", "{dir}/expexp.yaml", "-web.tls.listen-address=:9998", "-web.tls.certmatch=x"}, nil, 1,
			[]string{"-web.tls.certmatch needs -web.tls.verify"}},
		{"both token flags", []string{"exporter_exporter", "{dir}/expexp.yaml", "-web.bearer.token=a", "-web.bearer.token-file=/b"}, nil, 1,
			[]string{"-web.bearer.token and -web.bearer.token-file are mutually exclusive"}},
		{"no file", []string{"exporter_exporter"}, nil, 2,
			[]string{"corral import: give exporter_exporter's configuration FILE, or -config.dirs"}},
		{"unknown flag", []string{"exporter_exporter", "{dir}/expexp.yaml", "-web.tls.nope"}, nil, 2,
			[]string{"flag provided but not defined: -web.tls.nope"}},
		{"reverse_exporter's test file", []string{"reverse_exporter", "{dir}/test.yml"}, nil, 1,
			[]string{"{dir}/test.yml: reverse_exporters[1].auth.basic_auth[0].user: unknown key (known here: username, password)",
				"{dir}/test.yml: reverse_exporters[3].exporters.exec-cached: unknown key (known here: http, file, exec, exec_cached)"}},
		{"reverse_exporter: unknown kind, bad duration, name label", []string{"reverse_exporter", "{dir}/x.yml"},
			map[string]string{"x.yml": "reverse_exporters:\n- path: /metrics\n  exporters:\n    grpc: []\n    exec_cached:\n    - {name: a, command: /bin/true, exec_interval: soon}\n    file:\n    - {name: b, path: /x, labels: {exporter_name: c}}\n"}, 1,
			[]string{"{dir}/x.yml: reverse_exporters[0].exporters.grpc: unknown key",
				`{dir}/x.yml: reverse_exporters[0].exporters.exec_cached[0].exec_interval: want a duration such as "30s", have "soon"`,
				"{dir}/x.yml: reverse_exporters[0].exporters.file[0].labels: exporter_name: the name label cannot be overridden"}},
		{"reverse_exporter: a label name corral cannot take", []string{"reverse_exporter", "{dir}/x.yml"},
			map[string]string{"x.yml": "reverse_exporters:\n- path: /metrics\n  exporters:\n    file:\n    - {name: b, path: /x, labels: {a.b: x}}\n"}, 1,
			[]string{`{dir}/x.yml: reverse_exporters[0].exporters.file[0].labels."a.b": "a.b" is not a valid label name`}},
		{"reverse_exporter: a rename that is taken", []string{"reverse_exporter", "{dir}/x.yml"},
			map[string]string{"x.yml": "reverse_exporters:\n- path: /metrics\n  exporters:\n    file:\n    - {name: b, path: /x}\n    - {name: p_b, path: /x}\n" +
				"- path: /p\n  exporters:\n    file:\n    - {name: b, path: /y}\n"}, 1,
			[]string{`{dir}/x.yml: reverse_exporters[1].exporters.file[0].name: "b" is used on another path, and "p_b", the name the import would give it, is taken too`}},
		{"reverse_exporter: unix socket upstream", []string{"reverse_exporter", "{dir}/x.yml"},
			map[string]string{"x.yml": "reverse_exporters:\n- path: /metrics\n  exporters:\n    http:\n    - {name: a, address: 'http://unix:/run/a.sock:/metrics'}\n"}, 1,
			[]string{"{dir}/x.yml: reverse_exporters[0].exporters.http[0].address: \"http://unix:/run/a.sock:/metrics\": corral does not scrape over Unix sockets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyImportData(t, "expexp")
			if err := os.CopyFS(dir, os.DirFS("testdata/import/reverse")); err != nil {
				t.Fatal(err)
			}
			for name, body := range tc.files {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.ReadDir(dir)
			out, stderr, code := runImport(t, expand(tc.args, dir)...)
			if code != tc.code {
				t.Errorf("exit code: want %d, have %d\n%s", tc.code, code, stderr)
			}
			for _, w := range expand(tc.want, dir) {
				if !strings.Contains(stderr, w) {
					t.Errorf("want in the error: %s\nhave:\n%s", w, stderr)
				}
			}
			if out != "" {
				t.Errorf("want nothing on stdout, have\n%s", out)
			}
			if after, _ := os.ReadDir(dir); len(after) != len(before) {
				t.Errorf("want no file written, have %d entries for %d", len(after), len(before))
			}
		})
	}
}
