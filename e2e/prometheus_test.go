//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

// prometheus is a real Debian Prometheus with its own storage and config.
type prometheus struct {
	*daemon
	url string
}

func startPrometheus(t *testing.T, config string) *prometheus {
	t.Helper()
	need(t, "prometheus")
	dir := t.TempDir()
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := startDaemon(t, "prometheus", []string{
		"prometheus",
		"--config.file=" + path,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}, dir)
	p := &prometheus{daemon: d, url: "http://" + addr}
	testkit.Within(t, 60*time.Second, "prometheus answers /-/ready", func() (bool, string) {
		if d.exited() {
			t.Fatalf("prometheus exited early: %v\n%s", d.err, d.log.String())
		}
		code, _, err := get(p.url+"/-/ready", nil)
		return code == http.StatusOK, fmt.Sprintf("status %d, %v", code, err)
	})
	return p
}

// sample is one series of an instant vector.
type sample struct {
	Metric map[string]string
	Value  float64
}

// query runs an instant PromQL query.
func (p *prometheus) query(q string) ([]sample, error) {
	code, body, err := get(p.url+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("query %q: status %d: %v", q, code, err)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, resp.Error)
	}
	var out []sample
	for _, r := range resp.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %v", q, r.Value[1], err)
		}
		out = append(out, sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// target is what /api/v1/targets says about one active target.
type target struct {
	Labels     map[string]string
	ScrapePool string
	ScrapeURL  string
	Health     string
	LastError  string
}

func (p *prometheus) targets() ([]target, error) {
	_, body, err := get(p.url+"/api/v1/targets?state=active", nil)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Data struct{ ActiveTargets []target }
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	return resp.Data.ActiveTargets, nil
}

// scrapeProblems returns Prometheus' own prometheus_target_scrapes_* counters
// (duplicate timestamps, out of order, over the sample or body limit...):
// each stays 0 when every scrape of corral is a valid exposition.
func (p *prometheus) scrapeProblems() (map[string]float64, error) {
	families, err := scrape(p.url + "/metrics")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for name := range families {
		if len(name) > len("prometheus_target_scrapes_") && name[:len("prometheus_target_scrapes_")] == "prometheus_target_scrapes_" {
			v, _ := value(families, name, nil)
			out[name] = v
		}
	}
	return out, nil
}

// expect waits until the query returns exactly one series of the wanted value.
func (p *prometheus) expect(t *testing.T, bound time.Duration, q string, want float64) {
	t.Helper()
	testkit.Within(t, bound, fmt.Sprintf("%s == %g", q, want), func() (bool, string) {
		res, err := p.query(q)
		if err != nil {
			return false, err.Error()
		}
		if len(res) != 1 {
			return false, fmt.Sprintf("want 1 series, have %d: %v", len(res), res)
		}
		return res[0].Value == want, fmt.Sprintf("want %g, have %g", want, res[0].Value)
	})
}
