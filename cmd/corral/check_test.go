package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestCheckProcesses: corral check reports what start-up would refuse or
// fail on, naming file and key: a process's stop_timeout longer than the
// whole shutdown's, and a dir that does not exist (a script's too, where
// every run would fail).
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
		{"script dir missing", `[script.s]
command = ["/bin/true"]
dir = "/nonexistent/dir"`, "script.s.dir: /nonexistent/dir: no such directory"},
		{"script dir", `[script.s]
command = ["/bin/true"]
dir = "` + dir + `"`, ""},
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

// runCheck runs `corral check ARGS...` in the process and returns what it
// printed (out and errors) and its exit code.
func runCheck(t *testing.T, args ...string) (string, int) {
	t.Helper()
	app := newApp(nil)
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {} // the exit code is read below, not acted on
	err := app.Run(append([]string{"corral", "check"}, args...))
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ec):
		out.WriteString(err.Error())
		return out.String(), ec.ExitCode()
	case err != nil:
		t.Fatalf("corral check: %v", err)
	}
	return out.String(), 0
}

// TestCheckListenAddress: corral check refuses a listen address the server
// could not listen on (no port, a port past 65535), from [web] or from the
// flag that wins over it, with the error start-up would give, and binds
// nothing to find out.
func TestCheckListenAddress(t *testing.T) {
	file := filepath.Join(t.TempDir(), "corral.toml")
	for _, tc := range []struct {
		web, flag string
		want      string // "": exit 0
	}{
		{"127.0.0.1:9999", "", ""},
		{":9999", "", ""},
		{"[::1]:0", "", ""},
		{"localhost:http", "", ""},
		{"127.0.0.1", "", file + `: web.listen_address: "127.0.0.1": missing port in address (want host:port, such as ":9999" or "127.0.0.1:9999")`},
		{"localhost:99999", "", file + `: web.listen_address: "localhost:99999": port 99999: want 0 to 65535`},
		{"localhost:nosuchservice", "", file + `: web.listen_address: "localhost:nosuchservice": port "nosuchservice": want a number from 0 to 65535 or a service name`},
		{"bad host:80", "", file + `: web.listen_address: "bad host:80": "bad host" is not a host name`},
		{"", "127.0.0.1", `--web.listen-address: "127.0.0.1": missing port in address (want host:port, such as ":9999" or "127.0.0.1:9999")`},
		{"", "localhost:99999", `--web.listen-address: "localhost:99999": port 99999: want 0 to 65535`},
		{"127.0.0.1:9999", ":0", ""},
	} {
		web := ""
		if tc.web != "" {
			web = "[web]\nlisten_address = \"" + tc.web + "\"\n"
		}
		if err := os.WriteFile(file, []byte(web), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"--config.file", file}
		if tc.flag != "" {
			args = append(args, "--web.listen-address", tc.flag)
		}
		out, code := runCheck(t, args...)
		switch {
		case tc.want == "" && code != 0:
			t.Errorf("web %q, flag %q: want exit 0, have %d\n%s", tc.web, tc.flag, code, out)
		case tc.want != "" && (code != 1 || strings.TrimSpace(out) != tc.want):
			t.Errorf("web %q, flag %q: want exit 1 with\n%s\nhave %d\n%s", tc.web, tc.flag, tc.want, code, out)
		}
	}
}

// TestCheckReportsAllAtOnce: corral check reports what only building the
// sources finds (a tls.ca_file that does not exist, a missing dir) together
// with the bad values elsewhere, not once those are fixed; a section with
// a bad value of its own is not built.
func TestCheckReportsAllAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "corral.toml")
	if err := os.WriteFile(file, []byte(`[exporter.tls]
url = "https://x/"
tls = { ca_file = "/nonexistent/ca.pem" }

[exporter.slow]
url = "http://x/"
timeout = 5

[exporter.bad]
url = "http://x/"
timeout = "-1s"
tls = { ca_file = "/nonexistent/other.pem" }

[process.p]
command = ["x"]
restart = "sometimes"

[process.q]
command = ["x"]
dir = "/nonexistent/dir"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runCheck(t, "--config.file", file)
	want := []string{
		file + `: line 7: exporter.slow.timeout: a duration is a string with a unit, such as "5s" (have 5)`,
		file + `: process.p.restart: "sometimes" is not one of always, on-failure, never`,
		file + `: exporter.bad.timeout: must be positive`,
		file + `: exporter.tls.tls.ca_file: open /nonexistent/ca.pem: no such file or directory`,
		file + `: process.q.dir: /nonexistent/dir: no such directory`,
	}
	if have := strings.TrimSpace(out); code != 1 || have != strings.Join(want, "\n") {
		t.Errorf("want exit 1 with\n%s\nhave %d\n%s", strings.Join(want, "\n"), code, have)
	}
}
