package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strconv"
)

// TargetGroup is one entry of Prometheus' http_sd_configs answer.
type TargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// The labels /-/sd sets on every target group, beside the source's static
// labels (which never win over them).
const (
	sdModuleLabel   = "module"         // the module of a /proxy target
	sdEndpointLabel = "endpoint"       // the [endpoint] of a merged target
	sdKindLabel     = "corral_kind"    // exporter, script, file
	sdProcessLabel  = "corral_process" // the [process] of the source, if any
)

// Discovery is the /-/sd answer for a corral reached at addr (host:port):
// one target group per module, scraped on /proxy?module=NAME, then one per
// [endpoint], scraped on its path. Each group has a label (module or
// endpoint) that keeps its series apart from the others', which share the
// instance.
func (g *Gateway) Discovery(addr string) []TargetGroup {
	groups := []TargetGroup{}
	for _, m := range g.modules() {
		labels := maps.Clone(m.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels["__metrics_path__"] = "/proxy"
		labels["__param_module"] = m.Name
		labels[sdModuleLabel] = m.Name
		labels[sdKindLabel] = string(m.Kind)
		if m.Process != "" {
			labels[sdProcessLabel] = m.Process
		} else {
			delete(labels, sdProcessLabel)
		}
		groups = append(groups, TargetGroup{Targets: []string{addr}, Labels: labels})
	}
	for _, e := range g.endpoints() {
		groups = append(groups, TargetGroup{Targets: []string{addr}, Labels: map[string]string{
			"__metrics_path__": e.Path,
			sdEndpointLabel:    e.Name,
		}})
	}
	return groups
}

// serveSD is /-/sd, for Prometheus' http_sd_configs. The targets' address
// is [web] external_address, or else the Host the client used, refused
// (400) when it is not a plain host or host:port.
func (g *Gateway) serveSD(w http.ResponseWriter, r *http.Request) {
	addr := g.access.Load().external
	if addr == "" {
		addr = r.Host
		if err := checkHostPort(addr); err != nil {
			http.Error(w, fmt.Sprintf("Host %q: %v; set [web] external_address", addr, err), http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(g.Discovery(addr))
}

// checkHostPort tells why s is not a host or host:port Prometheus can
// scrape: a DNS name or an IP address, and a port from 1 to 65535.
func checkHostPort(s string) error {
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if len(s) > 0 && s[0] == '[' {
		return errors.New("want host or host:port")
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q: want 1 to 65535", port)
		}
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if host == "" || len(host) > 253 {
		return errors.New("want host or host:port")
	}
	for _, r := range host {
		if r != '.' && r != '-' && r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return fmt.Errorf("%q is not a host name", host)
		}
	}
	return nil
}
