//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestDockerPID1 runs the PID 1 cases on the corral image alone (quicker
// to build than TestDocker's whole set): tini's outer tests, in Docker.
func TestDockerPID1(t *testing.T) {
	_, err := exec.LookPath("docker")
	testkit.Need(t, "the Docker tests need a docker client", err)
	_, err = docker("info")
	testkit.Need(t, "the Docker tests need an engine (docker info)", err)
	id := fmt.Sprintf("e2epid1%d", os.Getpid())
	env := &dockerEnv{base: "corral-test-base:" + id, corral: "corral:" + id}
	t.Cleanup(func() {
		for _, img := range []string{env.corral, env.base} {
			_, _ = docker("rmi", "-f", img)
		}
	})
	buildCorralImage(t, env)
	testPID1(t, env)
}

// testPID1: corral as PID 1 of a container is as transparent as tini for
// the main process, and survives what tini survives (tini's outer tests).
func testPID1(t *testing.T, env *dockerEnv) {
	t.Run("stdin", func(t *testing.T) {
		// echo x | docker run -i IMG -- cat
		out, code := dockerRun(t, "x\n", "run", "--rm", "-i", env.corral, "--", "cat")
		if out != "x\n" || code != 0 {
			t.Errorf("echo x | docker run -i IMG -- cat\nwant x and exit 0\nhave %q and exit %d", out, code)
		}
	})
	t.Run("terminal", func(t *testing.T) {
		// docker run -t IMG -- sh -c 'test -t 0': a TTY, and the main
		// process's group is its foreground group (in /proc/PID/stat, pgrp
		// is field 5, the terminal's foreground group field 8).
		out, code := dockerRun(t, "", "run", "--rm", "-t", env.corral, "--", "sh", "-c", `test -t 0 && set -- $(cat /proc/$$/stat) && test "$5" = "$8" && echo foreground`)
		if code != 0 || !strings.Contains(out, "foreground") {
			t.Errorf("docker run -t IMG -- sh -c 'test -t 0'\nwant exit 0 in the foreground group\nhave exit %d: %q", code, out)
		}
	})
	t.Run("interactive shell", func(t *testing.T) { testInteractive(t, env) })
	t.Run("fault signals", func(t *testing.T) {
		name := container(t, env.corral, "--", "sleep", "1000")
		waitLog(t, name, "msg=started") // past Go's start-up: corral holds every signal
		for _, sig := range []string{"ABRT", "SEGV", "BUS", "FPE", "ILL", "TRAP", "SYS", "PIPE"} {
			mustDocker(t, "kill", "-s", sig, name)
		}
		// Had one of them killed corral, the container would have ended
		// with 128+that signal, not 143 after the docker stop below.
		if state := mustDocker(t, "inspect", "-f", "{{.State.Running}}", name); state != "true" {
			t.Errorf("after docker kill -s ABRT, SEGV, BUS, FPE, ILL, TRAP, SYS, PIPE\nwant corral running\nhave running=%s", state)
		}
		mustDocker(t, "stop", "-t", "10", name)
		if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", name); code != "143" {
			t.Errorf("exit code after docker stop: want 143 (main killed by SIGTERM), have %s", code)
		}
	})
	t.Run("every signal", func(t *testing.T) {
		// Without a main process (forwarded signals go to no one): each of
		// signals 1 to 31 but KILL, STOP, TERM and INT leaves corral
		// running; then TERM stops it with exit code 0. (TERM and INT as
		// stops: the exit codes subtests and docker stop.)
		name := container(t, env.corral)
		waitLog(t, name, "msg=started")
		sent, deaths := 0, 0
		for sig := 1; sig <= 31; sig++ {
			switch syscall.Signal(sig) {
			case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGTERM, syscall.SIGINT:
				continue
			}
			mustDocker(t, "kill", "-s", strconv.Itoa(sig), name)
			sent++
			if state, _ := docker("inspect", "-f", "{{.State.Running}}", name); state != "true" {
				deaths++
				t.Errorf("docker kill -s %s: corral ended", syscall.Signal(sig))
				break
			}
		}
		mustDocker(t, "stop", "-t", "10", name)
		if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", name); code != "0" {
			t.Errorf("exit code after every signal and docker stop: want 0, have %s", code)
		}
		t.Logf("docker kill -s: %d signals (and TERM last), %d deaths", sent, deaths)
	})
	t.Run("docker stop with a stubborn main", func(t *testing.T) {
		// The main process ignores SIGTERM; two processes wait for it. Each
		// logs its stop signal before corral SIGKILLs anything.
		config := `[process.a]
command = ["sh", "-c", "trap 'echo a got TERM; exit 0' TERM; while true; do sleep 0.1; done"]
[process.b]
command = ["sh", "-c", "trap 'echo b got TERM; exit 0' TERM; while true; do sleep 0.1; done"]
depends_on = ["a"]
`
		script := `printf '%s' "$CONFIG" > /tmp/corral.toml && exec /bin/corral --config.file /tmp/corral.toml -- sh -c "trap 'echo main got TERM' TERM; echo main up; while true; do sleep 0.1; done"`
		name := container(t, "-e", "CONFIG="+config, "--entrypoint", "sh", env.corral, "-c", script)
		waitLog(t, name, "main up")
		start := time.Now()
		mustDocker(t, "stop", "-t", "10", name)
		took := time.Since(start)
		logs, _ := docker("logs", name)
		kill := strings.Index(logs, "grace over; killing")
		for _, want := range []string{"main got TERM", "a got TERM", "b got TERM", `msg="stopping process" component=supervisor process=a`, `msg="stopping process" component=supervisor process=b`} {
			i := strings.Index(logs, want)
			if i < 0 || (kill >= 0 && i > kill && !strings.Contains(want, "got TERM")) {
				t.Errorf("want %q before any SIGKILL, have\n%s", want, tail(logs, 40))
			}
		}
		if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", name); code != "137" {
			t.Errorf("exit code: want 137 (main killed after its grace), have %s", code)
		}
		if took > 9*time.Second {
			t.Errorf("docker stop: want corral out before Docker's SIGKILL at 10s, took %s", took)
		}
		t.Logf("docker stop of a main ignoring SIGTERM, with 2 dependents: %s", took.Round(time.Millisecond))
	})
}

// dockerRun runs docker with stdin and returns its stdout (not corral's
// log, which is stderr) and exit code.
func dockerRun(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	if t.Failed() || code != 0 {
		t.Logf("stderr:\n%s", tail(errOut.String(), 20))
	}
	return out.String(), code
}

func waitLog(t *testing.T, name, want string) {
	t.Helper()
	testkit.Within(t, 30*time.Second, want+" in the logs of "+name, func() (bool, string) {
		out, err := docker("logs", name)
		return err == nil && strings.Contains(out, want), tail(out, 10)
	})
}
