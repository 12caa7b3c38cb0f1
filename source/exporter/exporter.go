// Package exporter is the HTTP source: an [exporter.NAME] section scraped
// with a client of its own, built on prometheus/common's HTTPClientConfig
// (TLS files, basic auth with a password file, a bearer token file, each
// re-read by the client when it changes, with no reload).
package exporter

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/config"

	"github.com/corral-metrics/corral/source"
)

// acceptText is what an exporter is asked for when the request names no format.
const acceptText = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// maxRedirects is how many redirects a scrape follows, as net/http's default.
const maxRedirects = 10

// Exporter is an HTTP source. It has a client (and connection pool) of its own.
type Exporter struct {
	url     *url.URL
	timeout time.Duration
	headers http.Header
	client  *http.Client
	listing source.ExpexpModule
}

// New makes the source of an [exporter] section that passed Validate. It
// reads every file the section names once now, so a reload with a missing
// file is refused; the client re-reads them as they change afterwards.
func New(cfg Config) (*Exporter, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	for _, f := range []struct{ key, path string }{
		{"tls.ca_file", cfg.TLS.CAFile},
		{"tls.cert_file", cfg.TLS.CertFile},
		{"tls.key_file", cfg.TLS.KeyFile},
		{"basic_auth.password_file", cfg.BasicAuth.PasswordFile},
		{"bearer_token_file", cfg.BearerTokenFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.ReadFile(f.path); err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
	}
	hc := cfg.httpClient()
	// Validate also moves bearer_token_file into Authorization, as
	// prometheus/common does for every client.
	if err := hc.Validate(); err != nil {
		return nil, err
	}
	client, err := config.NewClientFromConfig(hc, string(Kind), config.WithIdleConnTimeout(90*time.Second))
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	e := &Exporter{url: u, timeout: cfg.Timeout.Std(), headers: make(http.Header), client: client, listing: expexpOf(cfg, u)}
	for k, v := range cfg.Headers {
		e.headers.Set(k, v)
	}
	// A redirect to another host would take the configured credentials
	// (added by the client's round trippers on every request) and headers
	// with it: it is refused instead.
	credentials := cfg.BasicAuth.Username != "" || cfg.BearerTokenFile != "" || len(cfg.Headers) > 0
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if credentials && req.URL.Host != via[0].URL.Host {
			return fmt.Errorf("redirect to another host (%s) refused: the credentials would follow", req.URL.Host)
		}
		return nil
	}
	return e, nil
}

// httpClient is the section's client in prometheus/common's terms; the
// README lists the mapping of each key.
func (c *Config) httpClient() config.HTTPClientConfig {
	hc := config.HTTPClientConfig{
		FollowRedirects: true,
		EnableHTTP2:     true,
		TLSConfig: config.TLSConfig{
			CAFile:             c.TLS.CAFile,
			CertFile:           c.TLS.CertFile,
			KeyFile:            c.TLS.KeyFile,
			ServerName:         c.TLS.ServerName,
			InsecureSkipVerify: c.TLS.InsecureSkipVerify,
			MinVersion:         config.TLSVersion(tls.VersionTLS12),
		},
		BearerTokenFile: c.BearerTokenFile,
		// ProxyConfig left empty: an appliance's exporters are local, never
		// reached through HTTP_PROXY.
	}
	if c.BasicAuth.Username != "" {
		hc.BasicAuth = &config.BasicAuth{Username: c.BasicAuth.Username, PasswordFile: c.BasicAuth.PasswordFile}
	}
	return hc
}

// Target is the URL scraped, without userinfo or query (either may hold a
// secret), for the landing page and corral check.
func (e *Exporter) Target() string {
	u := *e.url
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Scrape asks the upstream for its metrics. The request's params are added
// to the URL's query, except any key the configured URL already sets (the
// operator's query wins); the gateway has taken out the module that named
// this source, so a module left is the upstream's own (blackbox, snmp). Accept and Accept-Encoding are forwarded;
// nothing else of the client's request is, its Authorization and cookies
// least of all.
func (e *Exporter) Scrape(ctx context.Context, req source.Request) (*source.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, e.requestURL(req.Params), nil)
	if err != nil {
		cancel()
		return nil, source.Fail(source.ReasonParams, err)
	}
	hreq.Header = e.headers.Clone()
	hreq.Header.Set("Accept", cmp.Or(req.Accept, acceptText))
	if req.AcceptEncoding != "" {
		// Set by hand, the transport leaves the body compressed: it passes through.
		hreq.Header.Set("Accept-Encoding", req.AcceptEncoding)
	}
	hreq.Header.Set("User-Agent", "corral")
	if d, ok := ctx.Deadline(); ok {
		if secs := time.Until(d).Seconds(); secs > 0 {
			hreq.Header.Set(source.TimeoutHeader, fmt.Sprintf("%.3f", secs))
		}
	}
	resp, err := e.client.Do(hreq)
	if err != nil {
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, source.Fail(source.ReasonTimeout, fmt.Errorf("%s: no answer in time: %w", e.Target(), context.DeadlineExceeded))
		}
		return nil, source.Fail(source.ReasonRefused, unwrapURLError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		resp.Body.Close()
		cancel()
		msg := fmt.Sprintf("%s answered %s", e.Target(), resp.Status)
		if s := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?")); s != "" {
			msg += ": " + s
		}
		return nil, source.Fail(source.ReasonStatus, errors.New(msg))
	}
	return &source.Response{
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
