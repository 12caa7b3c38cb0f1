package scripts

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
)

// TestExpexp: a script is listed as exporter_exporter's exec module, its
// arguments and its environment's values hidden (Args null without any).
func TestExpexp(t *testing.T) {
	for _, tc := range []struct {
		command []string
		want    string
	}{
		{[]string{"/opt/probe.sh", "-v", "--password=s3cret"}, `{"Command":"/opt/probe.sh","Args":["\u003chidden\u003e","\u003chidden\u003e"],"Env":{"TOKEN":"\u003chidden\u003e"},"XXX":null}`},
		{[]string{"/opt/probe.sh"}, `{"Command":"/opt/probe.sh","Args":null,"Env":{"TOKEN":"\u003chidden\u003e"},"XXX":null}`},
	} {
		s := New("probe", Config{Command: tc.command, Timeout: duration.Of(2 * time.Second), Env: map[string]string{"TOKEN": "s3cret"}}, Deps{})
		b, err := json.Marshal(s.Expexp().Exec)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want || s.Expexp().Method != "exec" || s.Expexp().Timeout != 2*time.Second {
			t.Errorf("%q: want %s (exec, 2s), have %s (%s, %s)", tc.command, tc.want, b, s.Expexp().Method, s.Expexp().Timeout)
		}
	}
}
