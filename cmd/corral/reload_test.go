package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corral-metrics/corral/gateway"
)

// TestReloadAccessWebConfigFile: web_config_file needs a restart, so a
// reload judges the control API's gate (do clients authenticate?) and the
// basic auth / bearer token conflict by the file the server runs with, as
// that file is now, never by the file the new configuration names.
func TestReloadAccessWebConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	users := write("users.yml", "basic_auth_users:\n  prom: $2a$04$6GOd8bU6cCM0ncJ8vi3tJ.eJJz1h8o7IY0YGjHmXRdrjs6jKRh5O6\n")
	none := write("none.yml", "{}\n")
	edited := write("edited.yml", "basic_auth_users:\n  prom: $2a$04$6GOd8bU6cCM0ncJ8vi3tJ.eJJz1h8o7IY0YGjHmXRdrjs6jKRh5O6\n")
	token := write("token", "s3cret\n")
	write("edited.yml", "{}\n") // its users removed since the start, no restart

	for _, tc := range []struct {
		name          string
		running, next gateway.WebConfig
		wantAuth      bool
		wantErr       string
	}{
		{"users named on reload, none running", gateway.WebConfig{}, gateway.WebConfig{WebConfigFile: users}, false, ""},
		{"users running, file dropped on reload", gateway.WebConfig{WebConfigFile: users}, gateway.WebConfig{WebConfigFile: none}, true, ""},
		{"running file's users removed since", gateway.WebConfig{WebConfigFile: edited}, gateway.WebConfig{WebConfigFile: edited}, false, ""},
		{"running users and a new bearer token", gateway.WebConfig{WebConfigFile: users}, gateway.WebConfig{BearerTokenFile: token}, false, "sets basic_auth_users and [web] bearer_token_file is set"},
		{"new users and a bearer token, none running", gateway.WebConfig{}, gateway.WebConfig{WebConfigFile: users, BearerTokenFile: token}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			access, err := reloadAccess(tc.running, tc.next)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("want the reload refused (%q), have %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want the reload accepted, have %v", err)
			}
			if access.WebAuthenticated != tc.wantAuth {
				t.Errorf("WebAuthenticated: want %v (what the running server asks), have %v", tc.wantAuth, access.WebAuthenticated)
			}
		})
	}
}
