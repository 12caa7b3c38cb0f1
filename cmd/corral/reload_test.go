package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corral-metrics/corral/gateway"
)

// TestReloadAccessWebConfigFile: web_config_file needs a restart, so a
// reload judges the control API's gate (do clients authenticate?) and the
// basic auth / bearer token conflict by the file the server runs with, as
// that file is now, never by the file the new configuration names.
func TestReloadAccessWebConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	users := write("users.yml", "basic_auth_users:\n  prom: $2a$04$6GOd8bU6cCM0ncJ8vi3tJ.eJJz1h8o7IY0YGjHmXRdrjs6jKRh5O6\n")
	none := write("none.yml", "{}\n")
	edited := write("edited.yml", "basic_auth_users:\n  prom: $2a$04$6GOd8bU6cCM0ncJ8vi3tJ.eJJz1h8o7IY0YGjHmXRdrjs6jKRh5O6\n")
	token := write("token", "s3cret\n")
	write("edited.yml", "{}\n") // its users removed since the start, no restart

	for _, tc := range []struct {
		name          string
		running, next gateway.WebConfig
		wantAuth      bool
		wantErr       string
	}{
		{"users named on reload, none running", gateway.WebConfig{}, gateway.WebConfig{WebConfigFile: users}, false, ""},
		{"users running, file dropped on reload", gateway.WebConfig{WebConfigFile: users}, gateway.WebConfig{WebConfigFile: none}, true, ""},
		{"running file's users removed since", gateway.WebConfig{WebConfigFile: edited}, gateway.WebConfig{WebConfigFile: edited}, false, ""},
		{"running users and a new bearer token", gateway.WebConfig{WebConfigFile: users}, gateway.WebConfig{BearerTokenFile: token}, false, "sets basic_auth_users and [web] bearer_token_file is set"},
		{"new users and a bearer token, none running", gateway.WebConfig{}, gateway.WebConfig{WebConfigFile: users, BearerTokenFile: token}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			access, err := reloadAccess(tc.running, tc.next)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("want the reload refused (%q), have %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want the reload accepted, have %v", err)
			}
			if access.WebAuthenticated != tc.wantAuth {
				t.Errorf("WebAuthenticated: want %v (what the running server asks), have %v", tc.wantAuth, access.WebAuthenticated)
			}
		})
	}
}

// TestReloadRunsRestartKeys: a reload is checked against what it runs. The
// [web] keys that take effect on restart only keep their running values,
// and tasks run once, so a reload whose sections conflict with those is
// refused whole (naming file, key and why), even where the configuration
// as written is valid; the running one stays, corral's own metrics with it.
// A change of a restart key that conflicts with nothing is applied at the
// next restart, as before.
func TestReloadRunsRestartKeys(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintln(w, "upstream_up 1")
	}))
	defer up.Close()
	config := filepath.Join(dir, "corral.toml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exporter := func(name, extra string) string {
		return fmt.Sprintf("[exporter.%s]\nurl = %q\n%s", name, up.URL+"/metrics", extra)
	}
	const app = "[process.app]\ncommand = [\"sleep\", \"1000\"]\n"
	write(exporter("app", "") + app)
	addr := freeAddr(t)
	get := getter(http.DefaultClient, "http://"+addr)
	startCorral(t, bin, get, "--config.file", config, "--web.listen-address", addr)
	reload := func() (int, string) {
		t.Helper()
		resp, err := http.Post("http://"+addr+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// What runs: corral's own metrics as "corral" on /proxy and in the
	// merge, which labels each series with exporter.
	running := func(what string, successful int) {
		t.Helper()
		want := fmt.Sprintf("corral_config_last_reload_successful %d\n", successful)
		if status, body, _ := get("/proxy?module=corral"); status != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: /proxy?module=corral: want 200 with %q, have %d\n%s", what, want, status, body)
		}
		_, body, _ := get("/metrics")
		for _, want := range []string{
			fmt.Sprintf("corral_config_last_reload_successful{exporter=\"corral\"} %d\n", successful),
			`upstream_up{exporter="app"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: /metrics: want %q, have\n%s", what, want, body)
			}
		}
	}
	running("at start", 1)

	for _, tc := range []struct {
		what, config, want string
	}{
		{"a source named as the running self_source",
			"[web]\nself_source = \"me\"\n" + exporter("app", "") + exporter("corral", "") + app,
			config + `: exporter.corral.name: "corral" is corral's own source (web.self_source) (a reload does not apply all of this configuration: web.self_source keeps its running value until a restart)`},
		{"a static label named as the running merge_label",
			"[web]\nmerge_label = \"job\"\n" + exporter("app", "labels = { exporter = \"static\" }\n") + app,
			config + `: exporter.app.labels.exporter: "exporter" is the merge label (web.merge_label), which names the source (a reload does not apply all of this configuration: web.merge_label keeps its running value until a restart)`},
		{"both",
			"[web]\nmerge_label = \"job\"\nself_source = \"me\"\n" + exporter("app", "labels = { exporter = \"static\" }\n") + exporter("corral", "") + app,
			"web.merge_label, web.self_source keep their running values until a restart)"},
		// Not a restart key, but refused the same way, naming the file.
		{"a bearer_token_file that does not exist",
			"[web]\nbearer_token_file = \"/nonexistent/token\"\n" + exporter("app", "") + app,
			config + `: web.bearer_token_file: open /nonexistent/token: no such file or directory`},
		{"a process depending on a new task",
			exporter("app", "") + app + "[process.web]\ncommand = [\"sleep\", \"1000\"]\ndepends_on = [\"migrate\"]\n[task.migrate]\ncommand = [\"true\"]\n",
			config + `: process.web.depends_on: no process or task named "migrate" (a reload does not apply all of this configuration: tasks run once, at start-up: the ones that ran stay until a restart)`},
	} {
		write(tc.config)
		if status, body := reload(); status != http.StatusInternalServerError || !strings.Contains(body, tc.want) {
			t.Errorf("%s: POST /-/reload: want 500 with %q, have %d\n%s", tc.what, tc.want, status, body)
		}
		running("after a reload refused for "+tc.what, 0)
		if status, body, _ := get("/proxy?module=me"); status != 404 {
			t.Errorf("%s: /proxy?module=me: want 404 (no such module), have %d\n%s", tc.what, status, body)
		}
	}

	// Conflicting with nothing, a restart key's change is accepted; it
	// applies on restart (what runs stays).
	write("[web]\nself_source = \"me\"\nmerge_label = \"job\"\n" + exporter("app", "") + app)
	if status, body := reload(); status != 200 {
		t.Fatalf("a reload changing restart keys only: want 200, have %d\n%s", status, body)
	}
	running("after a reload changing restart keys only", 1)
}
