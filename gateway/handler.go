package gateway

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Handler is every endpoint of the gateway behind its access checks
// (allow_networks, bearer token). TLS, client certificates and basic auth
// are added around it by the server (exporter-toolkit).
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", g.serveLanding)
	mux.HandleFunc("GET /metrics", g.serveMetrics)
	mux.HandleFunc("GET /proxy", g.serveProxy)
	mux.HandleFunc("GET /-/healthy", g.serveHealthy)
	mux.HandleFunc("GET /-/ready", g.serveReady)
	mux.HandleFunc("POST /-/reload", g.serveReload)
	return g.guard(mux)
}

// serveMetrics is corral's own registry. The merge (serveMerged) replaces
// it at /metrics once it lands.
func (g *Gateway) serveMetrics(w http.ResponseWriter, r *http.Request) {
	g.self.ServeHTTP(w, r)
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
	if err := g.opts.Reload(); err != nil {
		http.Error(w, fmt.Sprintf("reload refused: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "configuration reloaded.")
}

// guard refuses clients outside allow_networks (403) and, with a bearer
// token set, requests without it (401) on every path but /-/healthy.
func (g *Gateway) guard(next http.Handler) http.Handler {
	if len(g.opts.AllowNetworks) == 0 && g.opts.BearerToken == "" {
		return next
	}
	want := []byte("Bearer " + g.opts.BearerToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(g.opts.AllowNetworks) > 0 && !g.allowed(r.RemoteAddr) {
			http.Error(w, "forbidden: client address not in allow_networks", http.StatusForbidden)
			return
		}
		if g.opts.BearerToken != "" && r.URL.Path != "/-/healthy" {
			have := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
			if subtle.ConstantTimeCompare(have, want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="corral"`)
				http.Error(w, "unauthorized: a bearer token is required", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (g *Gateway) allowed(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range g.opts.AllowNetworks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
