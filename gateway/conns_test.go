package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/internal/testkit"
)

// serveConns serves g on a real port with the server's own settings
// (ConnState included) and a header timeout long enough that no silent
// connection leaves on its own during the test.
func serveConns(t *testing.T, g *Gateway) string {
	t.Helper()
	return serveConnsWeb(t, g, "")
}

// serveConnsWeb is serveConns with exporter-toolkit's web config file
// webConfig (empty: none).
func serveConnsWeb(t *testing.T, g *Gateway, webConfig string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(g, ServerOptions{ReadHeaderTimeout: time.Minute, WebConfigFile: webConfig})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return l.Addr().String()
}

// silent opens a connection that sends nothing, from 127.0.0.1 or from
// another loopback address.
func silent(t *testing.T, addr string, from ...string) net.Conn {
	t.Helper()
	var d net.Dialer
	if len(from) > 0 {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from[0])}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// requested is how many open connections have sent a request.
func (cs *conns) requested() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	n := 0
	for _, e := range cs.all {
		if !e.shut && e.in != &e.peer.fresh {
			n++
		}
	}
	return n
}

// closedByServer tells whether c was closed by the other end: a read
// returns at once with EOF or a reset rather than timing out.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestConnectionLimit: connections past max_connections push out the one
// waiting longest without a request, never a request at work; a scrape
// still gets through, and the open connections stay at the limit.
func TestConnectionLimit(t *testing.T) {
	const max, flood = 8, 60
	reg := prometheus.NewRegistry()
	slow := &fakeSource{body: "slow 1\n", started: make(chan struct{}), release: make(chan struct{})}
	g := New(Options{Registry: reg, MaxConnections: max})
	g.SetModules([]Module{{Name: "slow", Kind: "file", Source: slow}})
	addr := serveConns(t, g)

	// A scrape at work on the first connection.
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/proxy?module=slow")
		if err != nil {
			answer <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	<-slow.started

	// A flood of connections that send nothing.
	conns := make([]net.Conn, flood)
	for i := range conns {
		conns[i] = silent(t, addr)
	}
	testkit.Eventually(t, "the flood pushed out all but the newest", func() bool {
		return g.conns.open() == max && testutil.ToFloat64(g.conns.shed) == flood+1-max
	})
	// The oldest silent connections were closed, the newest kept.
	if !closedByServer(conns[0]) {
		t.Error("the longest-waiting silent connection is still open")
	}
	// A scraper gets through: its connection pushes out a silent one.
	resp, err := http.Get("http://" + addr + "/-/healthy")
	if err != nil {
		t.Fatalf("a new client during the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a new client during the flood: want 200, have %d", resp.StatusCode)
	}
	// The scrape at work was never pushed out.
	close(slow.release)
	if have := <-answer; have != "200 slow 1\n" {
		t.Errorf("the scrape at work during the flood: want 200, have %q", have)
	}
	if open := g.conns.open(); open > max {
		t.Errorf("open connections: want at most %d, have %d", max, open)
	}

	// A reload lowers the limit: the next connections bring them to it.
	g.SetAccess(Options{MaxConnections: 2})
	for range 4 {
		silent(t, addr)
	}
	testkit.Eventually(t, "open connections down to the new limit", func() bool { return g.conns.open() <= 2 })
}

// TestConnectionLimitAllBusy: when every other connection has a request at
// work, a new connection past the limit is the one closed.
func TestConnectionLimitAllBusy(t *testing.T) {
	slow := &fakeSource{body: "slow 1\n", started: make(chan struct{}), release: make(chan struct{})}
	g := New(Options{Registry: prometheus.NewRegistry(), MaxConnections: 1})
	g.SetModules([]Module{{Name: "slow", Kind: "file", Source: slow}})
	addr := serveConns(t, g)
	answer := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/proxy?module=slow")
		if err != nil {
			answer <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	<-slow.started
	if !closedByServer(silent(t, addr)) {
		t.Error("a connection past the limit stayed open while the only other one was at work")
	}
	close(slow.release)
	if have := <-answer; have != 200 {
		t.Errorf("the scrape at work: want 200, have %d", have)
	}
	testkit.Eventually(t, "the closed connection counted out", func() bool { return g.conns.open() <= 1 })
}

// TestConnectionLimitKeepsScrapers: a client flooding the port with
// silent connections pushes out only its own, from another address or
// from the scraper's own: a scraper's keep-alive connection, idle between
// its scrapes, is kept.
func TestConnectionLimitKeepsScrapers(t *testing.T) {
	const max = 8
	for _, from := range []string{"127.0.0.2", "127.0.0.1"} {
		g := New(Options{Registry: prometheus.NewRegistry(), MaxConnections: max})
		g.SetModules([]Module{{Name: "app", Kind: "file", Source: &fakeSource{body: "app 1\n"}}})
		addr := serveConns(t, g)
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		scrape := func() (status int, reused bool) {
			req, _ := http.NewRequest("GET", "http://"+addr+"/proxy?module=app", nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
			}))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode, reused
		}
		if status, _ := scrape(); status != 200 {
			t.Fatalf("first scrape: want 200, have %d", status)
		}
		for round := range 3 {
			for range 2 * max {
				silent(t, addr, from)
			}
			testkit.Eventually(t, "the flood pushed out its own", func() bool { return g.conns.open() == max })
			status, reused := scrape()
			if status != 200 || !reused {
				t.Errorf("flood from %s, round %d: the scraper's idle connection: want 200 on the same connection, have %d, reused %v", from, round, status, reused)
			}
		}
	}
}

