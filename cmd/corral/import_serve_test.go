package main

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// standins are httptest servers standing in for the peers' exporters, one
// per port of the original configuration; each answers with its original
// port, the path and the query it was asked, and the basic auth user and
// X-* headers it was sent, if any.
type standins struct {
	t       *testing.T
	servers map[string]*httptest.Server
}

func (s *standins) port(orig string) string {
	srv, ok := s.servers[orig]
	if !ok {
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			sent := ""
			if user, _, ok := r.BasicAuth(); ok {
				sent += fmt.Sprintf(",user=%q", user)
			}
			var xs []string
			for k, v := range r.Header {
				if strings.HasPrefix(k, "X-") && k != "X-Prometheus-Scrape-Timeout-Seconds" {
					xs = append(xs, k+"="+strings.Join(v, ","))
				}
			}
			if len(xs) > 0 {
				slices.Sort(xs)
				sent += fmt.Sprintf(",headers=%q", strings.Join(xs, " "))
			}
			fmt.Fprintf(w, "# TYPE standin gauge\nstandin{port=%q,path=%q,query=%q%s} 1\n", orig, r.URL.Path, r.URL.RawQuery, sent)
		}))
		s.t.Cleanup(srv.Close)
		s.servers[orig] = srv
	}
	u, _ := url.Parse(srv.URL)
	return u.Port()
}

