package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/corral-metrics/corral/source"
)

// expexper is a source that can show itself as exporter_exporter's listing
// shows a module, without secrets.
type expexper interface {
	Expexp() source.ExpexpModule
}

// ExpexpListing is every module as exporter_exporter's JSON listing (its
// "/" with Accept: application/json) shows it, by name. A source of a
// kind exporter_exporter does not have is listed with its kind as Method.
func (g *Gateway) ExpexpListing() map[string]source.ExpexpModule {
	out := make(map[string]source.ExpexpModule)
	for _, m := range g.modules() {
		if e, ok := m.Source.(expexper); ok {
			out[m.Name] = e.Expexp()
		} else {
			out[m.Name] = source.ExpexpModule{Method: string(m.Kind)}
		}
	}
	return out
}

// serveModules is /-/modules: ExpexpListing as JSON.
func (g *Gateway) serveModules(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(g.ExpexpListing())
}
