package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSplitMain: with tini's meaning of "--", what follows the first "--"
// is the main command whenever only global flags (and their values) come
// before it; a subcommand before it keeps the command line as it is.
func TestSplitMain(t *testing.T) {
	flags := newApp(nil).Flags
	for _, tc := range []struct {
		args      []string
		own, main []string // nil own: not split
	}{
		{[]string{"corral", "--", "version"}, []string{"corral"}, []string{"version"}},
		{[]string{"corral", "--config.file", "c.toml", "--", "check", "hello"}, []string{"corral", "--config.file", "c.toml"}, []string{"check", "hello"}},
		{[]string{"corral", "--config.file=c.toml", "-log.level", "debug", "--", "ctl", "status"}, []string{"corral", "--config.file=c.toml", "-log.level", "debug"}, []string{"ctl", "status"}},
		{[]string{"corral", "--config.dir", "--", "--", "import"}, []string{"corral", "--config.dir", "--"}, []string{"import"}}, // a flag's value is not the "--"
		{[]string{"corral", "--help", "--", "healthcheck"}, []string{"corral", "--help"}, []string{"healthcheck"}},
		{[]string{"corral", "--"}, []string{"corral"}, []string{}},
		{[]string{"corral", "check", "--", "x"}, nil, nil},
		{[]string{"corral", "--config.file", "c.toml", "ctl", "signal", "--", "web", "HUP"}, nil, nil},
		{[]string{"corral", "sh", "--", "-c", "x"}, nil, nil},
		{[]string{"corral", "--config.file", "c.toml"}, nil, nil},
	} {
		own, main, found := splitMain(flags, tc.args)
		if found != (tc.own != nil) || !slices.Equal(own, tc.own) || !slices.Equal(main, tc.main) {
			t.Errorf("%q: want %q and main %q (split: %v), have %q and %q (split: %v)", tc.args, tc.own, tc.main, tc.own != nil, own, main, found)
		}
	}
}

// TestMainCommandNamedLikeSubcommand: `corral -- version` runs the program
// named version as the main process (corral exits with its code), not
// corral's own command; likewise check, whose name is also a subcommand's.
func TestMainCommandNamedLikeSubcommand(t *testing.T) {
	bin := buildCorral(t)
	dir := t.TempDir()
	for _, name := range []string{"version", "check"} {
		script := "#!/bin/sh\necho main \"$(basename \"$0\")\" \"$@\"\nexit 7\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, main := range [][]string{{"version"}, {"check", "hello"}} {
		t.Run(main[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			args := append([]string{"--config.file", filepath.Join("testdata", "minimal.toml"), "--web.listen-address", freeAddr(t), "--"}, main...)
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
			out, err := cmd.Output()
			want := "main " + strings.Join(main, " ") + "\n"
			if code := exitCode(err); code != 7 || string(out) != want {
				t.Errorf("corral %s: want exit 7 and %q, have %d and %q", strings.Join(args, " "), want, code, out)
			}
		})
	}
}
