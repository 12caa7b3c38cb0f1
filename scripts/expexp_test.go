package scripts

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
)

// TestExpexp: a script is listed as exporter_exporter's exec module, its
// environment's values hidden.
func TestExpexp(t *testing.T) {
	s := New("probe", Config{Command: []string{"/opt/probe.sh", "-v"}, Timeout: duration.Of(2 * time.Second), Env: map[string]string{"TOKEN": "s3cret"}}, Deps{})
	b, err := json.Marshal(s.Expexp().Exec)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Command":"/opt/probe.sh","Args":["-v"],"Env":{"TOKEN":"\u003chidden\u003e"},"XXX":null}`
	if string(b) != want || s.Expexp().Method != "exec" || s.Expexp().Timeout != 2*time.Second {
		t.Errorf("want %s (exec, 2s), have %s (%s, %s)", want, b, s.Expexp().Method, s.Expexp().Timeout)
	}
}