// TestConnectionCap: max_connections never passes half the files corral
// may open, so that a flood of connections leaves files for its children,
// sources and listener.
func TestConnectionCap(t *testing.T) {
	var was syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &was); err != nil {
		t.Fatal(err)
	}
	low := was
	low.Cur = 600
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	g := New(Options{Registry: prometheus.NewRegistry(), MaxConnections: 1000})
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &was); err != nil {
		t.Fatal(err)
	}
	if have := g.access.Load().maxConns; have != 300 {
		t.Errorf("max_connections 1000 with 600 files: want 300, have %d", have)
	}
	g.SetAccess(Options{MaxConnections: 100})
	if have := g.access.Load().maxConns; have != 100 {
		t.Errorf("max_connections 100: want 100, have %d", have)
	}
}

// TestOwnClosesNotLogged: the server's log leaves out connections corral
// closed itself, and keeps the rest.
func TestOwnClosesNotLogged(t *testing.T) {
	var buf bytes.Buffer
	l := slog.NewLogLogger(ownCloses{slog.NewTextHandler(&buf, nil)}, slog.LevelWarn)
	l.Print("http: TLS handshake error from 127.0.0.1:1: read tcp 127.0.0.1:2->127.0.0.1:1: use of closed network connection")
	l.Print("http: TLS handshake error from 127.0.0.1:1: EOF")
	if have := buf.String(); strings.Contains(have, "closed network") || !strings.Contains(have, "EOF") {
		t.Errorf("server log: want only the EOF line, have %q", have)
	}
}

// TestRefusalsCloseAtOnce: a request refused before any endpoint (403,
// 401, 413) that announces a body it never sends gets its answer and has
// its connection closed at once. net/http would otherwise wait for that
// body until ReadTimeout (here 80 s) before answering, the connection
// counted as a request in progress all that time.
func TestRefusalsCloseAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		path string
		want string
	}{
		{"forbidden", Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}, "/metrics", "HTTP/1.1 403 "},
		{"unauthorized", Options{BearerToken: "s3cret"}, "/metrics", "HTTP/1.1 401 "},
		{"body", Options{}, "/-/healthy", "HTTP/1.1 413 "},
		{"body, allowed", Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, "/-/ready", "HTTP/1.1 413 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Registry = prometheus.NewRegistry()
			addr := serveConns(t, New(tc.opts))
			c := silent(t, addr)
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: corral\r\nContent-Length: 100\r\n\r\n", tc.path)
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			start := time.Now()
			answer, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("want the answer and the connection closed within 20 s, have %q after %v: %v", answer, time.Since(start).Round(time.Millisecond), err)
			}
			if have := string(answer); !strings.HasPrefix(have, tc.want) || !strings.Contains(have, "\r\nConnection: close\r\n") {
				t.Errorf("want %q with Connection: close, have %q", tc.want, have)
			}
		})
	}
}

