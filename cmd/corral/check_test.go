package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckProcesses: corral check reports what start-up would refuse or
// fail on, naming file and key: a process's stop_timeout longer than the
// whole shutdown's, and a dir that does not exist.
func TestCheckProcesses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"good", `[process.a]
command = ["/bin/true"]
dir = "` + dir + `"
stop_timeout = "4s"`, ""},
		{"stop_timeout too long", `[supervisor]
stop_timeout = "5s"
[process.a]
command = ["/bin/true"]
stop_timeout = "6s"`, "process.a.stop_timeout: 6s is longer than [supervisor] stop_timeout (5s), the bound of the whole shutdown"},
		{"process dir missing", `[process.a]
command = ["/bin/true"]
dir = "/nonexistent/dir"`, "process.a.dir: /nonexistent/dir: no such directory"},
		{"task dir missing", `[task.t]
command = ["/bin/true"]
dir = "/nonexistent/dir"`, "task.t.dir: /nonexistent/dir: no such directory"},
		{"dir is a file", `[process.a]
command = ["/bin/true"]
dir = "/etc/hostname"`, "process.a.dir: /etc/hostname: no such directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "corral.toml")
			if err := os.WriteFile(file, []byte(tc.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := loadConfig(file, nil)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			have := ""
			if err := checkBuild(cfg); err != nil {
				have = err.Error()
			}
			switch {
			case tc.want == "" && have != "":
				t.Errorf("want no error, have %q", have)
			case tc.want != "" && have != file+": "+tc.want:
				t.Errorf("want %q, have %q", file+": "+tc.want, have)
			}
		})
	}
}
