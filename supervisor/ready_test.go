package supervisor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestReadyHTTPErrorHidesSecrets: a failed ready.http check, which is
// logged, names the URL without its userinfo or query, whether the
// process answered a bad status or did not answer.
func TestReadyHTTPErrorHidesSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		name, base, want string
	}{
		{"bad status", srv.URL, ": status 503"},
		{"refused", down.URL, "connection refused"},
	} {
		u := strings.Replace(tc.base, "http://", "http://admin:pw-s3cret@", 1) + "/api/health?token=tok-s3cret"
		err := checkHTTP(context.Background(), client, u)
		have := ""
		if err != nil {
			have = err.Error()
		}
		if want := tc.base + "/api/health"; !strings.HasPrefix(have, want) || !strings.Contains(have, tc.want) || strings.Contains(have, "s3cret") {
			t.Errorf("%s: want %q ... %q without a secret, have %q", tc.name, want, tc.want, have)
		}
	}
}
