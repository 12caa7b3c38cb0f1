//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

var regexpUsage = regexp.MustCompile(`(?m)^\s*nobody\s+.*usage\.sh`)

// dockerEnv is what the Docker tests share: images built once, named per run.
type dockerEnv struct {
	base, corral, prometheus, appliance string   // image tags
	compose                             []string // docker compose or docker-compose
}

// docker runs a docker command (bounded at 5 minutes) and returns its
// combined output.
func docker(args ...string) (string, error) {
	return run(nil, "", "docker", args...)
}

func run(env []string, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "DOCKER_BUILDKIT=0"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out.String(), 30))
	}
	return strings.TrimSpace(out.String()), err
}

func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := docker(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDocker builds the images with no registry (docker/test-base.sh, the
// top-level Dockerfile on it, docker/prometheus-image.sh, the example
// appliance) and runs corral as PID 1 of real containers.
func TestDocker(t *testing.T) {
	_, err := exec.LookPath("docker")
	testkit.Need(t, "the Docker tests need a docker client", err)
	_, err = docker("info")
	testkit.Need(t, "the Docker tests need an engine (docker info)", err)
	t.Logf("docker engine available (CI=%q): the Docker tests are required", os.Getenv("CI"))
	id := fmt.Sprintf("e2e%d", os.Getpid())
	env := &dockerEnv{
		base:       "corral-test-base:" + id,
		corral:     "corral:" + id,
		prometheus: "corral-test-prometheus:" + id,
		appliance:  "corral-appliance:" + id,
	}
	t.Cleanup(func() {
		for _, img := range []string{env.appliance, env.prometheus, env.corral, env.base} {
			_, _ = docker("rmi", "-f", img)
		}
	})
	buildImages(t, env)

	t.Run("appliance", func(t *testing.T) { testAppliance(t, env) })
	t.Run("exit codes", func(t *testing.T) { testExitCodes(t, env) })
	t.Run("compose", func(t *testing.T) { testCompose(t, env) })
}

func buildImages(t *testing.T, env *dockerEnv) {
	t.Helper()
	start := time.Now()
	buildCorralImage(t, env)
	if out, err := run(nil, "..", "docker/prometheus-image.sh", env.prometheus, env.base); err != nil {
		t.Fatalf("docker/prometheus-image.sh: %v", err)
	} else {
		t.Logf("prometheus image %s: %s", env.prometheus, lastLine(out))
	}
	mustDocker(t, "build", "-q", "--build-arg", "CORRAL_IMAGE="+env.corral, "-t", env.appliance, "../examples/appliance")
	t.Logf("images built in %s", time.Since(start).Round(time.Second))
}

// buildCorralImage builds the test base and the corral image on it.
func buildCorralImage(t *testing.T, env *dockerEnv) {
	t.Helper()
	if f, err := elf.Open(corralBin); err != nil {
		t.Fatal(err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Fatalf("%s is dynamically linked: the images need a static binary (CGO_ENABLED=0)", corralBin)
			}
		}
		f.Close()
	}
	if out, err := run(nil, "..", "docker/test-base.sh", env.base); err != nil {
		t.Fatalf("docker/test-base.sh: %v", err)
	} else {
		t.Logf("test base %s: %s", env.base, lastLine(out))
	}
	// The real Dockerfile, in a context holding what it copies: dist/corral
	// (the static binary TestMain built) and docker/corral.toml.
	ctx := t.TempDir()
	for src, dst := range map[string]string{
		"../Dockerfile":         "Dockerfile",
		corralBin:               "dist/corral",
		"../docker/corral.toml": "docker/corral.toml",
	} {
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(ctx, dst)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ctx, dst), raw, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustDocker(t, "build", "-q", "--build-arg", "BASE="+env.base, "-t", env.corral, ctx)
}

func lastLine(s string) string {
	l := lines(s)
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}

// container runs an image detached and removes it at the end of the test.
func container(t *testing.T, args ...string) string {
	t.Helper()
	name := fmt.Sprintf("corral-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())
	mustDocker(t, append([]string{"run", "-d", "--name", name}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := docker("logs", name)
			t.Logf("--- docker logs %s ---\n%s", name, tail(logs, 80))
		}
		_, _ = docker("rm", "-f", name)
	})
	return name
}

// publishedAddr is the host address a container port is published on.
func publishedAddr(t *testing.T, name, port string) string {
	t.Helper()
	out := mustDocker(t, "port", name, port)
	return strings.Fields(out)[0]
}

// waitSources waits until every named source is up in corral's /metrics.
func waitSources(t *testing.T, addr string, sources ...string) {
	t.Helper()
	testkit.Within(t, 90*time.Second, "sources up: "+strings.Join(sources, ", "), func() (bool, string) {
		families, err := scrape("http://" + addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		for _, s := range sources {
			if v, ok := value(families, "corral_source_up", map[string]string{"exporter": s}); !ok || v != 1 {
				return false, fmt.Sprintf("corral_source_up{exporter=%q}: want 1, have %g (found %v)", s, v, ok)
			}
		}
		return true, ""
	})
}

func testAppliance(t *testing.T, env *dockerEnv) {
	name := container(t, "-p", "127.0.0.1::9999", "-p", "127.0.0.1::8080", env.appliance)
	addr := publishedAddr(t, name, "9999/tcp")
	waitSources(t, addr, "exporter", "usage", "health", "corral")

	// The service, and one source alone through /proxy.
	if code, body, err := get("http://"+publishedAddr(t, name, "8080/tcp")+"/", nil); err != nil || code != 200 || !strings.Contains(string(body), "It works") {
		t.Errorf("GET the service\nwant 200 with It works\nhave %d %v %q", code, err, body)
	}
	if code, body, err := get("http://"+addr+"/proxy?module=exporter", nil); err != nil || code != 200 || !strings.Contains(string(body), "appliance_documents 1") {
		t.Errorf("GET /proxy?module=exporter\nwant 200 with appliance_documents 1\nhave %d %v %q", code, err, body)
	}
	if code, body, err := get("http://"+addr+"/", map[string]string{"Accept": "application/json"}); err != nil || code != 200 || !strings.Contains(string(body), `"web"`) {
		t.Errorf("GET / as JSON\nwant 200 naming process web\nhave %d %v %q", code, err, tail(string(body), 5))
	}
	// The helper loop dropped privileges (user = "nobody").
	if ps := mustDocker(t, "exec", name, "ps", "-o", "user,args"); !strings.Contains(ps, "nobody") || !regexpUsage.MatchString(ps) {
		t.Errorf("ps in the container: want usage.sh running as nobody, have\n%s", ps)
	}
	// corral is PID 1 of the container.
	if out := mustDocker(t, "exec", name, "cat", "/proc/1/cmdline"); !strings.HasPrefix(out, "/bin/corral") {
		t.Errorf("PID 1 of the container\nwant /bin/corral\nhave %q", out)
	}

	t.Run("HUP reloads", func(t *testing.T) {
		families, err := scrape("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		before, _ := value(families, "corral_config_last_reload_success_timestamp_seconds", map[string]string{"exporter": "corral"})
		// A new source, added to the config inside the running container.
		mustDocker(t, "exec", name, "sh", "-c", `
printf '# TYPE e2e_reloaded gauge\ne2e_reloaded 1\n' >/tmp/reloaded.prom
printf '\n[file.reloaded]\npath = "/tmp/reloaded.prom"\n' >>/etc/corral/corral.toml`)
		// (The timestamp is a float with sub-second resolution: no need to
		// wait for the clock before the reload.)
		mustDocker(t, "kill", "--signal", "HUP", name)
		waitSources(t, addr, "reloaded", "exporter", "usage", "health")
		families, err = scrape("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := value(families, "e2e_reloaded", map[string]string{"exporter": "reloaded"}); !ok || v != 1 {
			t.Errorf("e2e_reloaded{exporter=\"reloaded\"}: want 1, have %g (found %v)", v, ok)
		}
		after, _ := value(families, "corral_config_last_reload_success_timestamp_seconds", map[string]string{"exporter": "corral"})
		if after <= before {
			t.Errorf("corral_config_last_reload_success_timestamp_seconds\nwant > %g\nhave %g", before, after)
		}
		if v, ok := value(families, "corral_config_last_reload_successful", map[string]string{"exporter": "corral"}); !ok || v != 1 {
			t.Errorf("corral_config_last_reload_successful: want 1, have %g (found %v)", v, ok)
		}
	})

	t.Run("orphans reaped", func(t *testing.T) {
		reaped := func() float64 {
			families, err := scrape("http://" + addr + "/metrics")
			if err != nil {
				return -1
			}
			v, _ := value(families, "corral_orphans_reaped_total", map[string]string{"exporter": "corral"})
			return v
		}
		before := reaped()
		// Each inner sh exits at once; its two sleeps are orphans re-parented
		// to corral (PID 1), which must reap them when they exit.
		mustDocker(t, "exec", name, "sh", "-c", `for i in 1 2 3 4 5; do sh -c 'sleep 0.5 & sleep 0.7 & exit 0'; done`)
		testkit.Within(t, 30*time.Second, "10 orphans reaped and no zombie left in the container", func() (bool, string) {
			out, err := docker("exec", name, "ps", "-o", "pid,ppid,stat,args")
			if err != nil {
				return false, err.Error()
			}
			for _, l := range lines(out)[1:] {
				f := strings.Fields(l)
				if len(f) >= 4 && (strings.HasPrefix(f[2], "Z") || strings.Contains(l, "sleep 0.")) {
					return false, "left: " + l + "\n" + out
				}
			}
			have := reaped()
			return have >= before+10, fmt.Sprintf("corral_orphans_reaped_total: want >= %g, have %g", before+10, have)
		})
	})

	t.Run("docker stop", func(t *testing.T) {
		top := mustDocker(t, "top", name, "-eo", "pid,comm")
		var pids []int
		for _, l := range lines(top)[1:] {
			if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
				pids = append(pids, pid)
			}
		}
		if len(pids) < 4 {
			t.Fatalf("processes in the container: want corral and its children, have\n%s", top)
		}
		start := time.Now()
		mustDocker(t, "stop", "-t", "10", name)
		took := time.Since(start)
		if took > 9*time.Second {
			t.Errorf("docker stop: want corral out within its 8s grace, before Docker's SIGKILL at 10s; took %s", took)
		}
		if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", name); code != "0" {
			t.Errorf("exit code after docker stop\nwant 0\nhave %s", code)
		}
		for _, pid := range pids {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				t.Errorf("process %d of the container still exists after docker stop", pid)
			}
		}
		t.Logf("docker stop took %s; processes before: %d", took.Round(time.Millisecond), len(pids))
	})
}

