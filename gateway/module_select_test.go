package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestProxyModuleSelect: the first module is corral's, the others go
// upstream as module= (blackbox and snmp style), as exporter_exporter does;
// without module, DefaultModule is served.
func TestProxyModuleSelect(t *testing.T) {
	echo := upstream(t, "echo")
	pinned := exporterModule(t, "pinned", echo.URL+"/probe?module=http_2xx", true)
	for _, tc := range []struct {
		name       string
		opts       Options
		query      string
		wantStatus int
		wantBody   string
	}{
		{"second module forwarded", Options{}, "module=echo&module=icmp_example&target=10.0.0.1", 200, `echo{query="module=icmp_example&target=10.0.0.1"} 1`},
		{"third module forwarded too", Options{}, "module=echo&module=a&module=b", 200, `echo{query="module=a&module=b"} 1`},
		{"same module twice", Options{}, "module=echo&module=echo", 200, `echo{query="module=echo"} 1`},
		{"single module not forwarded", Options{}, "module=echo&target=x", 200, `echo{query="target=x"} 1`},
		{"the url's module wins", Options{}, "module=pinned&module=icmp", 200, `echo{query="module=http_2xx"} 1`},
		{"default module", Options{DefaultModule: "echo"}, "target=x", 200, `echo{query="target=x"} 1`},
		{"empty module is not the default", Options{DefaultModule: "echo"}, "module=", 400, "missing module parameter; known modules: echo, pinned"},
		{"no module, no default", Options{}, "target=x", 400, "missing module parameter"},
		{"unknown first module", Options{}, "module=nope&module=echo", 404, `unknown module "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, gw := newTestGateway(t, tc.opts, exporterModule(t, "echo", echo.URL+"/metrics", true), pinned)
			resp, err := http.Get(gw.URL + "/proxy?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status: want %d, have %d (%s)", tc.wantStatus, resp.StatusCode, body)
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("body: want it to contain %q, have %q", tc.wantBody, trim(body))
			}
		})
	}
}

// TestProxyMethods: /proxy is GET (and HEAD); POST, which exporter_exporter
// answered, is 405 here, as the README's migration table says.
func TestProxyMethods(t *testing.T) {
	echo := upstream(t, "echo")
	_, gw := newTestGateway(t, Options{}, exporterModule(t, "echo", echo.URL+"/metrics", true))
	for _, tc := range []struct {
		method     string
		wantStatus int
	}{{"GET", 200}, {"HEAD", 200}, {"POST", 405}, {"PUT", 405}} {
		req, _ := http.NewRequest(tc.method, gw.URL+"/proxy?module=echo", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("%s: want %d, have %d", tc.method, tc.wantStatus, resp.StatusCode)
		}
	}
}
