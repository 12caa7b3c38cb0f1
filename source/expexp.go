package source

import "time"

// Hidden stands for a secret value in a listing: a password, a header value,
// an environment value.
const Hidden = "<hidden>"

// ExpexpModule is one module as exporter_exporter's JSON listing shows it
// (its moduleConfig marshalled by encoding/json: Go field names as keys,
// the timeout in nanoseconds), so that a tool reading that listing reads
// corral's. Unlike exporter_exporter's it holds no secret: passwords,
// header values and environment values are Hidden.
type ExpexpModule struct {
	Method  string         `json:"Method"`
	Timeout time.Duration  `json:"Timeout"`
	XXX     map[string]any `json:"XXX"`
	Exec    ExpexpExec     `json:"Exec"`
	HTTP    ExpexpHTTP     `json:"HTTP"`
	File    ExpexpFile     `json:"File"`
}

// ExpexpExec is exporter_exporter's exec module.
type ExpexpExec struct {
	Command string            `json:"Command"`
	Args    []string          `json:"Args"`
	Env     map[string]string `json:"Env"`
	XXX     map[string]any    `json:"XXX"`
}

// ExpexpHTTP is exporter_exporter's http module.
type ExpexpHTTP struct {
	Verify                *bool             `json:"Verify"`
	TLSInsecureSkipVerify bool              `json:"TLSInsecureSkipVerify"`
	TLSCertFile           *string           `json:"TLSCertFile"`
	TLSKeyFile            *string           `json:"TLSKeyFile"`
	TLSCACertFile         *string           `json:"TLSCACertFile"`
	TLSRootCaFile         *string           `json:"TLSRootCaFile"`
	TLSServerName         *string           `json:"TLSServerName"`
	Port                  int               `json:"Port"`
	Path                  string            `json:"Path"`
	Scheme                string            `json:"Scheme"`
	Address               string            `json:"Address"`
	Headers               map[string]string `json:"Headers"`
	BasicAuthUsername     string            `json:"BasicAuthUsername"`
	BasicAuthPassword     string            `json:"BasicAuthPassword"`
	XXX                   map[string]any    `json:"XXX"`
}

// ExpexpFile is exporter_exporter's file module.
type ExpexpFile struct {
	Path string `json:"Path"`
}

// HideValues is m with every value Hidden, or nil for an empty map.
func HideValues(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = Hidden
	}
	return out
}
