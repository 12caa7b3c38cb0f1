package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/corral-metrics/corral/internal/testkit"
)

// buildCorral builds the binary under test into a temporary directory.
func buildCorral(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "corral")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startCorral runs the binary and waits until get(/-/healthy) answers.
func startCorral(t *testing.T, bin string, get func(path string) (int, string, error), args ...string) *exec.Cmd {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("corral exited with %v after SIGTERM\n%s", err, logs.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("corral did not stop on SIGTERM\n%s", logs.String())
		}
		if t.Failed() {
			t.Logf("corral's log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, err := get("/-/healthy")
		if err == nil && status == 200 {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("corral never became healthy: %v %d", err, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getter(client *http.Client, base string) func(path string) (int, string, error) {
	return func(path string) (int, string, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
}

func TestEndToEnd(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintf(w, "# TYPE upstream_requests counter\nupstream_requests_total{target=%q} 1\n", r.URL.Query().Get("target"))
	}))
	defer up.Close()
	os.WriteFile(filepath.Join(dir, "jobs.prom"), []byte("# TYPE jobs gauge\njobs 3\n"), 0o644)
	config := filepath.Join(dir, "corral.toml")
	good := fmt.Sprintf("[web]\ndefault_module = \"app\"\n[exporter.app]\nurl = %q\n[file.jobs]\npath = %q\n", up.URL+"/metrics", filepath.Join(dir, "jobs.prom"))
	endpoint := func(path string) string { return fmt.Sprintf("[endpoint.db]\npath = %q\nsources = [\"jobs\"]\n", path) }
	os.WriteFile(config, []byte(good+endpoint("/db/metrics")), 0o644)
	addr := freeAddr(t)
	get := getter(http.DefaultClient, "http://"+addr)
	cmd := startCorral(t, bin, get, "--config.file", config, "--web.listen-address", addr, "--log.level", "debug")

	for _, tc := range []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/proxy?module=app&target=db1", 200, `upstream_requests_total{target="db1"} 1`},
		{"/proxy?module=jobs", 200, "jobs 3\n"},
		{"/proxy?module=jobs", 200, `expexp_file_mtime_timestamp{module="jobs",path=`},
		{"/proxy?module=nope", 404, "known modules: app, jobs"},
		{"/proxy?target=db2", 200, `upstream_requests_total{target="db2"} 1`},
		{"/db/metrics", 200, `jobs{exporter="jobs"} 3`},
		{"/-/sd", 200, `{"targets":["` + addr + `"],"labels":{"__metrics_path__":"/db/metrics","endpoint":"db"}}`},
		{"/-/modules", 200, `"jobs":{"Method":"file"`},
		{"/metrics", 200, `corral_build_info{goversion=`},
		{"/metrics", 200, `corral_scrape_bytes_total{source="app",exporter="corral"}`},
		{"/metrics", 200, `corral_config_last_reload_successful{exporter="corral"} 1`},
		{"/", 200, `href="proxy?module=jobs"`},
		{"/-/ready", 200, "ready"},
	} {
		status, body, err := get(tc.path)
		if err != nil || status != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
			t.Errorf("GET %s: want %d %q, have %d %v\n%s", tc.path, tc.wantStatus, tc.wantBody, status, err, body)
		}
	}

	// corral check and healthcheck, as an operator (or Docker) runs them.
	out, err := exec.Command(bin, "check", "--config.file", config).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "app              exporter "+up.URL+"/metrics (merged, verified)") ||
		!strings.Contains(string(out), "endpoints: 1\n  db               /db/metrics: jobs\n") {
		t.Errorf("corral check: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "healthcheck", "--config.file", config, "--web.listen-address", addr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "healthy (200)") {
		t.Errorf("corral healthcheck: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "healthcheck", "--web.listen-address", freeAddr(t)).CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Errorf("corral healthcheck with nothing listening: want exit 1, have %d\n%s", code, out)
	}

	// A bad config on SIGHUP is refused: the old modules stay.
	os.WriteFile(config, []byte("[exporter.app]\nurll = \"x\"\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	testkit.Eventually(t, `corral_config_last_reload_successful{exporter="corral"} 0`, func() bool {
		_, body, _ := get("/metrics")
		return strings.Contains(body, `corral_config_last_reload_successful{exporter="corral"} 0`)
	})
	if status, _, _ := get("/proxy?module=jobs"); status != 200 {
		t.Errorf("after a refused reload, jobs: want 200, have %d", status)
	}
	// POST /-/reload with a good one: jobs leaves, extra arrives.
	os.WriteFile(config, []byte(good+endpoint("/db2")+fmt.Sprintf("[file.extra]\npath = %q\n", filepath.Join(dir, "jobs.prom"))), 0o644)
	resp, err := http.Post("http://"+addr+"/-/reload", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /-/reload: %v %v", resp, err)
	}
	resp.Body.Close()
	for path, want := range map[string]int{"/proxy?module=extra": 200, "/proxy?module=app": 200, "/db2": 200, "/db/metrics": 404} {
		if status, _, _ := get(path); status != want {
			t.Errorf("after reload, %s: want %d, have %d", path, want, status)
		}
	}
	if _, body, _ := get("/metrics"); !strings.Contains(body, `corral_config_last_reload_successful{exporter="corral"} 1`) {
		t.Errorf("after a good reload: want corral_config_last_reload_successful 1")
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestEndToEndTLS: TLS, a required client certificate with an allowed SAN,
// and bcrypt basic auth, all from --web.config.file as in every exporter.
func TestEndToEndTLS(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", ca.Raw)
	serverCert := issue(t, ca, caKey, dir, "server", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")}, nil)
	goodClient := issue(t, ca, caKey, dir, "prometheus", x509.ExtKeyUsageClientAuth, nil, []string{"prometheus"})
	otherClient := issue(t, ca, caKey, dir, "intruder", x509.ExtKeyUsageClientAuth, nil, []string{"intruder"})
	_ = serverCert
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(dir, "web.yml")
	os.WriteFile(webConfig, []byte(fmt.Sprintf(`tls_server_config:
  cert_file: %s/server.crt
  key_file: %s/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: %s/ca.crt
  client_allowed_sans: ["prometheus"]
basic_auth_users:
  prom: %s
`, dir, dir, dir, hash)), 0o600)
	os.WriteFile(filepath.Join(dir, "jobs.prom"), []byte("jobs 3\n"), 0o644)
	config := filepath.Join(dir, "corral.toml")
	os.WriteFile(config, []byte(fmt.Sprintf("[web]\nweb_config_file = %q\n[file.jobs]\npath = %q\n", webConfig, filepath.Join(dir, "jobs.prom"))), 0o644)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	clientFor := func(cert *tls.Certificate, user, password string) *http.Client {
		cfg := &tls.Config{RootCAs: pool}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: 20 * time.Second, Transport: &authTransport{user: user, password: password, next: &http.Transport{TLSClientConfig: cfg}}}
	}
	addr := freeAddr(t)
	base := "https://" + addr
	startCorral(t, bin, getter(clientFor(&goodClient, "prom", "s3cret"), base), "--config.file", config, "--web.listen-address", addr)

	for _, tc := range []struct {
		name       string
		client     *http.Client
		url        string
		wantStatus int // 0: the connection fails
	}{
		{"cert and password", clientFor(&goodClient, "prom", "s3cret"), base + "/proxy?module=jobs", 200},
		{"wrong password", clientFor(&goodClient, "prom", "guess"), base + "/proxy?module=jobs", 401},
		{"no password", clientFor(&goodClient, "", ""), base + "/metrics", 401},
		{"no client certificate", clientFor(nil, "prom", "s3cret"), base + "/metrics", 0},
		{"SAN not allowed", clientFor(&otherClient, "prom", "s3cret"), base + "/metrics", 0},
		{"plain HTTP", http.DefaultClient, "http://" + addr + "/metrics", 400},
	} {
		resp, err := tc.client.Get(tc.url)
		status := 0
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		if status != tc.wantStatus {
			t.Errorf("%s: want %d, have %d (%v)", tc.name, tc.wantStatus, status, err)
		}
	}
}

type authTransport struct {
	user, password string
	next           http.RoundTripper
}

func (a *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if a.user != "" {
		r = r.Clone(r.Context())
		r.SetBasicAuth(a.user, a.password)
	}
	return a.next.RoundTrip(r)
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "corral test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return ca, key
}

// issue makes a certificate signed by ca, written to dir/NAME.crt and .key.
func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dir, name string, usage x509.ExtKeyUsage, ips []net.IP, dns []string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  ips,
		DNSNames:     dns,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	writePEM(t, filepath.Join(dir, name+".crt"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(dir, name+".key"), "EC PRIVATE KEY", keyDER)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