func testExitCodes(t *testing.T, env *dockerEnv) {
	for _, tc := range []struct {
		main string
		want string
	}{
		{"exit 0", "0"},
		{"exit 3", "3"},
		{"exit 255", "255"},
		{"kill -KILL $$", "137"},
	} {
		t.Run(tc.main, func(t *testing.T) {
			name := fmt.Sprintf("corral-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())
			defer docker("rm", "-f", name)
			_, _ = docker("run", "--name", name, env.corral, "--", "sh", "-c", tc.main)
			have := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", name)
			if have != tc.want {
				logs, _ := docker("logs", name)
				t.Errorf("docker run corral -- sh -c %q\nwant exit %s\nhave exit %s\n%s", tc.main, tc.want, have, tail(logs, 20))
			}
		})
	}
}

func composeCommand() []string {
	if _, err := docker("compose", "version"); err == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	return nil
}

func testCompose(t *testing.T, env *dockerEnv) {
	compose := composeCommand()
	if compose == nil {
		t.Fatal("neither docker compose nor docker-compose is installed (apt-get install docker-compose)")
	}
	project := fmt.Sprintf("corrale2e%d", os.Getpid())
	promPort := freePort(t)
	vars := []string{
		"CORRAL_IMAGE=" + env.corral,
		"APPLIANCE_IMAGE=" + env.appliance + "-compose",
		"PROMETHEUS_IMAGE=" + env.prometheus,
		fmt.Sprintf("APPLIANCE_METRICS_PORT=%d", freePort(t)),
		fmt.Sprintf("APPLIANCE_HTTP_PORT=%d", freePort(t)),
		fmt.Sprintf("PROMETHEUS_PORT=%d", promPort),
	}
	composeRun := func(args ...string) (string, error) {
		return run(vars, "../examples/appliance", compose[0], append(append(compose[1:], "-p", project), args...)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := composeRun("logs", "--no-color")
			t.Logf("--- compose logs ---\n%s", tail(logs, 100))
		}
		if out, err := composeRun("down", "-v", "--remove-orphans", "-t", "10"); err != nil {
			t.Logf("compose down: %v\n%s", err, out)
		}
		_, _ = docker("rmi", "-f", env.appliance+"-compose")
	})
	if out, err := composeRun("up", "-d", "--build"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	p := &prometheus{url: fmt.Sprintf("http://127.0.0.1:%d", promPort)}
	testkit.Within(t, 90*time.Second, "the compose Prometheus answers", func() (bool, string) {
		code, _, err := get(p.url+"/-/ready", nil)
		return code == http.StatusOK, fmt.Sprintf("status %d, %v", code, err)
	})
	p.expect(t, 90*time.Second, `up{job="appliance"}`, 1)
	p.expect(t, 90*time.Second, `up{job="appliance-exporter"}`, 1)
	for _, s := range []string{"exporter", "usage", "health", "corral"} {
		p.expect(t, 90*time.Second, fmt.Sprintf(`corral_source_up{job="appliance",exporter=%q}`, s), 1)
	}
	p.expect(t, 30*time.Second, `appliance_documents{job="appliance-exporter"}`, 1)
	p.expect(t, 30*time.Second, `appliance_http_up{job="appliance",exporter="health",service="web"}`, 1)
	testkit.Within(t, 30*time.Second, "every compose target healthy with no last error", func() (bool, string) {
		targets, err := p.targets()
		if err != nil {
			return false, err.Error()
		}
		for _, tg := range targets {
			if tg.Health != "up" || tg.LastError != "" {
				return false, fmt.Sprintf("%s: health %q, lastError %q", tg.ScrapePool, tg.Health, tg.LastError)
			}
		}
		return len(targets) == 2, fmt.Sprintf("want 2 targets, have %d", len(targets))
	})
	// The image's HEALTHCHECK (corral healthcheck) reports healthy.
	id, err := composeRun("ps", "-q", "appliance")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Within(t, 60*time.Second, "appliance container healthy", func() (bool, string) {
		out, err := docker("inspect", "-f", "{{.State.Health.Status}}", strings.TrimSpace(id))
		return err == nil && out == "healthy", fmt.Sprintf("%q %v", out, err)
	})
}
