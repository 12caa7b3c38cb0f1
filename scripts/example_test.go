package scripts

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
)

// TestCertExpiryExample runs the README's worked example against a local
// TLS server.
func TestCertExpiryExample(t *testing.T) {
	_, err := exec.LookPath("openssl")
	testkit.Need(t, "the example needs openssl", err)
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	f := newScript(t, "cert_expiry", Config{
		Command: []string{testdata(t, "cert-expiry.sh")},
		Timeout: duration.Of(30 * time.Second),
		Params:  []string{"host", "port"},
	}, Deps{})
	body, err := scrape(context.Background(), f.Script, url.Values{"host": {u.Hostname()}, "port": {u.Port()}})
	want := fmt.Sprintf("# HELP tls_cert_not_after_seconds When the certificate served expires, as a unix timestamp.\n"+
		"# TYPE tls_cert_not_after_seconds gauge\n"+
		"tls_cert_not_after_seconds{host=%q,port=%q} %d\n", u.Hostname(), u.Port(), srv.Certificate().NotAfter.Unix())
	if err != nil || body != want {
		t.Errorf("want %q, have %q (err %v)", want, body, err)
	}

	// A host the script refuses: exit 2, its complaint logged, not served.
	_, err = scrape(context.Background(), f.Script, url.Values{"host": {"a b"}})
	if want := `script "cert_expiry": exit status 2`; err == nil || err.Error() != want {
		t.Errorf("want %q, have %v", want, err)
	}
}
