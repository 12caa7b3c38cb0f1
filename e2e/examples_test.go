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

// TestExampleNodeExporter runs examples/node-exporter as it is, with only its
// two ports moved to free ones: Debian's node exporter takes every flag the
// example gives it, and corral serves it merged and through /proxy.
func TestExampleNodeExporter(t *testing.T) {
	need(t, nodeExporter)
	raw, err := os.ReadFile("../examples/node-exporter/corral.toml")
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	node := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	config := strings.NewReplacer(
		`listen_address = ":9999"`, fmt.Sprintf("listen_address = %q", addr),
		"127.0.0.1:9100", node,
	).Replace(string(raw))
	for _, l := range lines(config) {
		if !strings.HasPrefix(l, "#") && (strings.Contains(l, ":9999") || strings.Contains(l, ":9100")) {
			t.Fatalf("examples/node-exporter/corral.toml: a port was not moved: %s", l)
		}
	}
	killLeftovers(t, nodeExporter, node)
	d, _ := startCorral(t, config)
	testkit.Within(t, 60*time.Second, "the node exporter up in the merged /metrics", func() (bool, string) {
		if d.exited() {
			t.Fatalf("corral exited: %v", d.err)
		}
		families, err := scrape("http://" + addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		if v, ok := value(families, "corral_source_up", map[string]string{"exporter": "node"}); !ok || v != 1 {
			return false, fmt.Sprintf("corral_source_up{exporter=\"node\"}: want 1, have %g (found %v)", v, ok)
		}
		if _, ok := value(families, "node_load1", map[string]string{"exporter": "node"}); !ok {
			return false, "node_load1{exporter=\"node\"}: missing"
		}
		return true, ""
	})
	families, err := scrape("http://" + addr + "/proxy?module=node")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"node_load1", "node_exporter_build_info"} {
		if _, ok := families[name]; !ok {
			t.Errorf("/proxy?module=node: want %s, have none", name)
		}
	}
	// The disabled collectors stay off.
	for _, collector := range []string{"hwmon", "systemd", "zfs"} {
		if v, ok := value(families, "node_scrape_collector_success", map[string]string{"collector": collector}); ok {
			t.Errorf("collector %s: want disabled, have node_scrape_collector_success %g", collector, v)
		}
	}
	if pids := pidsOf(nodeExporter, node); len(pids) != 1 || parentOf(pids[0]) != d.cmd.Process.Pid {
		t.Errorf("node exporter: want one process, child of corral (%d); have %v", d.cmd.Process.Pid, pids)
	}
}
