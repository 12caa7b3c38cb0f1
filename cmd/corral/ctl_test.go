package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestCtl drives a real corral with the real `corral ctl`: every
// subcommand, its output and its exit code, as a script sees them.
func TestCtl(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	config := filepath.Join(dir, "corral.toml")
	os.WriteFile(config, fmt.Appendf(nil, `[web]
listen_address = %q
control = true

[process.web]
command = ["sh", "-c", "echo hello from web; echo oops >&2; exec sleep 1000"]

[process.job]
command = ["sh", "-c", "echo job ran; exec sleep 1000"]
autostart = false
`, addr), 0o644)
	get := getter(http.DefaultClient, "http://"+addr)
	startCorral(t, bin, get, "--config.file", config, "--", "sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait")

	ctl := func(args ...string) (int, string) {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"ctl", "--config.file", config}, args...)...).CombinedOutput()
		return exitCode(err), string(out)
	}
	status := func() map[string]map[string]any {
		t.Helper()
		code, out := ctl("status", "--output", "json")
		var list []map[string]any
		if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil {
			t.Fatalf("status --output json: exit %d, %v: %s", code, err, out)
		}
		byName := make(map[string]map[string]any)
		for _, p := range list {
			byName[p["name"].(string)] = p
		}
		return byName
	}
	testkit.Eventually(t, "web's output", func() bool {
		_, out := ctl("logs", "web")
		return strings.Contains(out, "oops")
	})
	webPID := status()["web"]["pid"]

	for _, tc := range []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"status"}, 0, "autostart = false"},
		{[]string{"logs", "web"}, 0, "hello from web\n"}, // stdout and stderr are two pipes: no order between them
		{[]string{"logs", "web"}, 0, "oops\n"},
		{[]string{"start", "job"}, 0, "job: started\n"},
		{[]string{"stop", "web"}, 0, "web: stopped\n"},
		{[]string{"stop", "main"}, 4, "its end ends the container"},
		{[]string{"restart", "nope"}, 3, `unknown process "nope"; known: main, job, web`},
		{[]string{"signal", "job", "NOPE"}, 2, `"NOPE" is not a signal`},
		{[]string{"signal", "job", "cont"}, 0, "job: signalled CONT\n"},
		{[]string{"start"}, 2, "want one process name"},
		{[]string{"status", "--output", "yaml"}, 2, `--output "yaml" is not one of text, json`},
		{[]string{"logs", "nope"}, 3, "unknown process"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out := ctl(tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.want) {
				t.Errorf("want exit %d with %q, have exit %d: %s", tc.wantCode, tc.want, code, out)
			}
		})
	}
	st := status()
	if st["web"]["state"] != "stopped" || st["job"]["state"] != "running" || st["main"]["state"] != "running" {
		t.Errorf("want web stopped, job and main running; have %v", st)
	}
	if code, out := ctl("start", "web"); code != 0 {
		t.Fatalf("start web: exit %d: %s", code, out)
	}
	testkit.Eventually(t, "web running again", func() bool { return status()["web"]["state"] == "running" })
	if st := status()["web"]; st["pid"] == webPID {
		t.Errorf("web after start: want a new pid, have %v (was %v)", st, webPID)
	}
}

