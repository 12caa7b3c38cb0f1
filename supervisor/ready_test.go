package supervisor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/testkit"
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
		if want := "ready.http: GET " + tc.base + "/api/health"; !strings.HasPrefix(have, want) || !strings.Contains(have, tc.want) || strings.Contains(have, "s3cret") {
			t.Errorf("%s: want %q ... %q without a secret, have %q", tc.name, want, tc.want, have)
		}
	}
}

// TestNotReadyReason: a process stopped for failing its readiness check
// says so in its status (what the landing page, /-/processes and corral
// ctl status show), with the check's last failure: an HTTP status, a
// refused connection, an exec exit status, a silent or closed notify_fd.
// Not "ended with exit code 143" alone, which is only its answer to the
// stop signal.
func TestNotReadyReason(t *testing.T) {
	unready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "warming up", http.StatusServiceUnavailable)
	}))
	defer unready.Close()
	// Nothing listens on port 1, and no test takes it as an ephemeral
	// port (which a port freed here could become, and time out instead).
	const closed = "127.0.0.1:1"

	const stopped = "so stopped: ended with exit code 143; restarting (restart = \"always\")"
	for _, tc := range []struct {
		name    string
		command []string
		ready   Ready
		restart string
		want    string
	}{
		{"http status", nil, Ready{HTTP: unready.URL + "/healthz"}, "",
			"not ready within 2s (ready.http: GET " + unready.URL + "/healthz: status 503), " + stopped},
		{"http refused", nil, Ready{HTTP: "http://" + closed + "/"}, "",
			"not ready within 2s (ready.http: GET http://" + closed + "/: dial tcp " + closed + ": connect: connection refused), " + stopped},
		{"tcp refused", nil, Ready{TCP: closed}, "",
			"not ready within 2s (ready.tcp: dial tcp " + closed + ": connect: connection refused), " + stopped},
		{"exec exit status", nil, Ready{Exec: []string{"sh", "-c", "exit 3"}}, "",
			"not ready within 2s (ready.exec: exit status 3), " + stopped},
		{"notify_fd silent", nil, Ready{NotifyFD: 4}, "",
			"not ready within 2s (ready.notify_fd: no newline written), " + stopped},
		{"notify_fd closed", []string{"sh", "-c", "exec 4>&-; exec sleep 1000"}, Ready{NotifyFD: 4, Timeout: duration.Of(time.Minute)}, "",
			"not ready (ready.notify_fd: closed without a newline), " + stopped},
		{"not restarted", nil, Ready{Exec: []string{"sh", "-c", "exit 3"}}, RestartNever,
			`not ready within 2s (ready.exec: exit status 3), so stopped: failed with exit code 143 and is not restarted (restart = "never")`},
		{"max_restarts", nil, Ready{Exec: []string{"sh", "-c", "exit 3"}}, "max_restarts",
			`failed: restarted 1 times within 5m0s (max_restarts); the last time not ready within 2s (ready.exec: exit status 3), so stopped: ended with exit code 143`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ProcessConfig{Command: tc.command, Ready: tc.ready, Restart: tc.restart}
			// Held in backoff (or given up) while the test reads why.
			p.Backoff = Backoff{Initial: duration.Of(time.Hour), Max: duration.Of(time.Hour)}
			if tc.restart == "max_restarts" { // restarted at once, once, then given up
				p.Restart, p.MaxRestarts = "", 1
				p.Backoff = Backoff{Initial: duration.Of(10 * time.Millisecond)}
			}
			if p.Command == nil {
				p.Command = []string{"sleep", "1000"}
			}
			if p.Ready.Timeout == 0 {
				p.Ready.Timeout = duration.Of(2 * time.Second) // ample for the first attempt, on a busy machine
			}
			p.Ready.Interval = duration.Of(50 * time.Millisecond)
			h := startSupervisor(t, Options{Processes: map[string]ProcessConfig{"p": p}})
			testkit.Eventually(t, "p ended", func() bool {
				st := h.status("p")
				return (st.State == StateBackoff && p.MaxRestarts == 0) || st.State == StateFailed
			})
			if st := h.status("p"); st.Reason != tc.want {
				t.Errorf("reason:\nwant %s\nhave %s", tc.want, st.Reason)
			}
		})
	}
}
