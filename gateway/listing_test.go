package gateway

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/scripts"
	"github.com/corral-metrics/corral/source/exporter"
	"github.com/corral-metrics/corral/source/file"
)

// TestExpexpListing: /-/modules is exporter_exporter's JSON listing, keys
// and all, and holds no secret: no query value, header value or password
// of an exporter, no argument or environment value of a script.
func TestExpexpListing(t *testing.T) {
	pw := t.TempDir() + "/pw"
	os.WriteFile(pw, []byte("s3cret-password"), 0o600)
	web := exporterModule(t, "web", "https://127.0.0.1:8443/api/metrics?format=prometheus&key=s3cret-key", true, func(c *exporter.Config) {
		c.Headers = map[string]string{"X-Api-Key": "s3cret-header"}
		c.BasicAuth = exporter.BasicAuth{Username: "prom", PasswordFile: pw}
		c.TLS.ServerName = "web.internal"
	})
	txt := Module{Name: "jobs", Kind: "file", Source: file.New(file.Config{Path: "/var/lib/app/jobs.prom"}, nil)}
	sleepy := Module{Name: "sleepy", Kind: "script", Source: scripts.New("sleepy", scripts.Config{
		Command: []string{"/bin/sh", "-c", "sleep 1", "--password=s3cret-arg"},
		Env:     map[string]string{"API_TOKEN": "s3cret-env"},
		Timeout: duration.Of(5 * time.Second),
	}, scripts.Deps{})}
	_, gw := newTestGateway(t, Options{}, web, txt, sleepy)
	resp, err := http.Get(gw.URL + "/-/modules")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"jobs":{"Method":"file","Timeout":0,"XXX":null,"Exec":{"Command":"","Args":null,"Env":null,"XXX":null},` +
		`"HTTP":{"Verify":null,"TLSInsecureSkipVerify":false,"TLSCertFile":null,"TLSKeyFile":null,"TLSCACertFile":null,"TLSRootCaFile":null,"TLSServerName":null,"Port":0,"Path":"","Scheme":"","Address":"","Headers":null,"BasicAuthUsername":"","BasicAuthPassword":"","XXX":null},` +
		`"File":{"Path":"/var/lib/app/jobs.prom"}},` +
		`"sleepy":{"Method":"exec","Timeout":5000000000,"XXX":null,"Exec":{"Command":"/bin/sh","Args":["<hidden>","<hidden>","<hidden>"],"Env":{"API_TOKEN":"<hidden>"},"XXX":null},` +
		`"HTTP":{"Verify":null,"TLSInsecureSkipVerify":false,"TLSCertFile":null,"TLSKeyFile":null,"TLSCACertFile":null,"TLSRootCaFile":null,"TLSServerName":null,"Port":0,"Path":"","Scheme":"","Address":"","Headers":null,"BasicAuthUsername":"","BasicAuthPassword":"","XXX":null},` +
		`"File":{"Path":""}},` +
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
