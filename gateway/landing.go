package gateway

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/landing.html
var templateFS embed.FS

// parseLanding parses the embedded landing page; it cannot fail at run time
// (the tests parse it).
func parseLanding() *template.Template {
	return template.Must(template.ParseFS(templateFS, "templates/landing.html"))
}

// Landing is what / shows, as HTML or (Accept: application/json) as JSON.
// It holds no secret: no header value, password, environment or URL userinfo.
type Landing struct {
	Version   string          `json:"version"`
	Processes []ProcessStatus `json:"processes"`
	Sources   []SourceStatus  `json:"sources"`
	// Endpoints are the merged endpoints besides /metrics ([endpoint.NAME]).
	Endpoints []EndpointStatus `json:"endpoints,omitempty"`
	// Control tells whether the control API's actions are on (buttons).
	Control bool `json:"control"`
}

// SourceStatus is one source on the landing page.
type SourceStatus struct {
	Name       string            `json:"name"`
	Kind       string            `json:"kind"`
	Target     string            `json:"target,omitempty"`
	Process    string            `json:"process,omitempty"`
	Merge      bool              `json:"merge"`
	Verify     bool              `json:"verify"`
	Labels     map[string]string `json:"labels,omitempty"`
	LastScrape *LastScrape       `json:"last_scrape"`
}

// LastScrape is how the last scrape of a source went.
type LastScrape struct {
	Time            time.Time `json:"time"`
	DurationSeconds float64   `json:"duration_seconds"`
	Bytes           int64     `json:"bytes"`
	Up              bool      `json:"up"`
	Error           string    `json:"error,omitempty"`
}

// Targeter is a source that can name what it scrapes, without secrets.
type Targeter interface {
	Target() string
}

// Landing reports the gateway's state now.
func (g *Gateway) Landing() Landing {
	l := Landing{Version: g.opts.Version, Processes: g.processes(), Sources: []SourceStatus{}, Control: g.opts.Controller != nil && g.access.Load().control}
	mods := g.modules()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range mods {
		s := SourceStatus{Name: m.Name, Kind: string(m.Kind), Process: m.Process, Merge: m.Merge, Verify: m.Verify}
		if len(m.Labels) > 0 {
			s.Labels = maps.Clone(m.Labels)
		}
		if t, ok := m.Source.(Targeter); ok {
			s.Target = t.Target()
		}
		if st, ok := g.last[m.Name]; ok {
			s.LastScrape = &LastScrape{
				Time:            st.At.UTC(),
				DurationSeconds: st.Duration.Seconds(),
				Bytes:           st.Bytes,
				Up:              st.Err == "",
				Error:           st.Err,
			}
		}
		l.Sources = append(l.Sources, s)
	}
	l.Endpoints = g.endpointStatus()
	return l
}

func (g *Gateway) serveLanding(w http.ResponseWriter, r *http.Request) {
	l := g.Landing()
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(l)
		return
	}
	var buf bytes.Buffer
	if err := g.landing.Execute(&buf, l); err != nil {
		g.logger.Error("landing page", "err", err)
		http.Error(w, "landing page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
