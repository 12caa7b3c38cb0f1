package exporter

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/corral-metrics/corral/source"
)

// recorder is an upstream that remembers the Authorization of each request.
type recorder struct {
	mu   sync.Mutex
	auth []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	r.mu.Unlock()
	w.Write([]byte("up 1\n"))
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.auth) == 0 {
		return ""
	}
	return r.auth[len(r.auth)-1]
}

func newExporter(t *testing.T, cfg Config) *Exporter {
	t.Helper()
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func scrape(e *Exporter, req source.Request) (string, error) {
	resp, err := e.Scrape(context.Background(), req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func write(t *testing.T, path, content string) {
	t.Helper()
	// A rename over the file, as a secret update does.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialFilesReread: the bearer token and the basic-auth password
// are read from their files on every request: a changed file applies at
// the next scrape, with no reload.
func TestCredentialFilesReread(t *testing.T) {
	up := &recorder{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := t.TempDir()
	token, pw := filepath.Join(dir, "token"), filepath.Join(dir, "pw")
	write(t, token, "first\n")
	write(t, pw, "one\n")

	bearer := newExporter(t, Config{URL: srv.URL, BearerTokenFile: token})
	basic := newExporter(t, Config{URL: srv.URL, BasicAuth: BasicAuth{Username: "prom", PasswordFile: pw}})
	for _, tc := range []struct {
		e          *Exporter
		file, next string
		want       []string
	}{
		{bearer, token, "second\n", []string{"Bearer first", "Bearer second"}},
		{basic, pw, "two\n", []string{"Basic cHJvbTpvbmU=", "Basic cHJvbTp0d28="}}, // prom:one, prom:two
	} {
		for i, want := range tc.want {
			if i > 0 {
				write(t, tc.file, tc.next)
			}
			if _, err := scrape(tc.e, source.Request{}); err != nil {
				t.Fatal(err)
			}
			if have := up.last(); have != want {
				t.Errorf("scrape %d: want Authorization %q, have %q", i, want, have)
			}
		}
	}
}

// TestRedirects: a redirect to the same host is followed with the
// credentials; one to another host is refused rather than hand them over.
func TestRedirects(t *testing.T) {
	other := &recorder{}
	elsewhere := httptest.NewServer(other)
	defer elsewhere.Close()
	same := &recorder{}
	mux := http.NewServeMux()
	mux.Handle("/metrics", same)
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/metrics", http.StatusFound) })
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/metrics", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "token")
	write(t, token, "secret")

	if _, err := scrape(newExporter(t, Config{URL: srv.URL + "/moved", BearerTokenFile: token}), source.Request{}); err != nil {
		t.Errorf("same host: want the redirect followed, have %v", err)
	}
	if have := same.last(); have != "Bearer secret" {
		t.Errorf("same host: want the token, have %q", have)
	}
	_, err := scrape(newExporter(t, Config{URL: srv.URL + "/away", BearerTokenFile: token}), source.Request{})
	if err == nil || !strings.Contains(err.Error(), "redirect to another host") {
		t.Errorf("another host: want the redirect refused, have %v", err)
	}
	if len(other.auth) != 0 {
		t.Errorf("another host: want no request, have %d (Authorization %q)", len(other.auth), other.last())
	}
	if _, err := scrape(newExporter(t, Config{URL: srv.URL + "/away"}), source.Request{}); err != nil {
		t.Errorf("another host, no credentials: want the redirect followed, have %v", err)
	}
}

// TestTLSFiles: the upstream's certificate is trusted through ca_file only.
func TestTLSFiles(t *testing.T) {
	srv := httptest.NewTLSServer(&recorder{})
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	write(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))

	if body, err := scrape(newExporter(t, Config{URL: srv.URL, TLS: TLS{CAFile: ca}}), source.Request{}); err != nil || body != "up 1\n" {
		t.Errorf("with ca_file: want up 1, have %q %v", body, err)
	}
	_, err := scrape(newExporter(t, Config{URL: srv.URL}), source.Request{})
	if source.ReasonOf(err) != source.ReasonRefused || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without ca_file: want refused for the certificate, have %v", err)
	}
}

// TestNewMissingFiles: a file the section names must be readable (and a CA
// file hold a certificate) now, so a reload that names a bad one is refused.
func TestNewMissingFiles(t *testing.T) {
	dir := t.TempDir()
	missing, garbage := filepath.Join(dir, "missing"), filepath.Join(dir, "garbage")
	write(t, garbage, "not PEM")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://x/", TLS: TLS{CAFile: missing}}, "tls.ca_file: open " + missing + ": no such file or directory"},
		{Config{URL: "http://x/", TLS: TLS{CertFile: missing, KeyFile: missing}}, "tls.cert_file: open " + missing + ": no such file or directory"},
		{Config{URL: "http://x/", BasicAuth: BasicAuth{Username: "u", PasswordFile: missing}}, "basic_auth.password_file: open " + missing + ": no such file or directory"},
		{Config{URL: "http://x/", BearerTokenFile: missing}, "bearer_token_file: open " + missing + ": no such file or directory"},
		{Config{URL: "http://x/", TLS: TLS{CAFile: garbage}}, "tls: unable to use specified CA cert file " + garbage},
	} {
		_, err := New(tc.cfg)
		if err == nil || err.Error() != tc.want {
			t.Errorf("want %q, have %v", tc.want, err)
		}
	}
}

// TestValidate: every problem of the exporter's own keys, each under its key.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://x/"}, ""},
		{Config{}, "url: missing"},
		{Config{URL: "ftp://x/"}, `url: "ftp://x/" must be an absolute http or https URL`},
		{Config{URL: "http://x/", TLS: TLS{CertFile: "c"}}, "tls: cert_file and key_file go together"},
		{Config{URL: "http://x/", BasicAuth: BasicAuth{Username: "u"}}, "basic_auth.password_file: missing (passwords are only read from files)"},
		{Config{URL: "http://x/", BasicAuth: BasicAuth{PasswordFile: "p"}}, "basic_auth.username: missing"},
		{Config{URL: "http://x/", BasicAuth: BasicAuth{Username: "u", PasswordFile: "p"}, BearerTokenFile: "t"}, "bearer_token_file: give basic_auth or bearer_token_file, not both"},
	} {
		tc.cfg.Defaults()
		have := ""
		if err := tc.cfg.Validate(); err != nil {
			have = err.Error()
		}
		if have != tc.want {
			t.Errorf("%+v: want %q, have %q", tc.cfg, tc.want, have)
		}
	}
}
