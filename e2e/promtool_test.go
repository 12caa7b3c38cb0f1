//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// promtoolCheck pipes an exposition through `promtool check metrics` and
// returns its exit code and findings. Exit 1 is a parse error; exit 3 lists
// lint problems, one per line.
func promtoolCheck(t *testing.T, body []byte) (int, []string) {
	t.Helper()
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitCode(), lines(out.String())
	default:
		t.Fatalf("promtool check metrics: %v", err)
		return 0, nil
	}
}

// TestPromtoolCheckMetrics: corral's merged /metrics, in every text format it
// serves, parses with promtool and adds no lint problem of its own: the only
// findings allowed are those promtool reports on the node exporter itself
// (its camelCase /proc names).
func TestPromtoolCheckMetrics(t *testing.T) {
	need(t, "promtool")
	h := startHost(t)

	code, direct, err := get("http://"+h.nodeAddr+"/metrics", map[string]string{"Accept": "text/plain;version=0.0.4"})
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET node exporter: %d %v", code, err)
	}
	_, baseline := promtoolCheck(t, direct)
	known := map[string]bool{}
	for _, l := range baseline {
		known[l] = true
	}

	for _, tc := range []struct {
		name, accept, contentType string
	}{
		{"text 0.0.4", "text/plain;version=0.0.4", "text/plain; version=0.0.4"},
		{"text, no version", "text/plain", "text/plain; version=0.0.4"},
		{"no Accept", "", "text/plain; version=0.0.4"},
		{"OpenMetrics 1.0.0", "application/openmetrics-text;version=1.0.0", "application/openmetrics-text; version=1.0.0"},
		// corral answers text whenever the client accepts it, even below
		// OpenMetrics: text is its fast path (gateway/merge.go).
		{"Prometheus 2 default Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "text/plain; version=0.0.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := map[string]string{}
			if tc.accept != "" {
				header["Accept"] = tc.accept
			}
			body, ct := fetch(t, "http://"+h.addr+"/metrics", header)
			if !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type\nwant %s...\nhave %s", tc.contentType, ct)
			}
			for _, s := range []string{`exporter="node"`, `exporter="probe"`, `exporter="textfile"`, `exporter="corral"`} {
				if !bytes.Contains(body, []byte(s)) {
					t.Errorf("merged output: want series with %s, have none", s)
				}
			}
			if strings.HasPrefix(ct, "application/openmetrics-text") && !bytes.HasSuffix(body, []byte("# EOF\n")) {
				t.Errorf("OpenMetrics output: want it to end with # EOF, have %q", tail(string(body), 1))
			}
			if strings.HasPrefix(ct, "application/openmetrics-text") {
				// promtool 2.42 (Debian 12) reads only the 0.0.4 text format
				// (it fails with `unknown metric type "unknown"` on any
				// OpenMetrics): check the OpenMetrics structure here instead.
				for _, problem := range checkOpenMetrics(body) {
					t.Error(problem)
				}
				return
			}
			code, findings := promtoolCheck(t, body)
			if code == 1 {
				t.Fatalf("promtool check metrics: want a valid exposition, have a parse error:\n%s", strings.Join(findings, "\n"))
			}
			var added []string
			for _, f := range findings {
				if !known[f] {
					added = append(added, f)
				}
			}
			if len(added) > 0 {
				t.Errorf("promtool check metrics (exit %d): want no problem beyond the node exporter's own, have:\n%s", code, strings.Join(added, "\n"))
			}
			var families []string
			for _, l := range lines(string(body)) {
				if f := strings.Fields(l); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
					families = append(families, f[2])
				}
			}
			if !sort.StringsAreSorted(families) {
				t.Errorf("families: want sorted by name (deterministic output), have %d families out of order", len(families))
			}
		})
	}
}

// checkOpenMetrics checks the structure of an OpenMetrics 1.0 exposition:
// known types, each family declared once, every sample under its family
// with a suffix its type allows, and # EOF at the very end.
func checkOpenMetrics(body []byte) []string {
	suffixes := map[string][]string{
		"counter":        {"_total", "_created"},
		"gauge":          {""},
		"unknown":        {""},
		"stateset":       {""},
		"info":           {"_info"},
		"histogram":      {"_bucket", "_count", "_sum", "_created"},
		"gaugehistogram": {"_bucket", "_gcount", "_gsum"},
		"summary":        {"", "_count", "_sum", "_created"},
	}
	var problems []string
	text := string(body)
	if !strings.HasSuffix(text, "\n# EOF\n") {
		problems = append(problems, "want the exposition to end with # EOF")
	}
	seen := map[string]bool{}
	family, typ := "", ""
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if l == "# EOF" {
			continue
		}
		f := strings.Fields(l)
		if strings.HasPrefix(l, "#") {
			if len(f) < 3 || (f[1] != "TYPE" && f[1] != "HELP" && f[1] != "UNIT") {
				problems = append(problems, fmt.Sprintf("line %d: not a HELP, TYPE or UNIT line: %q", i+1, l))
				continue
			}
			if f[1] == "TYPE" {
				if seen[f[2]] {
					problems = append(problems, fmt.Sprintf("line %d: family %s declared twice", i+1, f[2]))
				}
				seen[f[2]] = true
				family, typ = f[2], f[len(f)-1]
				if _, ok := suffixes[typ]; !ok {
					problems = append(problems, fmt.Sprintf("line %d: unknown type %q", i+1, typ))
				}
			}
			continue
		}
		name := l
		if j := strings.IndexAny(l, "{ "); j >= 0 {
			name = l[:j]
		}
		ok := false
		for _, suf := range suffixes[typ] {
			ok = ok || name == family+suf
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("line %d: sample %s outside its family (current %s, %s)", i+1, name, family, typ))
		}
		if len(problems) > 20 {
			break
		}
	}
	return problems
}

func fetch(t *testing.T, url string, header map[string]string) ([]byte, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, tail(body.String(), 5))
	}
	return body.Bytes(), resp.Header.Get("Content-Type")
}

// TestPromtoolCheckConfig: the example appliance's Prometheus config is valid.
func TestPromtoolCheckConfig(t *testing.T) {
	need(t, "promtool")
	out, err := exec.Command("promtool", "check", "config", "../examples/appliance/prometheus.yml").CombinedOutput()
	if err != nil {
		t.Errorf("promtool check config examples/appliance/prometheus.yml\nwant success\nhave %v\n%s", err, out)
	}
}
