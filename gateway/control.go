package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/supervisor/tail"
)

// Controller changes the supervised processes for the control API
// (/-/processes/NAME/ACTION). Its errors are ErrUnknownProcess (an
// *UnknownProcessError naming the known processes), ErrMainProcess, or any
// other error, answered 409.
type Controller interface {
	Start(name string) error
	Stop(name string) error
	Restart(name string) error
	Signal(name string, sig syscall.Signal) error
	// Output gives the lines of name's recent output after seq after, and
	// a channel closed when more are added.
	Output(name string, after uint64) ([]tail.Line, <-chan struct{}, error)
}

// ErrUnknownProcess is what an *UnknownProcessError is.
var ErrUnknownProcess = errors.New("unknown process")

// ErrMainProcess refuses to stop (or restart, or start) the main process:
// its end ends the container.
var ErrMainProcess = errors.New("the main process (the command after --) cannot be stopped, started or restarted here: its end ends the container; stop the container instead")

// UnknownProcessError names a process that does not exist and those that do.
type UnknownProcessError struct {
	Name  string
	Known []string
}

func (e *UnknownProcessError) Error() string {
	return fmt.Sprintf("unknown process %q; known: %s", e.Name, strings.Join(e.Known, ", "))
}

// Is makes errors.Is(err, ErrUnknownProcess) hold.
func (e *UnknownProcessError) Is(target error) bool { return target == ErrUnknownProcess }

// maxOutputWait bounds a long poll of a process's output.
const maxOutputWait = 25 * time.Second

// controlRoutes adds the control API to mux: the status of every process
// (always, with the landing page's access), its recent output (when a
// Controller is set) and the actions that change state (with [web]
// control = true only).
func (g *Gateway) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /-/processes", g.serveProcesses)
	mux.HandleFunc("GET /-/processes/{name}/output", g.serveOutput)
	mux.Handle("POST /-/processes/{name}/{action}", g.controlGuard(http.HandlerFunc(g.serveAction)))
}

func (g *Gateway) processes() []ProcessStatus {
	if g.opts.Processes == nil {
		return []ProcessStatus{}
	}
	return append([]ProcessStatus{}, g.opts.Processes()...)
}

func (g *Gateway) serveProcesses(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, g.processes())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// controlGuard lets a state-changing request through only when control is
// on; without authentication configured, only from a local client
// (access.local: loopback, and not relayed by a proxy); and never from a
// cross-origin browser page (CSRF): a browser sends Sec-Fetch-Site or
// Origin, which must name this very origin, so a form on another site
// cannot press a button here. Clients that send neither (corral ctl, curl)
// are no CSRF vector and pass.
func (g *Gateway) controlGuard(next http.Handler) http.Handler {
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "forbidden: a cross-origin request cannot control processes (CSRF defence); use the landing page of this origin, or a client that is not a browser", http.StatusForbidden)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := g.access.Load()
		switch {
		case g.opts.Controller == nil || !a.control:
			http.Error(w, "forbidden: control is off; set [web] control = true to start, stop, restart and signal processes through this port", http.StatusForbidden)
			return
		case !a.authenticated() && !a.local(r):
			http.Error(w, "forbidden: control without authentication answers loopback clients only, never a request relayed by a proxy (one from trusted_proxies, or carrying X-Forwarded-For, Forwarded or X-Real-IP); configure [web] bearer_token_file, or basic auth or client certificates in the web config file", http.StatusForbidden)
			return
		}
		csrf.Handler(next).ServeHTTP(w, r)
	})
}

// authenticated tells whether clients must authenticate: a bearer token,
// or basic auth or a verified client certificate in the web config.
func (a *access) authenticated() bool {
	return a.token != nil || a.file != nil || a.webAuth
}

// local tells whether r is from a client on this host: its client
// (ClientAddr) is a loopback address and no proxy relayed it. A request
// whose peer is in trusted_proxies is relayed, whatever its X-Forwarded-For
// says: a proxy appends its client's address to what that client sent, so
// an entry 127.0.0.1 proves nothing, and a proxy that writes no header may
// still relay a remote client. A request from any other peer that carries
// X-Forwarded-For, Forwarded or X-Real-IP came through a proxy too (one not
// listed in trusted_proxies, a loopback sidecar most likely): corral ctl and
// curl send none of them.
func (a *access) local(r *http.Request) bool {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || inPrefixes(peer.Addr().Unmap().WithZone(""), a.trusted) {
		return false
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} { // as canonical keys
		if _, relayed := r.Header[h]; relayed {
			return false
		}
	}
	client, ok := ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), a.trusted)
	return ok && client.IsLoopback()
}

