package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestBinarySupervisesAndServes runs the real binary with a task, a process,
// a file source fed by that process and a script source: the task runs
// first, the process's textfile and the script are served on /proxy and in
// the merge, a SIGKILLed process is restarted, and SIGHUP adds a process
// without touching the running one.
func TestBinarySupervisesAndServes(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "corral.toml")
	write := func(extra string) {
		t.Helper()
		cfg := fmt.Sprintf(`
[task.init]
command = ["/bin/sh", "-c", "echo done > %[1]s/init.out"]

[process.loop]
command = ["/bin/sh", "-c", "echo \"loop_pid $$\" > %[1]s/t.tmp && mv %[1]s/t.tmp %[1]s/t.prom && exec sleep 1000"]

[file.loop]
path = "%[1]s/t.prom"

[script.hello]
command = ["/bin/sh", "-c", "echo \"hello{who=\\\"$CORRAL_PARAM_WHO\\\"} 1\""]
params = ["who"]
%[2]s`, dir, extra)
		if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	addr := freeAddr(t)
	get := getter(http.DefaultClient, "http://"+addr)
	cmd := startCorral(t, bin, get, "--config.file", config, "--web.listen-address", addr)

	// /-/healthy answers from the start, while the task may still run.
	testkit.Eventually(t, "the task's init.out", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "init.out"))
		return err == nil && string(b) == "done\n"
	})
	var pid int
	testkit.Eventually(t, "the loop's textfile served in the merge", func() bool {
		_, body, _ := get("/metrics")
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, `loop_pid{exporter="loop"} `); ok {
				pid, _ = strconv.Atoi(v)
			}
		}
		return pid > 0 && strings.Contains(body, `hello{who="",exporter="hello"} 1`)
	})
	if status, body, _ := get("/proxy?module=hello&who=me"); status != 200 || body != "hello{who=\"me\"} 1\n" {
		t.Errorf("script on /proxy: want 200 %q, have %d %q", "hello{who=\"me\"} 1\n", status, body)
	}

	// A SIGKILLed process comes back with a new pid and a counted restart.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the killed process restarted", func() bool {
		_, body, _ := get("/metrics")
		return strings.Contains(body, `corral_process_restarts_total{process="loop",exporter="corral"} 1`) &&
			!strings.Contains(body, fmt.Sprintf(`loop_pid{exporter="loop"} %d`, pid))
	})
	_, body, _ := get("/metrics")
	var restarted int
	fmt.Sscanf(body[strings.Index(body, `loop_pid{exporter="loop"} `)+len(`loop_pid{exporter="loop"} `):], "%d", &restarted)

	// SIGHUP adds a process; the running one keeps its pid.
	write("[process.extra]\ncommand = [\"/bin/sleep\", \"1000\"]\n")
	cmd.Process.Signal(syscall.SIGHUP)
	testkit.Eventually(t, "the new process started by reload", func() bool {
		_, body, _ := get("/metrics")
		return strings.Contains(body, `corral_process_up{process="extra",exporter="corral"} 1`)
	})
	if err := syscall.Kill(restarted, 0); err != nil {
		t.Errorf("reload touched the unchanged process %d: %v", restarted, err)
	}
}

// TestBinaryMainProcessExitCode: the command after -- is the main process;
// corral exits with its code, 128+signal when a signal killed it, and stops
// every other process first.
func TestBinaryMainProcessExitCode(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "corral.toml")
	cfg := fmt.Sprintf("[web]\nlisten_address = %q\n[process.side]\ncommand = [\"/bin/sh\", \"-c\", \"echo $$ > %s/side.pid; exec sleep 1000\"]\n", freeAddr(t), dir)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		main string
		want int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"exit 255", 255},
		{"kill -TERM $$", 143},
		{"kill -KILL $$", 137},
	} {
		cmd := exec.Command(bin, "--config.file", config, "--", "/bin/sh", "-c", "while [ ! -s "+dir+"/side.pid ]; do sleep 0.05; done; "+tc.main)
		done := make(chan error, 1)
		os.Remove(filepath.Join(dir, "side.pid"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			have := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				have = ee.ExitCode()
			}
			if have != tc.want {
				t.Errorf("main %q: want exit code %d, have %d (%v)", tc.main, tc.want, have, err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("main %q: corral did not exit", tc.main)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "side.pid"))
		side, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if side <= 0 {
			t.Fatalf("main %q: the side process never started", tc.main)
		}
		if err := syscall.Kill(side, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("main %q: side process %d still there after corral exited (%v)", tc.main, side, err)
		}
	}
}
