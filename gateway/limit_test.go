package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/source"
)

// gatedSource answers only when released; it tells when a scrape arrived.
type gatedSource struct {
	arrived chan struct{}
	release chan struct{}
}

func (b *gatedSource) Scrape(ctx context.Context, _ source.Request) (*source.Response, error) {
	b.arrived <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &source.Response{ContentType: textContentType, Body: io.NopCloser(strings.NewReader("up 1\n"))}, nil
}

func TestMaxConcurrentScrapes(t *testing.T) {
	const limit = 3
	src := &gatedSource{arrived: make(chan struct{}, limit), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	g := New(Options{Registry: reg, MaxConcurrentScrapes: limit})
	g.SetModules([]Module{{Name: "slow", Kind: "exporter", Merge: true, Verify: true, Source: src}})
	_, base := newTestGatewayFor(t, g)

	var wg sync.WaitGroup
	statuses := make(chan int, limit)
	for i := range limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/proxy?module=slow"
			if i == 0 {
				path = "/metrics"
			}
			resp, err := http.Get(base + path)
			if err != nil {
				statuses <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	for range limit {
		select {
		case <-src.arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("the first scrapes never reached the source")
		}
	}
	for _, tc := range []struct {
		path       string
		timeout    string // X-Prometheus-Scrape-Timeout-Seconds
		wantStatus int
	}{
		{"/proxy?module=slow", "", 503},
		// Too short to join the /metrics in flight (see flight.go): it needs
		// a slot of its own.
		{"/metrics", "2", 503},
		{"/-/healthy", "", 200}, // not a scrape
		{"/-/ready", "", 200},
	} {
		start := time.Now()
		req, _ := http.NewRequest("GET", base+tc.path, nil)
		if tc.timeout != "" {
			req.Header.Set(TimeoutHeader, tc.timeout)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if took := time.Since(start); resp.StatusCode != tc.wantStatus || took > 5*time.Second {
			t.Errorf("%s with %d scrapes in flight: want %d within 5s, have %d %q after %s", tc.path, limit, tc.wantStatus, resp.StatusCode, body, took)
		}
	}
	close(src.release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("a scrape in flight: want 200, have %d", s)
		}
	}
	if have := testutil.ToFloat64(g.lim.refusals.WithLabelValues("busy")); have != 2 {
		t.Errorf("corral_http_requests_refused_total{reason=busy}: want 2, have %v", have)
	}
	// Slots are given back: the next scrape passes.
	src2 := &gatedSource{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	close(src2.release)
	g.SetModules([]Module{{Name: "slow", Kind: "exporter", Merge: true, Verify: true, Source: src2}})
	resp, err := http.Get(base + "/proxy?module=slow")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("after the scrapes ended: want 200, have %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}

func TestFileSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	write := func(s string) {
		// A new file renamed over the old one, as a secret manager does.
		tmp := filepath.Join(dir, "token.new")
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("first\n")
	s, err := NewFileSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }

	for i, tc := range []struct {
		change  func()
		advance time.Duration
		refresh bool
		want    string // "" is no secret: deny
	}{
		{nil, 0, false, "first"},
		{func() { write("second") }, 0, false, "first"},                // not looked at again within a second
		{nil, time.Second, false, "second"},                            // looked at, changed
		{func() { write("  third \n") }, 0, true, "third"},             // reload: at once
		{func() { write("") }, time.Second, false, ""},                 // empty: deny
		{func() { write("fourth") }, time.Second, false, "fourth"},     // good again
		{func() { os.Remove(path) }, time.Second, false, ""},           // missing: deny
		{func() { os.Mkdir(path, 0o700) }, time.Second, false, ""},     // not a file: deny
		{func() { os.Remove(path); write("fifth") }, 0, true, "fifth"}, // back
		{func() { os.Chmod(path, 0) }, 0, true, chmodDenied("fifth")},  // unreadable (root reads anyway)
		{func() { write(strings.Repeat("x", 100<<10)) }, 0, true, ""},  // too large
		{func() { write("sixth") }, -time.Hour, false, "sixth"},        // clock went back: look again
	} {
		if tc.change != nil {
			tc.change()
		}
		now = now.Add(tc.advance)
		if tc.refresh {
			s.Refresh()
		}
		if have := string(s.Value()); have != tc.want {
			t.Errorf("step %d: want %q, have %q", i, tc.want, have)
		}
	}
	if _, err := NewFileSecret(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file at start: want an error, have none")
	}
	os.WriteFile(filepath.Join(dir, "blank"), []byte(" \n\t"), 0o600)
	if _, err := NewFileSecret(filepath.Join(dir, "blank")); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("blank file at start: want an error naming it empty, have %v", err)
	}
	var none *FileSecret
	none.Refresh()
	if none.Value() != nil {
		t.Error("nil FileSecret: want no value")
	}
}

// chmodDenied is what a secret made unreadable reads as: nothing, unless
// the test runs as root, which reads it anyway.
func chmodDenied(asRoot string) string {
	if os.Geteuid() == 0 {
		return asRoot
	}
	return ""
}

func TestBearerTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	os.WriteFile(path, []byte("s3cret\n"), 0o600)
	tok, err := NewFileSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	reloads := 0
	g := New(Options{BearerTokenFile: tok, Reload: func() error { reloads++; return nil }})
	_, base := newTestGatewayFor(t, g)
	do := func(method, path, token string) int {
		req, _ := http.NewRequest(method, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, tc := range []struct {
		before     func()
		method     string
		path       string
		token      string
		wantStatus int
	}{
		{nil, "GET", "/metrics", "Bearer s3cret", 200},
		{nil, "GET", "/metrics", "bearer s3cret", 200},
		{nil, "GET", "/metrics", "Bearer s3cre", 401},
		{nil, "GET", "/metrics", "Bearer s3cretX", 401},
		{nil, "GET", "/metrics", "s3cret", 401},
		{nil, "GET", "/metrics", "Basic czNjcmV0", 401},
		{nil, "GET", "/", "", 401},
		{nil, "GET", "/proxy?module=x", "", 401},
		{nil, "GET", "/-/ready", "", 401},
		{nil, "POST", "/-/reload", "", 401},
		{nil, "GET", "/-/healthy", "", 200},
		// Rotated, then a reload: the new token at once, the old one refused.
		{func() { os.WriteFile(path, []byte("rotated-token"), 0o600) }, "POST", "/-/reload", "Bearer s3cret", 200},
		{nil, "GET", "/metrics", "Bearer rotated-token", 200},
		{nil, "GET", "/metrics", "Bearer s3cret", 401},
		// Emptied: everything denied, nothing opened.
		{func() { os.WriteFile(path, nil, 0o600); tok.Refresh() }, "GET", "/metrics", "Bearer rotated-token", 401},
		{nil, "GET", "/metrics", "Bearer ", 401},
		{nil, "GET", "/metrics", "", 401},
		{func() { os.Remove(path); tok.Refresh() }, "GET", "/metrics", "Bearer ", 401},
		{nil, "GET", "/-/healthy", "", 200},
	} {
		if tc.before != nil {
			tc.before()
		}
		if have := do(tc.method, tc.path, tc.token); have != tc.wantStatus {
			t.Errorf("step %d: %s %s with %q: want %d, have %d", i, tc.method, tc.path, tc.token, tc.wantStatus, have)
		}
	}
	if reloads != 1 {
		t.Errorf("reloads: want 1, have %d", reloads)
	}
}

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")}
	for _, tc := range []struct {
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string // "" is not ok
	}{
		{"192.0.2.7:1234", nil, nil, "192.0.2.7"},
		{"[::ffff:192.0.2.7]:1234", nil, nil, "192.0.2.7"},
		{"[fe80::1%eth0]:1234", nil, nil, "fe80::1"},
		{"garbage", nil, nil, ""},
		// Not trusted by default: the header is ignored.
		{"127.0.0.1:1", []string{"10.9.9.9"}, nil, "127.0.0.1"},
		// From a trusted proxy: the rightmost untrusted hop.
		{"127.0.0.1:1", []string{"10.9.9.9"}, proxies, "10.9.9.9"},
		{"127.0.0.1:1", []string{"6.6.6.6, 192.0.2.1, 10.1.2.3"}, proxies, "192.0.2.1"},
		{"127.0.0.1:1", []string{"6.6.6.6", "192.0.2.1"}, proxies, "192.0.2.1"},
		{"127.0.0.1:1", []string{"10.1.0.9"}, proxies, "10.1.0.9"}, // all trusted: the leftmost
		{"127.0.0.1:1", nil, proxies, "127.0.0.1"},                 // no header: the proxy itself
		{"127.0.0.1:1", []string{"unknown"}, proxies, ""},          // not an address: deny
		{"127.0.0.1:1", []string{"192.0.2.1,"}, proxies, ""},       // empty hop: deny
		{"127.0.0.1:1", []string{strings.Repeat("1.2.3.4,", 70)}, proxies, ""},
		{"192.0.2.9:1", []string{"127.0.0.1"}, proxies, "192.0.2.9"}, // peer not a proxy
		// Some proxies write the client's port: it is not part of the address.
		{"127.0.0.1:1", []string{"192.0.2.1:4711"}, proxies, "192.0.2.1"},
		{"127.0.0.1:1", []string{"[2001:db8::1]:4711, 10.1.2.3:80"}, proxies, "2001:db8::1"},
		{"127.0.0.1:1", []string{"192.0.2.1:port"}, proxies, ""},
	} {
		addr, ok := ClientAddr(tc.remote, tc.xff, tc.trusted)
		have := ""
		if ok {
			have = addr.String()
		}
		if have != tc.want {
			t.Errorf("remote %s, X-Forwarded-For %q, trusted %v: want %q, have %q", tc.remote, tc.xff, tc.trusted, tc.want, have)
		}
	}
}

func TestAllowNetworksWithTrustedProxies(t *testing.T) {
	g := New(Options{
		AllowNetworks:  []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	_, base := newTestGatewayFor(t, g)
	plain := New(Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	_, plainBase := newTestGatewayFor(t, plain)
	for _, tc := range []struct {
		base, xff  string
		wantStatus int
	}{
		{base, "", 403},
		{base, "192.0.2.5", 200},
		{base, "198.51.100.1", 403},
		{base, "192.0.2.5, 198.51.100.1", 403}, // the client is the rightmost untrusted
		{base, "nonsense", 403},
		{plainBase, "192.0.2.5", 403}, // X-Forwarded-For is not trusted by default
	} {
		req, _ := http.NewRequest("GET", tc.base+"/-/ready", nil)
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("X-Forwarded-For %q (trusted proxies: %v): want %d, have %d", tc.xff, tc.base == base, tc.wantStatus, resp.StatusCode)
		}
	}
}

func TestWebConfigLimits(t *testing.T) {
	for _, tc := range []struct {
		cfg  WebConfig
		want string
	}{
		{WebConfig{}, ""},
		{WebConfig{MaxConcurrentScrapes: -1}, "max_concurrent_scrapes: must be positive"},
		{WebConfig{MaxConnections: -1}, "max_connections: must be positive"},
		{WebConfig{TrustedProxies: []string{"10.0.0.0/8"}}, "trusted_proxies: only used with allow_networks"},
		{WebConfig{AllowNetworks: []string{"10.0.0.0/8"}, TrustedProxies: []string{"nope"}}, "trusted_proxies[0]"},
		{WebConfig{AllowNetworks: []string{"10.0.0.0/8"}, TrustedProxies: []string{"127.0.0.1/32"}}, ""},
	} {
		tc.cfg.Defaults()
		err := tc.cfg.Validate()
		have := fmt.Sprint(err)
		if (tc.want == "") != (err == nil) || tc.want != "" && !strings.Contains(have, tc.want) {
			t.Errorf("%+v: want %q, have %v", tc.cfg, tc.want, err)
		}
	}
	var c WebConfig
	c.Defaults()
	if c.MaxConcurrentScrapes != DefaultMaxConcurrentScrapes {
		t.Errorf("default max_concurrent_scrapes: want %d, have %d", DefaultMaxConcurrentScrapes, c.MaxConcurrentScrapes)
	}
	if c.MaxConnections != DefaultMaxConnections {
		t.Errorf("default max_connections: want %d, have %d", DefaultMaxConnections, c.MaxConnections)
	}
}

// TestSetAccess: access control and limits change at once, without a
// restart: a reload calls SetAccess.
func TestSetAccess(t *testing.T) {
	g := New(Options{Registry: prometheus.NewRegistry()})
	g.SetModules([]Module{{Name: "app", Kind: "file", Verify: true, Source: &fakeSource{body: "app 1\n"}}})
	_, base := newTestGatewayFor(t, g)
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := NewFileSecret(tokFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what       string
		opts       Options
		auth       string
		wantStatus int
	}{
		{"open", Options{}, "", 200},
		{"allow_networks without the client", Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, "", 403},
		{"allow_networks with the client", Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "", 200},
		{"bearer_token_file, no token", Options{BearerTokenFile: tok}, "", 401},
		{"bearer_token_file, the token", Options{BearerTokenFile: tok}, "Bearer s3cret", 200},
		{"no slot at all", Options{MaxConcurrentScrapes: -1}, "", 200},
		{"open again", Options{}, "", 200},
	} {
		g.SetAccess(tc.opts)
		req, _ := http.NewRequest("GET", base+"/proxy?module=app", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("%s: want %d, have %d", tc.what, tc.wantStatus, resp.StatusCode)
		}
	}
}

// TestSetAccessChoices: a reload changes default_module and
// external_address at once, as it does the access control.
func TestSetAccessChoices(t *testing.T) {
	g := New(Options{Registry: prometheus.NewRegistry(), DefaultModule: "a", ExternalAddress: "before:1"})
	g.SetModules([]Module{
		{Name: "a", Kind: "file", Verify: true, Source: &fakeSource{body: "a 1\n"}},
		{Name: "b", Kind: "file", Verify: true, Source: &fakeSource{body: "b 1\n"}},
	})
	_, base := newTestGatewayFor(t, g)
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	for _, tc := range []struct {
		what          string
		opts          Options
		proxy, sdAddr string
	}{
		{"as started", Options{DefaultModule: "a", ExternalAddress: "before:1"}, "200 a 1\n", `"before:1"`},
		{"reloaded", Options{DefaultModule: "b", ExternalAddress: "after:2"}, "200 b 1\n", `"after:2"`},
		{"both unset", Options{}, "400 missing module parameter; known modules: a, b\n", strings.TrimPrefix(base, "http://")},
	} {
		g.SetAccess(tc.opts)
		if have := get("/proxy"); have != tc.proxy {
			t.Errorf("%s: /proxy without module: want %q, have %q", tc.what, tc.proxy, have)
		}
		if have := get("/-/sd"); !strings.HasPrefix(have, "200 ") || !strings.Contains(have, tc.sdAddr) {
			t.Errorf("%s: /-/sd: want 200 with %s, have %q", tc.what, tc.sdAddr, have)
		}
	}
}

func TestRestartKeys(t *testing.T) {
	var base WebConfig
	base.Defaults()
	for _, tc := range []struct {
		edit func(*WebConfig)
		want string
	}{
		{func(c *WebConfig) {}, ""},
		{func(c *WebConfig) { c.AllowNetworks = []string{"10.0.0.0/8"} }, ""},
		{func(c *WebConfig) { c.BearerTokenFile = "/run/secrets/t" }, ""},
		{func(c *WebConfig) { c.TrustedProxies = []string{"10.0.0.0/8"} }, ""},
		{func(c *WebConfig) { c.MaxConcurrentScrapes = 3 }, ""},
		{func(c *WebConfig) { c.MaxInflightBytes = 1 << 20 }, ""},
		{func(c *WebConfig) { c.DefaultModule = "node" }, ""},
		{func(c *WebConfig) { c.ExternalAddress = "corral:9999" }, ""},
		{func(c *WebConfig) { c.ListenAddress = ":1" }, "listen_address"},
		{func(c *WebConfig) { c.WebConfigFile = "web.yml"; c.MergeLabel = "job" }, "web_config_file merge_label"},
	} {
		c := base
		tc.edit(&c)
		if have := strings.Join(RestartKeys(base, c), " "); have != tc.want {
			t.Errorf("%+v: want %q, have %q", c, tc.want, have)
		}
	}
}

func TestCheckWebConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// bcrypt of "pw", cost 4.
	users := write("users.yml", "basic_auth_users:\n  prom: $2a$04$6GOd8bU6cCM0ncJ8vi3tJ.eJJz1h8o7IY0YGjHmXRdrjs6jKRh5O6\n")
	none := write("none.yml", "http_server_config:\n  http2: true\n")
	for _, tc := range []struct {
		path   string
		bearer bool
		want   string
	}{
		{"", true, ""},
		{none, true, ""},
		{users, false, ""},
		{users, true, "both use the Authorization header"},
		{write("bad.yml", "nope: [\n"), false, "web config file"},
	} {
		err := CheckWebConfig(tc.path, tc.bearer)
		if have := fmt.Sprint(err); (tc.want == "") != (err == nil) || !strings.Contains(have, tc.want) {
			t.Errorf("%s, bearer %v: want %q, have %v", filepath.Base(tc.path), tc.bearer, tc.want, err)
		}
	}
}