// TestConnectionLimitRefusedNotAtWork: a request refused before an
// endpoint works on it leaves its connection one that may be closed to
// make room, however long net/http takes over it; so clients refused that
// way, filling max_connections, do not shut out an allowed one.
// exporter-toolkit's basic auth answers 401 only once a body the client
// announced has come (or ReadTimeout, here 80 s, has passed); corral's own
// refusals end at once, and their connections may be closed meanwhile.
func TestConnectionLimitRefusedNotAtWork(t *testing.T) {
	const max = 4
	web := filepath.Join(t.TempDir(), "web.yml")
	// bcrypt of "pw", cost 4.
	if err := os.WriteFile(web, []byte("basic_auth_users:\n  prom: $2a$04$2VXGdRVaSKnMWeL6dXgbhOeJUYMKmy2NYwxaPZyK9W1/2MTisc5Bm\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		opts    Options
		web     string
		refused func(g *Gateway) bool // every request of the flood seen
	}{
		{"basic auth", Options{}, web, func(g *Gateway) bool { return g.conns.requested() == max }},
		{"allow_networks", Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}, "",
			func(g *Gateway) bool { return testutil.ToFloat64(g.lim.refusals.WithLabelValues("forbidden")) == max }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Registry, tc.opts.MaxConnections = prometheus.NewRegistry(), max
			g := New(tc.opts)
			addr := serveConnsWeb(t, g, tc.web)
			for range max {
				fmt.Fprintf(silent(t, addr), "GET /metrics HTTP/1.1\r\nHost: corral\r\nContent-Length: 100\r\n\r\n")
			}
			testkit.Eventually(t, "every refused request seen", func() bool { return tc.refused(g) })

			client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}, Timeout: 20 * time.Second}
			defer client.CloseIdleConnections()
			req, _ := http.NewRequest("GET", "http://"+addr+"/-/ready", nil)
			req.SetBasicAuth("prom", "pw")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("an allowed client: want 200, have %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("an allowed client: want 200, have %d", resp.StatusCode)
			}
		})
	}
}

// TestConnectionLimitLongPolls: a connection only waiting in a long poll
// of a process's output counts as idle: one address filling
// max_connections with long polls does not shut out another client, one of
// its polls is closed instead, and ends.
func TestConnectionLimitLongPolls(t *testing.T) {
	const max = 8
	g := New(Options{Registry: prometheus.NewRegistry(), MaxConnections: max, Controller: newFakeController("app")})
	addr := serveConns(t, g)
	polls := make([]net.Conn, max)
	for i := range polls {
		polls[i] = silent(t, addr)
		fmt.Fprintf(polls[i], "GET /-/processes/app/output?after=999&wait=25s HTTP/1.1\r\nHost: corral\r\n\r\n")
	}
	// Within their 25 s: after it they answer, and are idle anyway.
	testkit.Within(t, 15*time.Second, "every long poll waiting, as idle", func() (bool, string) {
		g.conns.mu.Lock()
		defer g.conns.mu.Unlock()
		p := g.conns.peers[netip.MustParseAddr("127.0.0.1")]
		return p != nil && p.idle.Len() == max, ""
	})

	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}, Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + addr + "/-/healthy")
	if err != nil {
		t.Fatalf("another client: want 200, have %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("another client: want 200, have %d", resp.StatusCode)
	}
	if have := testutil.ToFloat64(g.conns.shed); have != 1 {
		t.Errorf("connections shed: want 1, have %v", have)
	}
	testkit.Eventually(t, "the long poll closed ended", func() bool {
		g.conns.mu.Lock()
		defer g.conns.mu.Unlock()
		return g.conns.peers[netip.MustParseAddr("127.0.0.1")].held == max-1
	})
}
