package gateway

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Handler is every endpoint of the gateway behind its access checks
// (allow_networks, bearer token) and its limits (no request body, scrape
// slots, the memory budget, write deadlines), all read per request so a
// reload applies them (SetAccess). TLS, client certificates and basic auth
// are added around it by the server (exporter-toolkit).
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", g.serveLanding)
	mux.Handle("GET /metrics", g.merged("/metrics", func(m Module) bool { return m.Merge }, g.opts.MergeSelf))
	mux.HandleFunc("GET /proxy", g.serveProxy) // admits once it knows the source
	mux.HandleFunc("GET /-/healthy", g.serveHealthy)
	mux.HandleFunc("GET /-/ready", g.serveReady)
	mux.HandleFunc("POST /-/reload", g.serveReload)
	mux.HandleFunc("GET /-/sd", g.serveSD)
	mux.HandleFunc("GET /-/modules", g.serveModules)
	g.controlRoutes(mux)
	return g.guard(g.lim.noBody(g.conns.atWork(g.withEndpoints(mux))))
}

func (g *Gateway) serveHealthy(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "corral is healthy.")
}

func (g *Gateway) serveReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case g.stopping.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "corral is shutting down.")
	case g.opts.Ready != nil && !g.opts.Ready():
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "corral is starting: not every process is ready.")
	default:
		fmt.Fprintln(w, "corral is ready.")
	}
}

func (g *Gateway) serveReload(w http.ResponseWriter, _ *http.Request) {
	if g.opts.Reload == nil {
		http.Error(w, "reload is not available", http.StatusNotFound)
		return
	}
	err := g.opts.Reload()
	g.RefreshSecrets()
	if err != nil {
		http.Error(w, fmt.Sprintf("reload refused: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "configuration reloaded.")
}

// RefreshSecrets re-reads the secrets kept in files (bearer_token_file) now,
// without waiting for the next change check. A reload calls it.
func (g *Gateway) RefreshSecrets() {
	g.access.Load().file.Refresh()
}

// guard refuses clients outside allow_networks (403) and, with a bearer
// token set, requests without it (401), on every path but /-/healthy, which
// tells a container engine or a load balancer only that corral runs.
//
// The client is the connection's peer. X-Forwarded-For is not trusted,
// unless the peer is in TrustedProxies: then the client is the rightmost
// address of X-Forwarded-For that is not itself a trusted proxy.
func (g *Gateway) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := g.access.Load()
		if r.URL.Path == "/-/healthy" || len(a.allow) == 0 && a.token == nil && a.file == nil {
			next.ServeHTTP(w, r)
			return
		}
		if len(a.allow) > 0 && !a.allowed(r) {
			g.lim.refused("forbidden")
			refuse(w, http.StatusForbidden, "forbidden: client address not in allow_networks")
			return
		}
		if a.token != nil || a.file != nil {
			have := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
			ok := false
			if a.token != nil {
				ok = subtle.ConstantTimeCompare(have, a.token) == 1
			}
			if tok := a.file.Value(); !ok && tok != nil {
				// A file that is missing or empty yields no token: nothing matches.
				ok = bearerEqual(have, tok)
			}
			if !ok {
				g.lim.refused("unauthorized")
				w.Header().Set("WWW-Authenticate", `Bearer realm="corral"`)
				refuse(w, http.StatusUnauthorized, "unauthorized: a bearer token is required")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request refused before it reaches an endpoint with
// code and msg, and ends its connection without reading on. net/http reads
// what a handler left of a request body before it answers (up to 256 KiB)
// or before the next request; a client that announces a body and never
// sends it (Content-Length: 100) would hold its connection, counted as a
// request in progress, until ReadTimeout.
func refuse(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Connection", "close")
	http.NewResponseController(w).SetReadDeadline(time.Now())
	http.Error(w, msg, code)
}

// bearerEqual compares an Authorization header with "Bearer "+tok in
// constant time (in the length of the header and of the token).
func bearerEqual(header, tok []byte) bool {
	const prefix = "Bearer "
	if len(header) < len(prefix) || !strings.EqualFold(string(header[:len(prefix)]), prefix) {
		subtle.ConstantTimeCompare(header, tok)
		return false
	}
	return subtle.ConstantTimeCompare(header[len(prefix):], tok) == 1
}

// allowed tells whether the client of r is in allow_networks.
func (a *access) allowed(r *http.Request) bool {
	addr, ok := ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), a.trusted)
	return ok && inPrefixes(addr, a.allow)
}

// ClientAddr is the address of the client behind a request: its peer
// (remote, "host:port"), or, when the peer is one of trusted, the rightmost
// address in the X-Forwarded-For values xff that is not itself trusted (the
// leftmost when all are). An entry may carry a port, which is ignored. An
// entry that is not an IP address stops the walk
// and is no client: ok is false, and the caller denies. Without trusted
// proxies the header is never read: anyone can write it.
func ClientAddr(remote string, xff []string, trusted []netip.Prefix) (addr netip.Addr, ok bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	addr = ap.Addr().Unmap().WithZone("")
	if !inPrefixes(addr, trusted) {
		return addr, true
	}
	hops := strings.Split(strings.Join(xff, ","), ",")
	if len(hops) > 64 {
		return netip.Addr{}, false // no real proxy chain is that long
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" && len(xff) == 0 {
			break // no header at all: the proxy itself is the client
		}
		a, err := netip.ParseAddr(h)
		if err != nil {
			// Some proxies write the client's port too: "192.0.2.1:4711",
			// "[2001:db8::1]:4711".
			ap, perr := netip.ParseAddrPort(h)
			if perr != nil {
				return netip.Addr{}, false
			}
			a = ap.Addr()
		}
		addr = a.Unmap().WithZone("")
		if !inPrefixes(addr, trusted) {
			return addr, true
		}
	}
	return addr, true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