// TestCtlAccess: control off says how to turn it on (exit 4), corral
// check says who may control, and with a bearer token ctl finds it in the
// configuration (or is refused with a wrong one).
func TestCtlAccess(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	config := filepath.Join(dir, "corral.toml")
	ctl := func(args ...string) (int, string) {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"ctl", "--config.file", config}, args...)...).CombinedOutput()
		return exitCode(err), string(out)
	}
	os.WriteFile(config, fmt.Appendf(nil, "[web]\nlisten_address = %q\n[process.web]\ncommand = [\"sleep\", \"1000\"]\n", addr), 0o644)
	out, err := exec.Command(bin, "check", "--config.file", config).CombinedOutput()
	if !strings.Contains(string(out), "control: off (set [web] control = true") || err != nil {
		t.Errorf("check: want the control line, have %v: %s", err, out)
	}
	func() {
		cmd := startCorral(t, bin, getter(http.DefaultClient, "http://"+addr), "--config.file", config)
		defer cmd.Process.Signal(syscall.SIGTERM)
		if code, out := ctl("restart", "web"); code != 4 || !strings.Contains(out, "set [web] control = true") {
			t.Errorf("control off: want exit 4 saying how to turn it on, have %d: %s", code, out)
		}
	}()

	os.WriteFile(config, fmt.Appendf(nil, "[web]\nlisten_address = %q\ncontrol = true\n", addr), 0o644)
	out, _ = exec.Command(bin, "check", "--config.file", config).CombinedOutput()
	if !strings.Contains(string(out), "control: on, loopback clients only (not through trusted_proxies") {
		t.Errorf("check: want the loopback line, have %s", out)
	}

	token, wrong := filepath.Join(dir, "token"), filepath.Join(dir, "wrong")
	os.WriteFile(token, []byte("s3cret\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)
	addr = freeAddr(t)
	os.WriteFile(config, fmt.Appendf(nil, "[web]\nlisten_address = %q\ncontrol = true\nbearer_token_file = %q\n[process.web]\ncommand = [\"sleep\", \"1000\"]\n", addr, token), 0o644)
	out, _ = exec.Command(bin, "check", "--config.file", config).CombinedOutput()
	if !strings.Contains(string(out), "control: on, for authenticated clients") {
		t.Errorf("check: want the authenticated line, have %s", out)
	}
	startCorral(t, bin, getter(http.DefaultClient, "http://"+addr), "--config.file", config)
	for _, tc := range []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"restart", "web"}, 0, "web: restarted"},
		{[]string{"--bearer-token-file", wrong, "restart", "web"}, 4, "401 Unauthorized"},
		{[]string{"status", "--bearer-token-file", wrong}, 4, "401 Unauthorized"},
	} {
		if code, out := ctl(tc.args...); code != tc.wantCode || !strings.Contains(out, tc.want) {
			t.Errorf("%v: want exit %d with %q, have %d: %s", tc.args, tc.wantCode, tc.want, code, out)
		}
	}
}

// TestNotReadyReasonShown: a process stopped for failing its readiness
// check says why wherever its last exit is shown: /-/processes, the
// landing page and corral ctl status, with the check's last failure, not
// only the exit code of its answer to the stop signal.
func TestNotReadyReasonShown(t *testing.T) {
	bin := buildCorral(t)
	unready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "warming up", http.StatusServiceUnavailable)
	}))
	defer unready.Close()
	addr := freeAddr(t)
	config := filepath.Join(t.TempDir(), "corral.toml")
	// A long backoff holds it stopped while the test looks.
	os.WriteFile(config, fmt.Appendf(nil, `[web]
listen_address = %q

[process.app]
command = ["sleep", "1000"]
ready = { http = %q, interval = "100ms", timeout = "2s" }
backoff = { initial = "1h", max = "1h" }
`, addr, unready.URL+"/healthz"), 0o644)
	get := getter(http.DefaultClient, "http://"+addr)
	startCorral(t, bin, get, "--config.file", config)

	app := func() map[string]any {
		t.Helper()
		_, body, _ := get("/-/processes")
		var list []map[string]any
		if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 1 {
			t.Fatalf("/-/processes: want app alone, have %v: %s", err, body)
		}
		return list[0]
	}
	testkit.Eventually(t, "app stopped as not ready", func() bool { return app()["state"] == "backoff" })
	want := "not ready within 2s (ready.http: GET " + unready.URL + "/healthz: status 503), so stopped: ended with exit code 143; restarting"
	if have, _ := app()["reason"].(string); !strings.HasPrefix(have, want) {
		t.Errorf("/-/processes: want reason %q, have %q", want, have)
	}
	if _, body, _ := get("/"); !strings.Contains(body, want) {
		t.Errorf("landing page: want %q, have\n%s", want, body)
	}
	out, err := exec.Command(bin, "ctl", "--config.file", config, "status").CombinedOutput()
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("corral ctl status: want %q, have %v\n%s", want, err, out)
	}
}
