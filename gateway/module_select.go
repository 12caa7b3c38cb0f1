package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// proxyModule picks the module a /proxy request names, as exporter_exporter
// does: the first module value is corral's, and any further values stay in
// q as module= for the source (blackbox_exporter's or snmp_exporter's own
// module). Without module, Options.DefaultModule is used when set. The
// status is 200 when a module was found; otherwise msg says why, with the
// list of known modules: 400 when module is missing or empty, 404 when it
// names no module.
func (g *Gateway) proxyModule(q url.Values) (m Module, status int, msg string) {
	mods := g.modules()
	names := q["module"]
	if def := g.access.Load().defModule; len(names) == 0 && def != "" {
		names = []string{def}
	}
	if len(names) == 0 || names[0] == "" {
		return Module{}, http.StatusBadRequest, "missing module parameter; known modules: " + knownModules(mods)
	}
	m, found := lookup(mods, names[0])
	if !found {
		return Module{}, http.StatusNotFound, fmt.Sprintf("unknown module %q; known modules: %s; corral's own metrics: %s", names[0], knownModules(mods), g.opts.SelfSource)
	}
	if rest := names[1:]; len(rest) > 0 {
		q["module"] = rest
	} else {
		delete(q, "module")
	}
	return m, http.StatusOK, ""
}

func knownModules(mods []Module) string {
	known := make([]string, len(mods))
	for i, m := range mods {
		known[i] = m.Name
	}
	return strings.Join(known, ", ")
}