// rewrite points every exporter of the configurations in dir at a stand-in
// and every script and textfile at one in dir.
func (s *standins) rewrite(dir string) {
	script := filepath.Join(dir, "standin.sh")
	body := "#!/bin/sh\necho '# TYPE standin_script gauge'\necho \"standin_script{args=\\\"$*\\\",thing=\\\"${THING:-}\\\"} 1\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "myfile.prom"), []byte("myfile 1\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
	port := regexp.MustCompile(`port:(\s*)(\d+)`)
	address := regexp.MustCompile(`https?://[A-Za-z0-9_.-]+:(\d+)`)
	paths := strings.NewReplacer(
		"/tmp/myscript.sh", script,
		"./scripted_metrics.sh", script,
		"/tmp/myfile.prometheus.txt", filepath.Join(dir, "myfile.prom"),
		"path: example.metrics.prom", "path: "+filepath.Join(dir, "example.metrics.prom"),
	)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || (filepath.Ext(p) != ".yml" && filepath.Ext(p) != ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text := port.ReplaceAllStringFunc(string(b), func(m string) string {
			sub := port.FindStringSubmatch(m)
			return "port:" + sub[1] + s.port(sub[2])
		})
		text = address.ReplaceAllStringFunc(text, func(m string) string {
			return "http://127.0.0.1:" + s.port(address.FindStringSubmatch(m)[1])
		})
		return os.WriteFile(p, []byte(paths.Replace(text)), 0o644)
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// TestImportedConfigsServe feeds each peer's documented configurations
// through `corral import` (the real binary), starts corral on the result
// with stand-ins for the exporters, and scrapes every module, and the
// merged /metrics.
func TestImportedConfigsServe(t *testing.T) {
	bin := buildCorral(t)
	node := `standin{port="9100",path="/metrics",query=""} 1`
	expexp := map[string]string{
		"module=node":                    node,
		"module=mtail":                   `standin{port="3903",path="/metrics",query=""} 1`,
		"module=cadvisor":                `standin{port="4194",path="/metrics",query=""} 1`,
		"module=haproxy":                 `standin{port="9101",path="/metrics",query=""} 1`,
		"module=blackbox&target=8.8.8.8": `standin{port="9115",path="/probe",query="target=8.8.8.8"} 1`,
	}
	reverse := map[string]string{
		"module=prometheus":               `standin{port="9090",path="/metrics",query=""} 1`,
		"module=node_exporter":            node,
		"module=cron_metrics":             "constant_file_metric 100",
		"module=dynamic_metrics":          `standin_script{args="arg1 arg2",thing=""} 1`,
		"module=periodic_dynamic_metrics": `standin_script{args="",thing=""} 1`,
	}
	reverseMerged := []string{
		`standin{port="9090",path="/metrics",query="",exporter_name="prometheus"} 1`,
		`standin{port="9100",path="/metrics",query="",exporter_name="node_exporter",node_uuid="some.special.identifier"} 1`,
		`constant_file_metric{exporter_name="cron_metrics"} 100`,
		`standin_script{args="arg1 arg2",thing="",exporter_name="dynamic_metrics"} 1`,
		`corral_source_up{exporter_name="prometheus"} 1`,
	}
	for _, tc := range []struct {
		name, data     string
		args           []string
		user, password string // basic auth the imported web config asks for
		tls            bool
		proxy          map[string]string // /proxy?QUERY: a line of the answer
		merged         []string          // lines of /metrics
	}{
		{name: "exporter_exporter expexp.yaml", data: "expexp", args: []string{"exporter_exporter", "{dir}/expexp.yaml"},
			proxy: expexp, merged: []string{`corral_build_info{`}},
		{name: "exporter_exporter README", data: "expexp", args: []string{"exporter_exporter", "{dir}/readme.yaml"},
			proxy: map[string]string{
				"module=node":     node,
				"module=mtail":    `standin{port="3903",path="/metrics",query=""} 1`,
				"module=cadvisor": `standin{port="4194",path="/metrics",query=""} 1`,
				"module=netdata":  `standin{port="19999",path="/api/v1/allmetrics",query="format=prometheus"} 1`,
				"module=blackbox": `standin{port="9115",path="/probe",query=""} 1`,
				// The second module goes upstream, as exporter_exporter sent it.
				"module=blackbox&module=icmp&target=1.2.3.4": `standin{port="9115",path="/probe",query="module=icmp&target=1.2.3.4"} 1`,
				"module=somescript":                          `standin_script{args="myarg1 myarg2",thing="1"} 1`,
				"module=somefile":                            "myfile 1\nexpexp_file_mtime_timestamp{",
			}},
		{name: "exporter_exporter YAML merge keys and dotted names", data: "yaml", args: []string{"exporter_exporter", "{dir}/expexp.yaml"},
			proxy: map[string]string{
				"module=a":            `standin{port="19100",path="/metrics",query="",user="u",headers="X-Token=abc"} 1`,
				"module=b":            `standin{port="19101",path="/metrics",query="",user="u",headers="X-Token=abc"} 1`,
				"module=c":            `standin{port="19101",path="/metrics",query="",user="u",headers="X-Token=abc"} 1`,
				"module=d":            `standin{port="19101",path="/metrics",query="",user="u",headers="X-Token=abc"} 1`,
				"module=e":            `standin{port="19102",path="/first",query="",user="u",headers="X-Id=0123"} 1`,
				"module=node.v2":      `standin{port="19200",path="/metrics",query=""} 1`,
				"module=prod.node":    `standin{port="19201",path="/metrics",query="",headers="X-Token.v2=1"} 1`,
				"module=staging.node": `standin{port="19202",path="/metrics",query=""} 1`,
				"module=s":            `standin_script{args="",thing="0123"} 1`,
			}},
		{name: "exporter_exporter -config.dirs", data: "expexp/dirs", args: []string{"exporter_exporter", "{dir}/expexp.yaml", "-config.dirs", "{dir}/expexp.d"},
			proxy: map[string]string{"module=node": node, "module=mtail": `standin{port="3903",path="/metrics",query=""} 1`}},
		{name: "exporter_exporter README TLS flags", data: "expexp", tls: true,
			args: []string{"exporter_exporter", "{dir}/expexp.yaml", "-web.listen-address=", "-web.tls.listen-address=:9998",
				"-web.tls.cert={dir}/server.crt", "-web.tls.key={dir}/server.key", "-web.tls.ca={dir}/ca.crt", "-web.tls.verify"},
			proxy: expexp},
		{name: "reverse_exporter complete", data: "reverse", args: []string{"reverse_exporter", "{dir}/complete.yml"},
			user: "root", password: "test",
			proxy: with(reverse, "module=blackbox_exporter&target=a", `standin{port="9998",path="/probe",query="target=a"} 1`), merged: reverseMerged},
		{name: "reverse_exporter test_config", data: "reverse", args: []string{"reverse_exporter", "{dir}/test_config.yml"},
			user: "root", password: "test",
			proxy: with(reverse, "module=blackbox_exporter", `standin{port="9115",path="/probe",query=""} 1`), merged: reverseMerged[:2]},
		{name: "reverse_exporter compose", data: "reverse", args: []string{"reverse_exporter", "{dir}/compose.yml"},
			proxy: map[string]string{"module=prometheus": reverse["module=prometheus"], "module=node_exporter": node}, merged: reverseMerged[:1]},
		{name: "reverse_exporter YAML merge keys and dotted names", data: "yaml", args: []string{"reverse_exporter", "{dir}/reverse.yml"},
			proxy: map[string]string{"module=node": node, "module=node.v2": `standin{port="9101",path="/metrics",query=""} 1`},
			merged: []string{
				`standin{port="9100",path="/metrics",query="",exporter_name="node",rack="007",site="x"} 1`,
				`standin{port="9101",path="/metrics",query="",exporter_name="node.v2",rack="007",site="x"} 1`,
			}},
		{name: "reverse_exporter empty", data: "reverse", args: []string{"reverse_exporter", "{dir}/empty.yml"},
			merged: []string{`corral_build_info{`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyImportData(t, tc.data)
			(&standins{t: t, servers: map[string]*httptest.Server{}}).rewrite(dir)
			client := &http.Client{Timeout: 20 * time.Second}
			scheme := "http"
			if tc.tls {
				ca, cert := writeTLSFiles(t, dir)
				pool := x509.NewCertPool()
				pool.AddCert(ca)
				client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}
				scheme = "https"
			}
			if tc.user != "" {
				client.Transport = &authTransport{user: tc.user, password: tc.password, next: cmp.Or(client.Transport, http.RoundTripper(http.DefaultTransport))}
			}
			cmd := exec.Command(bin, append([]string{"import"}, expand(tc.args, dir)...)...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("corral import: %v\n%s", err, stderr.String())
			}
			config := filepath.Join(dir, "corral.toml")
			if err := os.WriteFile(config, out, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "check", "--config.file", config).CombinedOutput(); err != nil {
				t.Fatalf("corral check: %v\n%s", err, out)
			}
			cfg, err := loadConfig(config, nil)
			if err != nil {
				t.Fatalf("the imported configuration does not load: %v\n%s", err, out)
			}
			addr := freeAddr(t)
			get := getter(client, scheme+"://"+addr)
			startCorral(t, bin, get, "--config.file", config, "--web.listen-address", addr)

			var names []string
			for _, k := range kinds() {
				names = append(names, slices.Sorted(maps.Keys(cfg.Sources[k.name]))...)
			}
			for _, name := range names {
				if !hasModule(tc.proxy, name) {
					t.Errorf("module %s of the imported configuration is not scraped by this test", name)
				}
			}
			for query, want := range tc.proxy {
				status, body, err := get("/proxy?" + query)
				if err != nil || status != 200 || !hasLine(body, want) {
					t.Errorf("GET /proxy?%s: want 200 with %s\nhave %d %v\n%s", query, want, status, err, body)
				}
			}
			status, body, err := get("/metrics")
			for _, want := range tc.merged {
				if err != nil || status != 200 || !hasLine(body, want) {
					t.Errorf("GET /metrics: want 200 with %s\nhave %d %v\n%s", want, status, err, body)
				}
			}
		})
	}
}

// with is m and k: v.
func with(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	out[k] = v
	return out
}

// hasModule tells whether one of the queries asks for module name.
func hasModule(queries map[string]string, name string) bool {
	for q := range queries {
		v, _ := url.ParseQuery(q)
		if v.Get("module") == name {
			return true
		}
	}
	return false
}

// hasLine tells whether body has the line want, or a line starting with it
// when want ends in '{'; each line of want, when it has several.
func hasLine(body, want string) bool {
	for _, w := range strings.Split(want, "\n") {
		if !slices.ContainsFunc(strings.Split(body, "\n"), func(line string) bool {
			return line == w || (strings.HasSuffix(w, "{") && strings.HasPrefix(line, w))
		}) {
			return false
		}
	}
	return true
}
