package main

import (
	"fmt"
	"io"
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

// TestControlThroughLoopbackProxy: with control on, no authentication and
// a reverse proxy on loopback in trusted_proxies, corral check says who may
// control, and a remote client relayed by that proxy cannot stop a process
// (it could, the TCP peer being loopback) though it may read.
func TestControlThroughLoopbackProxy(t *testing.T) {
	bin := buildCorral(t)
	config := filepath.Join(t.TempDir(), "corral.toml")
	addr := freeAddr(t)
	os.WriteFile(config, fmt.Appendf(nil, "[web]\nlisten_address = %q\ncontrol = true\nallow_networks = [\"10.0.0.0/8\"]\ntrusted_proxies = [\"127.0.0.1/32\"]\n[process.web]\ncommand = [\"sleep\", \"1000\"]\n", addr), 0o644)
	out, err := exec.Command(bin, "check", "--config.file", config).CombinedOutput()
	if want := "control: on, loopback clients only (not through trusted_proxies, nor relayed with X-Forwarded-For, Forwarded or X-Real-IP), and none from 127.0.0.1/32, a trusted proxy (corral ctl on this host included): no authentication"; err != nil || !strings.Contains(string(out), want) {
		t.Errorf("check: want %q, have %v: %s", want, err, out)
	}
	startCorral(t, bin, getter(http.DefaultClient, "http://"+addr), "--config.file", config)
	relayed := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, nil)
		req.Header.Set("X-Forwarded-For", "10.9.9.9")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	running := func() bool {
		code, body := relayed("GET", "/-/processes")
		return code == 200 && strings.Contains(body, `"state": "running"`)
	}
	testkit.Eventually(t, "web running, read through the proxy", running)
	if code, body := relayed("POST", "/-/processes/web/stop"); code != 403 || !strings.Contains(body, "never a request relayed by a proxy") {
		t.Errorf("stop relayed by a trusted loopback proxy: want 403, have %d: %s", code, body)
	}
	if !running() {
		t.Error("web no longer running after a refused stop")
	}
}
