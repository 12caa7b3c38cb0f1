package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMergedEndpoints: an [endpoint] merges exactly its sources, with the merge
// label, without corral's own metrics; /metrics keeps every merge = true
// source; a reload swaps the endpoints; other methods are 405.
func TestMergedEndpoints(t *testing.T) {
	up := upstream(t, "good")
	a := exporterModule(t, "pg", up.URL, true)
	b := exporterModule(t, "pgbouncer", up.URL, true)
	c := exporterModule(t, "web", up.URL, true)
	c.Merge = false
	g, gw := newTestGateway(t, Options{MergeSelf: true}, a, b, c)
	g.SetEndpoints([]Endpoint{{Name: "db", Path: "/db/metrics", Sources: []string{"pg", "web"}}})

	get := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, gw.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		method, path string
		wantStatus   int
		want, absent []string
	}{
		{"GET", "/db/metrics", 200, []string{`exporter="pg"`, `exporter="web"`, `corral_source_up{exporter="pg"} 1`}, []string{`exporter="pgbouncer"`, `exporter="corral"`}},
		{"GET", "/metrics", 200, []string{`exporter="pg"`, `exporter="pgbouncer"`, `exporter="corral"`}, []string{`exporter="web"`}},
		{"POST", "/db/metrics", 405, nil, nil},
		{"GET", "/db/other", 404, nil, nil},
		{"GET", "/-/reload", 405, nil, nil},
		{"GET", "/", 200, []string{`<a href="/db/metrics">/db/metrics</a></td><td>pg, web</td>`}, nil},
	} {
		status, body := get(tc.method, tc.path)
		if status != tc.wantStatus {
			t.Errorf("%s %s: status: want %d, have %d", tc.method, tc.path, tc.wantStatus, status)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s: want %q in the body, have:\n%s", tc.method, tc.path, w, trim([]byte(body)))
			}
		}
		for _, w := range tc.absent {
			if strings.Contains(body, w) {
				t.Errorf("%s %s: want no %q in the body, have it", tc.method, tc.path, w)
			}
		}
	}

	if have, want := fmt.Sprint(g.Landing().Endpoints), "[{db /db/metrics [pg web]}]"; have != want {
		t.Errorf("landing JSON endpoints: want %s, have %s", want, have)
	}

	g.SetEndpoints([]Endpoint{{Name: "bouncer", Path: "/bouncer", Sources: []string{"pgbouncer"}}})
	if status, _ := get("GET", "/db/metrics"); status != 404 {
		t.Errorf("after a reload, the old endpoint: want 404, have %d", status)
	}
	if status, body := get("GET", "/bouncer"); status != 200 || !strings.Contains(body, `exporter="pgbouncer"`) {
		t.Errorf("after a reload, the new endpoint: want 200 with pgbouncer, have %d:\n%s", status, trim([]byte(body)))
	}
}

// TestDiscovery: /-/sd lists one target group per module and per endpoint,
// with the Host the client used or external_address, and refuses a bad Host.
func TestDiscovery(t *testing.T) {
	up := upstream(t, "good")
	a := exporterModule(t, "pg", up.URL, true)
	a.Process, a.Labels = "postgres", map[string]string{"role": "db", "module": "mine"}
	b := exporterModule(t, "node", up.URL, true)
	eps := []Endpoint{{Name: "db", Path: "/db/metrics", Sources: []string{"pg"}}}
	want := func(addr string) string {
		return `[{"targets":["` + addr + `"],"labels":{"__metrics_path__":"/proxy","__param_module":"node","corral_kind":"exporter","module":"node"}},` +
			`{"targets":["` + addr + `"],"labels":{"__metrics_path__":"/proxy","__param_module":"pg","corral_kind":"exporter","corral_process":"postgres","module":"pg","role":"db"}},` +
			`{"targets":["` + addr + `"],"labels":{"__metrics_path__":"/db/metrics","endpoint":"db"}}]`
	}
	for _, tc := range []struct {
		name       string
		external   string
		host       string
		wantStatus int
		want       string
	}{
		{"client's host", "", "appliance.example:9999", 200, want("appliance.example:9999")},
		{"client's IPv6 host", "", "[::1]:9999", 200, want("[::1]:9999")},
		{"external address wins", "corral.svc:443", "whatever:1", 200, want("corral.svc:443")},
		{"bad host", "", "evil/path:1", 400, `Host "evil/path:1"`},
		{"no host", "", "", 400, `Host ""`},
		{"bad port", "", "host:0", 400, `port "0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(Options{ExternalAddress: tc.external})
			g.SetModules([]Module{a, b})
			g.SetEndpoints(eps)
			// Served directly: an HTTP client refuses to send a bad Host.
			req := httptest.NewRequest("GET", "/-/sd", nil)
			req.Host = tc.host
			rec := httptest.NewRecorder()
			g.Handler().ServeHTTP(rec, req)
			resp := rec.Result()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status: want %d, have %d (%s)", tc.wantStatus, resp.StatusCode, body)
			}
			if tc.wantStatus != 200 {
				if !strings.Contains(string(body), tc.want) {
					t.Errorf("body: want %q in it, have %s", tc.want, body)
				}
				return
			}
			var groups []TargetGroup
			if err := json.Unmarshal(body, &groups); err != nil {
				t.Fatalf("not http_sd JSON: %v", err)
			}
			if have := strings.TrimSpace(string(body)); have != tc.want {
				t.Errorf("want:\n%s\nhave:\n%s", tc.want, have)
			}
		})
	}
}

// TestDiscoveryGuarded: /-/sd is behind the same access control as /proxy.
func TestDiscoveryGuarded(t *testing.T) {
	_, gw := newTestGateway(t, Options{BearerToken: "tok"})
	for _, tc := range []struct {
		auth       string
		wantStatus int
	}{{"", 401}, {"Bearer tok", 200}} {
		req, _ := http.NewRequest("GET", gw.URL+"/-/sd", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("Authorization %q: want %d, have %d", tc.auth, tc.wantStatus, resp.StatusCode)
		}
	}
}
