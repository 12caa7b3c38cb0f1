package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestReloadAppliesAccess: allow_networks and bearer_token_file take effect
// on SIGHUP, without a restart; /-/healthy stays open.
func TestReloadAppliesAccess(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "jobs.prom"), []byte("jobs 3\n"), 0o644)
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("s3cret\n"), 0o600)
	config := filepath.Join(dir, "corral.toml")
	sources := fmt.Sprintf("[file.jobs]\npath = %q\n", filepath.Join(dir, "jobs.prom"))
	os.WriteFile(config, []byte(sources), 0o644)
	addr := freeAddr(t)
	get := getter(http.DefaultClient, "http://"+addr)
	cmd := startCorral(t, bin, get, "--config.file", config, "--web.listen-address", addr)

	for _, tc := range []struct {
		web        string
		wantStatus int
	}{
		{"allow_networks = [\"192.0.2.0/24\"]\n", 403},
		{"allow_networks = [\"127.0.0.0/8\"]\n", 200},
		{fmt.Sprintf("bearer_token_file = %q\n", tok), 401},
		{"", 200},
	} {
		os.WriteFile(config, []byte("[web]\n"+tc.web+sources), 0o644)
		cmd.Process.Signal(syscall.SIGHUP)
		testkit.Eventually(t, fmt.Sprintf("%q applied: /proxy answers %d", tc.web, tc.wantStatus), func() bool {
			status, _, _ := get("/proxy?module=jobs")
			return status == tc.wantStatus
		})
		if status, _, _ := get("/-/healthy"); status != 200 {
			t.Errorf("%q: /-/healthy: want 200, have %d", tc.web, status)
		}
	}
}

// TestCheckBasicAuthWithBearer: basic auth in the web config file and a
// bearer token together lock everyone out: corral check says so.
func TestCheckBasicAuthWithBearer(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("s3cret\n"), 0o600)
	webConfig := filepath.Join(dir, "web.yml")
	os.WriteFile(webConfig, []byte("basic_auth_users:\n  prom: $2a$04$6GOd8bU6cCM0ncJ8vi3tJ.eJJz1h8o7IY0YGjHmXRdrjs6jKRh5O6\n"), 0o600)
	config := filepath.Join(dir, "corral.toml")
	os.WriteFile(config, []byte(fmt.Sprintf("[web]\nweb_config_file = %q\nbearer_token_file = %q\n", webConfig, tok)), 0o644)
	for _, args := range [][]string{
		{"check", "--config.file", config},
		{"--config.file", config, "--web.listen-address", freeAddr(t)},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if code := exitCode(err); code != 1 || !strings.Contains(string(out), "both use the Authorization header") {
			t.Errorf("corral %s: want exit 1 naming the conflict, have %d\n%s", args[0], code, out)
		}
	}
}
