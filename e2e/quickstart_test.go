//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestQuickstart runs examples/quickstart from the repository root as its
// README says (with the port moved to a free one) and finds every source in
// the merged /metrics.
func TestQuickstart(t *testing.T) {
	raw, err := os.ReadFile("../examples/quickstart/corral.toml")
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	config := strings.Replace(string(raw), `listen_address = ":9999"`, fmt.Sprintf("listen_address = %q", addr), 1)
	if config == string(raw) {
		t.Fatal(`examples/quickstart/corral.toml: want listen_address = ":9999" to replace`)
	}
	path := t.TempDir() + "/corral.toml"
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	started := time.Now().Unix()
	killLeftovers(t, "examples/quickstart/writer.sh")
	d := startDaemon(t, "corral", []string{corralBin, "--config.file", path}, "..")
	testkit.Within(t, 60*time.Second, "every quick-start source up", func() (bool, string) {
		if d.exited() {
			t.Fatalf("corral exited: %v\n%s", d.err, d.log.String())
		}
		families, err := scrape("http://" + addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		for _, s := range []string{"textfile", "hello"} {
			if v, ok := value(families, "corral_source_up", map[string]string{"exporter": s}); !ok || v != 1 {
				return false, fmt.Sprintf("corral_source_up{exporter=%q}: want 1, have %g (found %v)", s, v, ok)
			}
		}
		for name, src := range map[string]string{
			"quickstart_loops_total": "textfile",
			"hello_info":             "hello",
			"corral_build_info":      "corral",
		} {
			if _, ok := value(families, name, map[string]string{"exporter": src}); !ok {
				return false, fmt.Sprintf("%s{exporter=%q}: missing", name, src)
			}
		}
		// Written by this run's writer, not left over from an earlier one.
		if v, _ := value(families, "quickstart_last_write_timestamp_seconds", map[string]string{"exporter": "textfile"}); v < float64(started) {
			return false, fmt.Sprintf("quickstart_last_write_timestamp_seconds: want >= %d, have %g", started, v)
		}
		return true, ""
	})
	code, body, err := get("http://"+addr+"/proxy?module=hello&name=e2e", nil)
	if err != nil || code != 200 || !strings.Contains(string(body), `hello_info{name="e2e"} 1`) {
		t.Errorf("/proxy?module=hello&name=e2e\nwant 200 with hello_info{name=\"e2e\"} 1\nhave %d %v\n%s", code, err, body)
	}
	if took := d.stop(t, 15*time.Second); took > 6*time.Second {
		t.Errorf("stop: want within stop_timeout (5s), have %s", took)
	}
	if d.err != nil {
		t.Errorf("corral's exit after SIGTERM: want 0, have %v", d.err)
	}
}
