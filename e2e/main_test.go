//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/corral-metrics/corral/internal/testkit"
)

// corralBin is the binary under test, built once by TestMain (or given as
// CORRAL_E2E_BINARY, e.g. dist/corral; it must be static for the Docker tests).
var corralBin string

func TestMain(m *testing.M) {
	if bin := os.Getenv("CORRAL_E2E_BINARY"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		corralBin = abs
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "corral-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	corralBin = filepath.Join(dir, "corral")
	build := exec.Command("go", "build", "-o", corralBin, "github.com/corral-metrics/corral/cmd/corral")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/corral: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need fails the test unless the program is installed: in CI every one is.
func need(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is needed (apt-get install prometheus prometheus-node-exporter busybox-static): %v", p, err)
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// logFile collects a child's output and shows it when the test fails.
type logFile struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logFile) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// daemon is a long-running child of the test: corral or Prometheus.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  *logFile
	done chan struct{} // closed once the process has exited
	err  error         // Wait's result, valid after done
}

func startDaemon(t *testing.T, name string, args []string, dir string) *daemon {
	t.Helper()
	d := &daemon{name: name, log: &logFile{}, done: make(chan struct{})}
	d.cmd = exec.Command(args[0], args[1:]...)
	d.cmd.Dir = dir
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.stop(t, 15*time.Second)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, tail(d.log.String(), 80))
		}
	})
	return d
}

// stop sends SIGTERM and waits; SIGKILL after the bound. It returns how long
// the process took to exit.
func (d *daemon) stop(t *testing.T, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-d.done:
		return 0
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return time.Since(start)
	case <-time.After(bound):
		t.Errorf("%s: still running %s after SIGTERM; killing it", d.name, bound)
		_ = d.cmd.Process.Kill()
		<-d.done
		return time.Since(start)
	}
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// startCorral writes the config into a temporary directory and runs corral on
// it, waiting until /-/healthy answers.
func startCorral(t *testing.T, config string, extra ...string) (*daemon, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "corral.toml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{corralBin, "--config.file", path, "--log.level", "debug"}, extra...)
	d := startDaemon(t, "corral", args, dir)
	addr := listenAddress(t, config)
	testkit.Within(t, 30*time.Second, "corral answers /-/healthy", func() (bool, string) {
		if d.exited() {
			t.Fatalf("corral exited early: %v\n%s", d.err, d.log.String())
		}
		code, _, err := get("http://"+addr+"/-/healthy", nil)
		return code == http.StatusOK, fmt.Sprintf("status %d, %v", code, err)
	})
	return d, addr
}

func listenAddress(t *testing.T, config string) string {
	t.Helper()
	for _, line := range strings.Split(config, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "listen_address" {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	t.Fatal("config has no listen_address")
	return ""
}

// get fetches a URL with the given headers and a 10 s bound.
func get(url string, header map[string]string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// scrape fetches a text exposition and parses it.
func scrape(url string) (map[string]*dto.MetricFamily, error) {
	code, body, err := get(url, map[string]string{"Accept": "text/plain;version=0.0.4"})
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d: %s", url, code, tail(string(body), 5))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(body))
}

// value returns the value of the series of family name whose labels include
// every given pair, and whether there is exactly one such series.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf, ok := families[name]
	if !ok {
		return 0, false
	}
	found, v := 0, 0.0
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		found++
		switch {
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Untyped != nil:
			v = m.GetUntyped().GetValue()
		}
	}
	return v, found == 1
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, lp := range m.GetLabel() {
		have[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// pidsOf lists the processes whose command line contains every marker.
func pidsOf(markers ...string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		cmdline := strings.ReplaceAll(string(raw), "\x00", " ")
		all := true
		for _, m := range markers {
			all = all && strings.Contains(cmdline, m)
		}
		if all && !isZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// isZombie reads the state field of /proc/PID/stat.
func isZombie(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// parentOf reads the ppid field of /proc/PID/stat.
func parentOf(pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// killLeftovers SIGKILLs processes a failed run may have left behind, so one
// broken test does not hold ports for the next.
func killLeftovers(t *testing.T, markers ...string) {
	t.Cleanup(func() {
		for _, pid := range pidsOf(markers...) {
			t.Errorf("process %d (%v) outlived corral; killing it", pid, markers)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// lines returns the non-empty lines of s, for comparing tool output.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
