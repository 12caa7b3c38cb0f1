package gateway

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/corral-metrics/corral/source/exporter"
	"github.com/corral-metrics/corral/source/file"
)

// TestExpexpListing: /-/modules is exporter_exporter's JSON listing, keys
// and all, and holds no secret.
func TestExpexpListing(t *testing.T) {
	pw := t.TempDir() + "/pw"
	os.WriteFile(pw, []byte("s3cret-password"), 0o600)
	web := exporterModule(t, "web", "https://127.0.0.1:8443/api/metrics?format=prometheus&key=s3cret-key", true, func(c *exporter.Config) {
		c.Headers = map[string]string{"X-Api-Key": "s3cret-header"}
		c.BasicAuth = exporter.BasicAuth{Username: "prom", PasswordFile: pw}
		c.TLS.ServerName = "web.internal"
	})
	txt := Module{Name: "jobs", Kind: "file", Source: file.New(file.Config{Path: "/var/lib/app/jobs.prom"}, nil)}
	_, gw := newTestGateway(t, Options{}, web, txt)
	resp, err := http.Get(gw.URL + "/-/modules")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"jobs":{"Method":"file","Timeout":0,"XXX":null,"Exec":{"Command":"","Args":null,"Env":null,"XXX":null},` +
		`"HTTP":{"Verify":null,"TLSInsecureSkipVerify":false,"TLSCertFile":null,"TLSKeyFile":null,"TLSCACertFile":null,"TLSRootCaFile":null,"TLSServerName":null,"Port":0,"Path":"","Scheme":"","Address":"","Headers":null,"BasicAuthUsername":"","BasicAuthPassword":"","XXX":null},` +
		`"File":{"Path":"/var/lib/app/jobs.prom"}},` +
		`"web":{"Method":"http","Timeout":10000000000,"XXX":null,"Exec":{"Command":"","Args":null,"Env":null,"XXX":null},` +
		`"HTTP":{"Verify":true,"TLSInsecureSkipVerify":false,"TLSCertFile":null,"TLSKeyFile":null,"TLSCACertFile":null,"TLSRootCaFile":null,"TLSServerName":"web.internal","Port":8443,"Path":"/api/metrics?format=<hidden>&key=<hidden>","Scheme":"https","Address":"127.0.0.1","Headers":{"X-Api-Key":"<hidden>"},"BasicAuthUsername":"prom","BasicAuthPassword":"<hidden>","XXX":null},` +
		`"File":{"Path":""}}}`
	if have := strings.TrimSpace(string(body)); have != want {
		t.Errorf("want:\n%s\nhave:\n%s", want, have)
	}
	if strings.Contains(string(body), "s3cret") {
		t.Errorf("a secret is in the listing:\n%s", body)
	}
}
