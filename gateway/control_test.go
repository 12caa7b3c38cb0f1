package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corral-metrics/corral/supervisor/tail"
)

// fakeController records the actions asked of it and serves output from
// real tail buffers.
type fakeController struct {
	mu    sync.Mutex
	calls []string
	tails map[string]*tail.Buffer // "main" is the main process
}

func newFakeController(names ...string) *fakeController {
	f := &fakeController{tails: make(map[string]*tail.Buffer)}
	for _, n := range names {
		f.tails[n] = tail.New(200, 64<<10)
	}
	return f
}

func (f *fakeController) check(name string, main bool) error {
	if _, ok := f.tails[name]; !ok {
		known := slices.Sorted(func(yield func(string) bool) {
			for n := range f.tails {
				if !yield(n) {
					return
				}
			}
		})
		return &UnknownProcessError{Name: name, Known: known}
	}
	if main && name == "main" {
		return ErrMainProcess
	}
	return nil
}

func (f *fakeController) do(call, name string, main bool) error {
	if err := f.check(name, main); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call+" "+name)
	return nil
}

func (f *fakeController) Start(name string) error   { return f.do("start", name, true) }
func (f *fakeController) Stop(name string) error    { return f.do("stop", name, true) }
func (f *fakeController) Restart(name string) error { return f.do("restart", name, true) }
func (f *fakeController) Signal(name string, sig syscall.Signal) error {
	return f.do(fmt.Sprintf("signal %d", sig), name, false)
}

func (f *fakeController) Output(name string, after uint64) ([]tail.Line, <-chan struct{}, error) {
	if err := f.check(name, false); err != nil {
		return nil, nil, err
	}
	lines, more := f.tails[name].Since(after)
	return lines, more, nil
}

func (f *fakeController) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func TestControl(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       Options // Controller and Processes are filled in
		remote     string  // the client's address; "": loopback
		path       string
		header     map[string]string
		wantStatus int
		wantBody   string // a part of the answer
		wantCall   string // what the controller did; "": nothing
	}{
		{name: "restart", opts: Options{Control: true}, path: "/-/processes/web/restart",
			wantStatus: 200, wantBody: `"action": "restart"`, wantCall: "restart web"},
		{name: "start", opts: Options{Control: true}, path: "/-/processes/web/start", wantStatus: 200, wantCall: "start web"},
		{name: "stop", opts: Options{Control: true}, path: "/-/processes/web/stop", wantStatus: 200, wantCall: "stop web"},
		{name: "signal by short name", opts: Options{Control: true}, path: "/-/processes/web/signal?signal=hup",
			wantStatus: 200, wantBody: `"signal": "SIGHUP"`, wantCall: "signal 1 web"},
		{name: "signal the main process", opts: Options{Control: true}, path: "/-/processes/main/signal?signal=SIGUSR1",
			wantStatus: 200, wantCall: "signal 10 main"},
		{name: "control off", path: "/-/processes/web/restart",
			wantStatus: 403, wantBody: "set [web] control = true"},
		{name: "unknown process", opts: Options{Control: true}, path: "/-/processes/nope/restart",
			wantStatus: 404, wantBody: `unknown process \"nope\"; known: db, main, web`},
		{name: "not a signal", opts: Options{Control: true}, path: "/-/processes/web/signal?signal=SIGNOPE",
			wantStatus: 400, wantBody: `\"SIGNOPE\" is not a signal`},
		{name: "no signal", opts: Options{Control: true}, path: "/-/processes/web/signal",
			wantStatus: 400, wantBody: "is not a signal"},
		{name: "stop the main process", opts: Options{Control: true}, path: "/-/processes/main/stop",
			wantStatus: 400, wantBody: "its end ends the container"},
		{name: "unknown action", opts: Options{Control: true}, path: "/-/processes/web/pause",
			wantStatus: 404, wantBody: "want start, stop, restart or signal"},
		{name: "no authentication: a remote client is refused", opts: Options{Control: true}, remote: "192.0.2.7:4000",
			path: "/-/processes/web/restart", wantStatus: 403, wantBody: "loopback clients only"},
		{name: "bearer token: a remote client may", opts: Options{Control: true, BearerToken: "s3cret"}, remote: "192.0.2.7:4000",
			header: map[string]string{"Authorization": "Bearer s3cret"}, path: "/-/processes/web/restart", wantStatus: 200, wantCall: "restart web"},
		{name: "web config authentication: a remote client may", opts: Options{Control: true, WebAuthenticated: true}, remote: "192.0.2.7:4000",
			path: "/-/processes/web/restart", wantStatus: 200, wantCall: "restart web"},
		{name: "cross-origin form (CSRF)", opts: Options{Control: true}, path: "/-/processes/web/restart",
			header: map[string]string{"Origin": "http://evil.example", "Accept": "text/html"}, wantStatus: 403, wantBody: "cross-origin"},
		{name: "cross-site fetch (CSRF)", opts: Options{Control: true}, path: "/-/processes/web/restart",
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: 403, wantBody: "cross-origin"},
		{name: "same-origin form goes back to the page", opts: Options{Control: true}, path: "/-/processes/web/restart",
			header: map[string]string{"Origin": "http://corral.test", "Sec-Fetch-Site": "same-origin", "Accept": "text/html"}, wantStatus: 303, wantCall: "restart web"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeController("main", "web", "db")
			tc.opts.Controller = f
			g := New(tc.opts)
			req := httptest.NewRequest("POST", "http://corral.test"+tc.path, nil)
			req.RemoteAddr = "127.0.0.1:5000"
			if tc.remote != "" {
				req.RemoteAddr = tc.remote
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			g.Handler().ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
				t.Errorf("want %d with %q, have %d: %s", tc.wantStatus, tc.wantBody, rec.Code, body)
			}
			var want []string
			if tc.wantCall != "" {
				want = []string{tc.wantCall}
			}
			if have := f.took(); !slices.Equal(have, want) {
				t.Errorf("controller: want %q, have %q", want, have)
			}
			if tc.wantStatus == 303 {
				if loc := rec.Header().Get("Location"); loc != "/" {
					t.Errorf("Location: want /, have %q", loc)
				}
			}
		})
	}
}

