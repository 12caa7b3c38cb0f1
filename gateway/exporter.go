package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// acceptText is what an HTTP source asks for when the request names no format.
const acceptText = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// Exporter is an HTTP source: an [exporter.NAME] section. It has a client
// (and connection pool) of its own.
type Exporter struct {
	url      *url.URL
	timeout  time.Duration
	headers  http.Header
	user     string
	password string
	client   *http.Client
}

// NewExporter makes the source of an [exporter] section that passed
// Validate. It reads the TLS files and the basic-auth password file now, so
// a reload with a missing file is refused.
func NewExporter(cfg ExporterConfig) (*Exporter, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	tlsConfig, err := clientTLS(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	e := &Exporter{url: u, timeout: cfg.Timeout, headers: make(http.Header)}
	for k, v := range cfg.Headers {
		e.headers.Set(k, v)
	}
	if cfg.BasicAuth.Username != "" {
		pw, err := os.ReadFile(cfg.BasicAuth.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("basic_auth.password_file: %w", err)
		}
		e.user, e.password = cfg.BasicAuth.Username, strings.TrimRight(string(pw), "\r\n")
	}
	e.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // an appliance's exporters are local: never through HTTP_PROXY
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsConfig,
			TLSHandshakeTimeout:   5 * time.Second,
			MaxIdleConns:          4,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		// Redirects are followed within the same deadline; credentials are
		// dropped by net/http when the host changes.
	}
	return e, nil
}

func clientTLS(c TLSConfig) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: no PEM certificate in %s", c.CAFile)
		}
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Target is the URL scraped, without userinfo or query (either may hold a
// secret), for the landing page and corral check.
func (e *Exporter) Target() string {
	u := *e.url
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Scrape asks the upstream for its metrics. The request's params are added
// to the URL's query, except module and any key the configured URL already
// sets (the operator's query wins). Accept and Accept-Encoding are forwarded;
// nothing else of the client's request is.
func (e *Exporter) Scrape(ctx context.Context, req Request) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, e.requestURL(req.Params), nil)
	if err != nil {
		cancel()
		return nil, Fail(ReasonParams, err)
	}
	hreq.Header = e.headers.Clone()
	hreq.Header.Set("Accept", cmpOr(req.Accept, acceptText))
	if req.AcceptEncoding != "" {
		// Set by hand, the transport leaves the body compressed: it passes through.
		hreq.Header.Set("Accept-Encoding", req.AcceptEncoding)
	}
	hreq.Header.Set("User-Agent", "corral")
	if secs := time.Until(deadlineOf(ctx)).Seconds(); secs > 0 {
		hreq.Header.Set(TimeoutHeader, fmt.Sprintf("%.3f", secs))
	}
	if e.user != "" {
		hreq.SetBasicAuth(e.user, e.password)
	}
	resp, err := e.client.Do(hreq)
	if err != nil {
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, Fail(ReasonTimeout, fmt.Errorf("%s: no answer in time: %w", e.Target(), context.DeadlineExceeded))
		}
		return nil, Fail(ReasonRefused, unwrapURLError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		resp.Body.Close()
		cancel()
		msg := fmt.Sprintf("%s answered %s", e.Target(), resp.Status)
		if s := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?")); s != "" {
			msg += ": " + s
		}
		return nil, Fail(ReasonStatus, errors.New(msg))
	}
	return &Response{
		ContentType:     resp.Header.Get("Content-Type"),
		ContentEncoding: resp.Header.Get("Content-Encoding"),
		Body:            &cancelBody{ReadCloser: resp.Body, cancel: cancel},
	}, nil
}

func (e *Exporter) requestURL(params url.Values) string {
	if len(params) == 0 {
		return e.url.String()
	}
	q := e.url.Query()
	for k, vs := range params {
		if k == "module" {
			continue
		}
		if _, set := q[k]; set {
			continue
		}
		q[k] = vs
	}
	u := *e.url
	u.RawQuery = q.Encode()
	return u.String()
}

// unwrapURLError drops net/http's `Get "URL": ` prefix, which may carry the
// URL's userinfo.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// cancelBody releases the scrape's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
