package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// EndpointConfig is an [endpoint.NAME] section: one more merged endpoint,
// at its own path, of the sources it names (reverse_exporter's several
// paths). The main /metrics stays as it is.
type EndpointConfig struct {
	Path    string   `toml:"path"`
	Sources []string `toml:"sources"`
}

// Defaults fills what the operator left out: nothing has a default.
func (c *EndpointConfig) Defaults() {}

// reservedPath tells whether p is one of corral's own paths, which no
// [endpoint] may take.
func reservedPath(p string) bool {
	return p == "/" || p == "/metrics" || p == "/proxy" || strings.HasPrefix(p, "/-/")
}

// Validate reports the problems of the section on its own, each prefixed
// with its key; whether the sources exist and paths collide is checked
// with the whole configuration.
func (c *EndpointConfig) Validate() error {
	var errs []error
	switch {
	case c.Path == "":
		errs = append(errs, errors.New("path: missing"))
	case !strings.HasPrefix(c.Path, "/"):
		errs = append(errs, fmt.Errorf("path: %q must start with /", c.Path))
	case strings.ContainsAny(c.Path, "?#{} \t\r\n") || strings.Contains(c.Path, "//") || strings.Contains(c.Path, "/../") || strings.HasSuffix(c.Path, "/.."):
		errs = append(errs, fmt.Errorf("path: %q must be a plain path (no query, spaces, braces, // or ..)", c.Path))
	case reservedPath(c.Path):
		errs = append(errs, fmt.Errorf("path: %q is corral's own (/, /metrics, /proxy, /-/...)", c.Path))
	}
	if len(c.Sources) == 0 {
		errs = append(errs, errors.New("sources: missing: name the sources to merge"))
	}
	for i, s := range c.Sources {
		if slices.Contains(c.Sources[:i], s) {
			errs = append(errs, fmt.Errorf("sources[%d]: %q listed twice", i, s))
		}
	}
	return errors.Join(errs...)
}

// Endpoint is one merged endpoint besides /metrics.
type Endpoint struct {
	Name    string
	Path    string
	Sources []string // module names
}

// SetEndpoints replaces the merged endpoints besides /metrics at once.
func (g *Gateway) SetEndpoints(eps []Endpoint) {
	sorted := slices.Clone(eps)
	slices.SortFunc(sorted, func(a, b Endpoint) int { return strings.Compare(a.Name, b.Name) })
	g.eps.Store(&sorted)
}

// endpoints are the merged endpoints besides /metrics, sorted by name.
func (g *Gateway) endpoints() []Endpoint {
	if p := g.eps.Load(); p != nil {
		return *p
	}
	return nil
}

// EndpointStatus is one [endpoint] on the landing page.
type EndpointStatus struct {
	Name    string   `json:"name"`
	Path    string   `json:"path"`
	Sources []string `json:"sources"`
}

func (g *Gateway) endpointStatus() []EndpointStatus {
	var out []EndpointStatus
	for _, e := range g.endpoints() {
		out = append(out, EndpointStatus{Name: e.Name, Path: e.Path, Sources: slices.Clone(e.Sources)})
	}
	return out
}

// withEndpoints serves the [endpoint] paths, which change on reload, and
// hands every other request to next: the merge of the endpoint's sources,
// with the same rules as /metrics but without corral's own metrics, as a
// scrape under the same limits.
func (g *Gateway) withEndpoints(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eps := g.endpoints()
		i := slices.IndexFunc(eps, func(e Endpoint) bool { return e.Path == r.URL.Path })
		if i < 0 {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		names := eps[i].Sources
		g.merged(eps[i].Path, func(m Module) bool { return slices.Contains(names, m.Name) }, false).ServeHTTP(w, r)
	})
}