// ActionResult is the JSON answer to a control action.
type ActionResult struct {
	Process string `json:"process"`
	Action  string `json:"action"`
	Signal  string `json:"signal,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (g *Gateway) serveAction(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	res := ActionResult{Process: name, Action: action}
	var err error
	switch action {
	case "start":
		err = g.opts.Controller.Start(name)
	case "stop":
		err = g.opts.Controller.Stop(name)
	case "restart":
		err = g.opts.Controller.Restart(name)
	case "signal":
		sig, perr := ParseSignal(r.URL.Query().Get("signal"))
		if perr != nil {
			res.Error = perr.Error()
			writeJSON(w, http.StatusBadRequest, res)
			return
		}
		res.Signal = unix.SignalName(sig)
		err = g.opts.Controller.Signal(name, sig)
	default:
		res.Error = fmt.Sprintf("unknown action %q: want start, stop, restart or signal", action)
		writeJSON(w, http.StatusNotFound, res)
		return
	}
	code := http.StatusOK
	var unknown *UnknownProcessError
	switch {
	case err == nil:
	case errors.As(err, &unknown):
		code = http.StatusNotFound
	case errors.Is(err, ErrMainProcess):
		code = http.StatusBadRequest
	default:
		code = http.StatusConflict
	}
	if err != nil {
		res.Error = err.Error()
		g.logger.Warn("control action refused", "process", name, "action", action, "err", err)
	} else {
		g.logger.Info("control action", "process", name, "action", action, "signal", res.Signal)
	}
	if err == nil && wantsHTML(r) {
		// A form on the landing page: back to it (POST, redirect, GET).
		http.Redirect(w, r, "../../../", http.StatusSeeOther)
		return
	}
	writeJSON(w, code, res)
}

// wantsHTML tells a browser (a form) from a program.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// ParseSignal reads a signal name: "SIGHUP", "HUP" or "hup".
func ParseSignal(name string) (syscall.Signal, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	if s := unix.SignalNum(n); s != 0 {
		return s, nil
	}
	return 0, fmt.Errorf("%q is not a signal: give a name such as HUP, USR1, TERM", name)
}

// serveOutput answers the recent output of one process as JSON lines
// (application/x-ndjson, one tail.Line each), those after ?after=SEQ. With
// ?wait=DURATION (at most 25s) and nothing new yet, it waits for a line
// first: a long poll, which `corral ctl logs -f` repeats, which a
// shutdown ends at once, and whose connection, while it waits, counts as
// idle for max_connections (conns.pause). A browser (Accept: text/html) gets the lines as a
// page.
func (g *Gateway) serveOutput(w http.ResponseWriter, r *http.Request) {
	if g.opts.Controller == nil {
		http.Error(w, "no supervised process", http.StatusNotFound)
		return
	}
	name, q := r.PathValue("name"), r.URL.Query()
	var after uint64
	if s := q.Get("after"); s != "" {
		if _, err := fmt.Sscan(s, &after); err != nil {
			http.Error(w, fmt.Sprintf("after: %q is not a sequence number", s), http.StatusBadRequest)
			return
		}
	}
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			http.Error(w, fmt.Sprintf("wait: %q is not a duration such as 20s", s), http.StatusBadRequest)
			return
		}
		wait = min(d, maxOutputWait)
	}
	lines, more, err := g.opts.Controller.Output(name, after)
	if len(lines) == 0 && err == nil && wait > 0 {
		// Waiting, its connection may be closed to make room as an idle
		// one is: long polls, which take no scrape slot, cannot fill
		// max_connections.
		resume := g.conns.pause(r)
		t := time.NewTimer(wait)
		select {
		case <-more:
			lines, _, err = g.opts.Controller.Output(name, after)
		case <-t.C:
		case <-r.Context().Done():
		case <-g.stopped: // shutting down: answer now, do not hold the shutdown
		}
		t.Stop()
		resume()
	}
	if err != nil {
		code := http.StatusConflict
		if errors.Is(err, ErrUnknownProcess) {
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	if wantsHTML(r) {
		g.serveOutputPage(w, name, lines)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, l := range lines {
		enc.Encode(l)
	}
}

// WebConfigAuthenticates tells whether exporter-toolkit's web config file at
// path makes clients authenticate: basic auth users, or a verified client
// certificate. An empty path does not.
func WebConfigAuthenticates(path string) (bool, error) {
	if path == "" {
		return false, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var c web.Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return len(c.Users) > 0 || c.TLSConfig.ClientAuth == "RequireAndVerifyClientCert", nil
}
