//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestPrometheusDiscovery: one Prometheus job with one http_sd_configs line
// finds every module of corral (an exporter, a script, a file) and its
// [endpoint], scrapes each where /-/sd says, and every target is up, with
// the module or endpoint label keeping their series apart.
func TestPrometheusDiscovery(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE e2e_upstream gauge\ne2e_upstream 1\n")
	}))
	defer up.Close()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"probe.sh":      "#!/bin/sh\necho 'e2e_probe_runs 1'\n",
		"textfile.prom": "# TYPE e2e_textfile_value gauge\ne2e_textfile_value 42\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startCorral(t, fmt.Sprintf(`
[web]
listen_address = %q

[exporter.blackbox]
url = %q
labels = { team = "net" }

[script.probe]
command = [%q]

[file.textfile]
path = %q

[endpoint.db]
path = "/db/metrics"
sources = ["blackbox", "textfile"]
`, addr, up.URL+"/probe", filepath.Join(dir, "probe.sh"), filepath.Join(dir, "textfile.prom")))

	p := startPrometheus(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: appliances
    http_sd_configs:
      - url: http://%s/-/sd
        refresh_interval: 1s
`, addr))

	want := []string{"endpoint=db", "module=blackbox", "module=probe", "module=textfile"}
	testkit.Within(t, 60*time.Second, "every discovered target up", func() (bool, string) {
		res, err := p.query(`up{job="appliances"}`)
		if err != nil {
			return false, err.Error()
		}
		var have []string
		for _, s := range res {
			id := "module=" + s.Metric["module"]
			if e := s.Metric["endpoint"]; e != "" {
				id = "endpoint=" + e
			}
			if s.Value != 1 {
				id += " down"
			}
			have = append(have, id)
		}
		sort.Strings(have)
		return strings.Join(have, " ") == strings.Join(want, " "), fmt.Sprintf("want %v, have %v", want, have)
	})
	for _, tc := range []struct {
		query string
		want  float64
	}{
		{`e2e_upstream{job="appliances",module="blackbox",corral_kind="exporter",team="net"}`, 1},
		{`e2e_probe_runs{module="probe",corral_kind="script"}`, 1},
		{`e2e_textfile_value{module="textfile",corral_kind="file"}`, 42},
		{`e2e_textfile_value{endpoint="db",exporter="textfile"}`, 42},
		{`count(expexp_file_mtime_timestamp{module="textfile"})`, 1},
	} {
		p.expect(t, 30*time.Second, tc.query, tc.want)
	}
}
