package exporter

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/corral-metrics/corral/source"
)

// Expexp is the exporter as exporter_exporter's listing shows an http
// module, without its secrets.
func (e *Exporter) Expexp() source.ExpexpModule { return e.listing }

func expexpOf(cfg Config, u *url.URL) source.ExpexpModule {
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 80
		if u.Scheme == "https" {
			port = 443
		}
	}
	// The query may hold a credential (an API key): its names are shown,
	// as on the landing page nothing of it is.
	path := u.EscapedPath()
	if q := u.Query(); len(q) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(q)) {
			kv = append(kv, url.QueryEscape(k)+"="+source.Hidden)
		}
		path += "?" + strings.Join(kv, "&")
	}
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	h := source.ExpexpHTTP{
		Verify:                cfg.Verify,
		TLSInsecureSkipVerify: cfg.TLS.InsecureSkipVerify,
		TLSCertFile:           opt(cfg.TLS.CertFile),
		TLSKeyFile:            opt(cfg.TLS.KeyFile),
		TLSRootCaFile:         opt(cfg.TLS.CAFile),
		TLSServerName:         opt(cfg.TLS.ServerName),
		Port:                  port,
		Path:                  path,
		Scheme:                u.Scheme,
		Address:               u.Hostname(),
		Headers:               source.HideValues(cfg.Headers),
		BasicAuthUsername:     cfg.BasicAuth.Username,
	}
	if cfg.BasicAuth.PasswordFile != "" {
		h.BasicAuthPassword = source.Hidden
	}
	return source.ExpexpModule{Method: "http", Timeout: cfg.Timeout.Std(), HTTP: h}
}
