//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

const nodeExporter = "/usr/bin/prometheus-node-exporter"

// host is a corral that supervises a real node exporter (behind a wrapper that
// can hold its restart), a script and a textfile.
type host struct {
	dir      string // scripts, the textfile and the hold file
	corral   *daemon
	addr     string // corral's 127.0.0.1:port
	nodeAddr string // the node exporter's 127.0.0.1:port
}

// startHost writes the sources and runs corral on them. While the file
// dir/hold exists, the node exporter's wrapper waits before exec'ing it, so a
// test can keep the exporter down long enough for Prometheus to see it.
func startHost(t *testing.T) *host {
	t.Helper()
	need(t, nodeExporter)
	h := &host{
		dir:      t.TempDir(),
		addr:     fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		nodeAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	files := map[string]string{
		"node.sh": `#!/bin/sh
while [ -e "$HOLD" ]; do sleep 0.1; done
exec ` + nodeExporter + ` --web.listen-address="$ADDR" \
	--no-collector.arp --no-collector.bcache --no-collector.btrfs --no-collector.hwmon \
	--no-collector.infiniband --no-collector.ipvs --no-collector.mdadm --no-collector.nfs \
	--no-collector.nfsd --no-collector.rapl --no-collector.systemd --no-collector.textfile \
	--no-collector.thermal_zone --no-collector.xfs --no-collector.zfs
`,
		"probe.sh": `#!/bin/sh
echo '# HELP e2e_probe_runs A constant from the e2e probe script.'
echo '# TYPE e2e_probe_runs gauge'
echo 'e2e_probe_runs{kind="script"} 1'
`,
		"textfile.prom": `# HELP e2e_textfile_value A value from a textfile.
# TYPE e2e_textfile_value gauge
e2e_textfile_value{kind="file"} 42
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(h.dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	config := fmt.Sprintf(`
[web]
listen_address = %q
merge_label = "exporter"

[supervisor]
stop_timeout = "5s"

[process.node]
command = [%q]
env = { ADDR = %q, HOLD = %q }
restart = "always"
backoff = { initial = "200ms", max = "1s" }
ready = { http = "http://%s/metrics" }

[exporter.node]
url = "http://%s/metrics"
process = "node"
timeout = "5s"

[script.probe]
command = [%q]
timeout = "3s"

[file.textfile]
path = %q
`, h.addr, filepath.Join(h.dir, "node.sh"), h.nodeAddr, filepath.Join(h.dir, "hold"),
		h.nodeAddr, h.nodeAddr, filepath.Join(h.dir, "probe.sh"), filepath.Join(h.dir, "textfile.prom"))
	killLeftovers(t, nodeExporter, h.nodeAddr)
	h.corral, _ = startCorral(t, config)
	testkit.Within(t, 60*time.Second, "every source up in corral's /metrics", func() (bool, string) {
		families, err := scrape("http://" + h.addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		for _, s := range []string{"node", "probe", "textfile"} {
			if v, ok := value(families, "corral_source_up", map[string]string{"exporter": s}); !ok || v != 1 {
				return false, fmt.Sprintf("corral_source_up{exporter=%q}: want 1, have %g (found %v)", s, v, ok)
			}
		}
		return true, ""
	})
	return h
}

// nodePid is the pid of the node exporter that corral runs now.
func (h *host) nodePid(t *testing.T) int {
	t.Helper()
	pids := pidsOf(nodeExporter, h.nodeAddr)
	if len(pids) != 1 {
		t.Fatalf("node exporter processes on %s: want 1, have %v", h.nodeAddr, pids)
	}
	return pids[0]
}

// TestPrometheusScrapesCorral: a real Prometheus scrapes the merged /metrics
// and /proxy?module=node every second; killing the node exporter shows in
// corral_source_up while the merged scrape stays up, until corral restarts it.
func TestPrometheusScrapesCorral(t *testing.T) {
	h := startHost(t)
	p := startPrometheus(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: corral
    static_configs:
      - targets: [%q]
  - job_name: corral-node
    metrics_path: /proxy
    params:
      module: [node]
    static_configs:
      - targets: [%q]
`, h.addr, h.addr))

	p.expect(t, 60*time.Second, `up{job="corral"}`, 1)
	p.expect(t, 60*time.Second, `up{job="corral-node"}`, 1)
	// A few scrapes later, every source's series are there with its label.
	p.expect(t, 60*time.Second, `count_over_time(up{job="corral"}[1m]) >= bool 3`, 1)
	p.expect(t, 60*time.Second, `count_over_time(up{job="corral-node"}[1m]) >= bool 3`, 1)
	for _, tc := range []struct {
		query string
		want  float64
	}{
		{`e2e_probe_runs{job="corral",exporter="probe",kind="script"}`, 1},
		{`e2e_textfile_value{job="corral",exporter="textfile",kind="file"}`, 42},
		{`count(node_load1{job="corral",exporter="node"})`, 1},
		{`count(corral_build_info{job="corral",exporter="corral"})`, 1},
		{`corral_source_up{job="corral",exporter="node"}`, 1},
		{`corral_source_up{job="corral",exporter="probe"}`, 1},
		{`corral_source_up{job="corral",exporter="textfile"}`, 1},
		// exporter_exporter parity: /proxy passes the exporter through untouched.
		{`count(node_load1{job="corral-node"})`, 1},
		{`count(node_load1{job="corral-node",exporter!=""})`, 0},
	} {
		res, err := p.query(tc.query)
		have := -1.0
		if err == nil && len(res) == 1 {
			have = res[0].Value
		} else if err == nil && len(res) == 0 {
			have = 0
		}
		if err != nil || have != tc.want {
			t.Errorf("%s\nwant %g\nhave %g (%d series, %v)", tc.query, tc.want, have, len(res), err)
		}
	}
	// Series of the merged job come from exactly these sources.
	res, err := p.query(`count by (exporter) ({job="corral",exporter!=""})`)
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, s := range res {
		sources = append(sources, s.Metric["exporter"])
	}
	sort.Strings(sources)
	if want, have := "corral node probe textfile", strings.Join(sources, " "); have != want {
		t.Errorf("exporter label values of job corral\nwant %s\nhave %s", want, have)
	}
	checkTargetsHealthy(t, p)

	// Kill the node exporter; hold its restart until Prometheus has seen it down.
	if err := os.WriteFile(filepath.Join(h.dir, "hold"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := h.nodePid(t)
	if ppid := parentOf(old); ppid != h.corral.cmd.Process.Pid {
		t.Errorf("node exporter's parent\nwant corral (%d)\nhave %d", h.corral.cmd.Process.Pid, ppid)
	}
	killed := time.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.expect(t, 30*time.Second, `corral_source_up{job="corral",exporter="node"}`, 0)
	p.expect(t, 10*time.Second, `up{job="corral"}`, 1)
	if err := os.Remove(filepath.Join(h.dir, "hold")); err != nil {
		t.Fatal(err)
	}
	p.expect(t, 60*time.Second, `corral_source_up{job="corral",exporter="node"}`, 1)
	if pid := h.nodePid(t); pid == old {
		t.Errorf("node exporter pid after the restart: want a new one, have the old %d", pid)
	}
	window := int(time.Since(killed).Seconds()) + 2
	p.expect(t, 10*time.Second, fmt.Sprintf(`min_over_time(up{job="corral"}[%ds])`, window), 1)
	p.expect(t, 10*time.Second, `max(corral_process_restarts_total{job="corral"}) >= bool 1`, 1)
	checkTargetsHealthy(t, p)

	// Every scrape of corral was a valid exposition.
	problems, err := p.scrapeProblems()
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) == 0 {
		t.Errorf("prometheus_target_scrapes_*: want the counters, have none")
	}
	for name, v := range problems {
		if v != 0 {
			t.Errorf("%s\nwant 0\nhave %g", name, v)
		}
	}
}

func checkTargetsHealthy(t *testing.T, p *prometheus) {
	t.Helper()
	testkit.Within(t, 30*time.Second, "every target healthy with no last error", func() (bool, string) {
		targets, err := p.targets()
		if err != nil {
			return false, err.Error()
		}
		if len(targets) != 2 {
			return false, fmt.Sprintf("want 2 active targets, have %d", len(targets))
		}
		for _, tg := range targets {
			if tg.Health != "up" || tg.LastError != "" {
				return false, fmt.Sprintf("%s (%s): health %q, lastError %q", tg.ScrapePool, tg.ScrapeURL, tg.Health, tg.LastError)
			}
		}
		return true, ""
	})
}