func TestProcessesJSON(t *testing.T) {
	g := New(Options{Processes: func() []ProcessStatus {
		return []ProcessStatus{{Name: "main", Main: true, State: "running", PID: 7}, {Name: "web", State: "stopped", Reason: "stopped through the control API"}}
	}})
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/-/processes", nil))
	var have []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &have); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if len(have) != 2 || have[0]["name"] != "main" || have[0]["pid"] != 7.0 || have[1]["state"] != "stopped" {
		t.Errorf("want main (pid 7) and web (stopped), have %v", have)
	}
}

func TestOutput(t *testing.T) {
	f := newFakeController("web")
	g := New(Options{Controller: f})
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	f.tails["web"].Add("stdout", []byte("one"), time.Now())
	f.tails["web"].Add("stderr", []byte("<two>"), time.Now())

	get := func(path string, accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, path, accept string
		wantStatus         int
		want               []string
	}{
		{"all", "/-/processes/web/output", "", 200, []string{`"seq":1`, `"text":"one"`, `"stream":"stderr","text":"\u003ctwo\u003e"`}},
		{"after", "/-/processes/web/output?after=1", "", 200, []string{`"seq":2`}},
		{"a browser gets a page", "/-/processes/web/output", "text/html", 200, []string{"web: recent output", "&lt;two&gt;"}},
		{"unknown", "/-/processes/nope/output", "", 404, []string{"known: web"}},
		{"bad after", "/-/processes/web/output?after=x", "", 400, []string{"not a sequence number"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(tc.path, tc.accept)
			if code != tc.wantStatus {
				t.Errorf("want %d, have %d: %s", tc.wantStatus, code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("want %q in:\n%s", w, body)
				}
			}
		})
	}
	t.Run("long poll", func(t *testing.T) {
		done := make(chan string, 1)
		go func() {
			_, body := get("/-/processes/web/output?after=2&wait=20s", "")
			done <- body
		}()
		// The poll waits for the line, however late the goroutine runs.
		time.AfterFunc(100*time.Millisecond, func() { f.tails["web"].Add("stdout", []byte("three"), time.Now()) })
		select {
		case body := <-done:
			if !strings.Contains(body, `"seq":3`) || !strings.Contains(body, "three") {
				t.Errorf("want line 3, have %s", body)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the long poll did not answer the new line")
		}
	})
	t.Run("a shutdown ends a long poll", func(t *testing.T) {
		done := make(chan string, 1)
		go func() {
			_, body := get("/-/processes/web/output?after=99&wait=25s", "")
			done <- body
		}()
		time.AfterFunc(100*time.Millisecond, g.Stopping)
		select {
		case body := <-done:
			if body != "" {
				t.Errorf("want no line, have %s", body)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the long poll held the shutdown")
		}
	})
}

func TestLandingControls(t *testing.T) {
	procs := func() []ProcessStatus {
		return []ProcessStatus{
			{Name: "main", Main: true, State: "running", PID: 7, Started: time.Now().Add(-90 * time.Second)},
			{Name: "web", State: "failed", LastExitCode: ptr(3), Reason: "failed with exit code 3", Usage: &ProcessUsage{CPUSeconds: 1.5, ResidentBytes: 3 << 20}},
		}
	}
	for _, tc := range []struct {
		name     string
		control  bool
		want     []string
		wantNone []string
	}{
		{"control on", true,
			[]string{`action="-/processes/web/restart"`, `action="-/processes/web/stop"`, `action="-/processes/web/start"`, "1m 30s", "1.50 s", "3.0 MiB", "code 3", "failed with exit code 3", `href="-/processes/web/output"`},
			[]string{`action="-/processes/main/`}},
		{"control off", false, []string{"main (main)", `href="-/processes/main/output"`}, []string{"<form"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(Options{Processes: procs, Controller: newFakeController("main", "web"), Control: tc.control})
			rec := httptest.NewRecorder()
			g.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			body := rec.Body.String()
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("want %q in the page:\n%s", w, body)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(body, w) {
					t.Errorf("want no %q in the page:\n%s", w, body)
				}
			}
		})
	}
}

// TestControlOnReload: a reload turns control on and off, and a bearer
// token it adds opens control to remote clients.
func TestControlOnReload(t *testing.T) {
	f := newFakeController("web")
	g := New(Options{Controller: f})
	restart := func(remote, auth string) int {
		req := httptest.NewRequest("POST", "/-/processes/web/restart", nil)
		req.RemoteAddr = remote
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	for _, tc := range []struct {
		name   string
		access Options
		remote string
		auth   string
		want   int
	}{
		{"off", Options{}, "127.0.0.1:1", "", 403},
		{"on, loopback", Options{Control: true}, "127.0.0.1:1", "", 200},
		{"on, remote without authentication", Options{Control: true}, "192.0.2.1:1", "", 403},
		{"on, remote with a token", Options{Control: true, BearerToken: "t"}, "192.0.2.1:1", "Bearer t", 200},
		{"off again", Options{BearerToken: "t"}, "192.0.2.1:1", "Bearer t", 403},
	} {
		g.SetAccess(tc.access)
		if have := restart(tc.remote, tc.auth); have != tc.want {
			t.Errorf("%s: want %d, have %d", tc.name, tc.want, have)
		}
	}
}

// TestControlNotThroughProxy: without authentication, control answers
// local clients only, over real HTTP on loopback: a request a proxy relays
// is not one, whatever its client address (X-Forwarded-For 127.0.0.1
// included), whether the proxy is in trusted_proxies (then even without a
// header) or not (then it is told by the header it adds). A token still
// lets a relayed client in.
func TestControlNotThroughProxy(t *testing.T) {
	loopbackAndTen := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8")}
	viaProxy := Options{Control: true, AllowNetworks: loopbackAndTen, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	withToken := viaProxy
	withToken.BearerToken = "s3cret"
	for _, tc := range []struct {
		name       string
		opts       Options
		header     map[string]string
		wantStatus int
	}{
		{"trusted proxy relays a remote client", viaProxy, map[string]string{"X-Forwarded-For": "10.9.9.9"}, 403},
		{"trusted proxy relays a client that says it is loopback", viaProxy, map[string]string{"X-Forwarded-For": "127.0.0.1"}, 403},
		{"trusted proxy without X-Forwarded-For", viaProxy, nil, 403},
		{"trusted proxy, a token", withToken, map[string]string{"X-Forwarded-For": "10.9.9.9", "Authorization": "Bearer s3cret"}, 200},
		{"proxy not trusted, X-Forwarded-For", Options{Control: true}, map[string]string{"X-Forwarded-For": "10.9.9.9"}, 403},
		{"proxy not trusted, Forwarded", Options{Control: true}, map[string]string{"Forwarded": "for=10.9.9.9"}, 403},
		{"proxy not trusted, X-Real-IP", Options{Control: true}, map[string]string{"X-Real-IP": "10.9.9.9"}, 403},
		{"loopback client", Options{Control: true}, nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeController("web")
			tc.opts.Controller = f
			_, base := newTestGatewayFor(t, New(tc.opts))
			req, _ := http.NewRequest("POST", base+"/-/processes/web/stop", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var want []string
			if tc.wantStatus == 200 {
				want = []string{"stop web"}
			}
			if resp.StatusCode != tc.wantStatus || tc.wantStatus == 403 && !strings.Contains(string(body), "never a request relayed by a proxy") {
				t.Errorf("want %d, have %d: %s", tc.wantStatus, resp.StatusCode, body)
			}
			if have := f.took(); !slices.Equal(have, want) {
				t.Errorf("controller: want %q, have %q", want, have)
			}
		})
	}
}
