// Package examples holds complete, documented appliances; this test proves
// that every example's configuration loads.
package examples

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildCorral builds cmd/corral into a temporary directory.
func buildCorral(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "corral")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/corral-metrics/corral/cmd/corral")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/corral: %v\n%s", err, out)
	}
	return bin
}

// TestExamplesCheck runs `corral check --config.file` on every example's
// corral.toml, from the repository root as the READMEs do.
func TestExamplesCheck(t *testing.T) {
	bin := buildCorral(t)
	configs, err := filepath.Glob("*/corral.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"appliance/corral.toml", "kubernetes/corral.toml", "node-exporter/corral.toml", "quickstart/corral.toml"}
	if have := strings.Join(configs, " "); have != strings.Join(want, " ") {
		t.Errorf("example configs:\nwant %s\nhave %s", strings.Join(want, " "), have)
	}
	for _, cfg := range configs {
		t.Run(filepath.Dir(cfg), func(t *testing.T) {
			var out bytes.Buffer
			cmd := exec.Command(bin, "check", "--config.file", filepath.Join("examples", cfg))
			cmd.Dir = ".."
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if have := cmd.ProcessState.ExitCode(); err != nil || have != 0 {
				t.Errorf("corral check --config.file examples/%s\nwant exit 0\nhave exit %d (%v)\n%s", cfg, have, err, out.String())
			}
		})
	}
}

// TestExamplesFiles checks that every example has its README and that every
// shell script it runs parses and is executable.
func TestExamplesFiles(t *testing.T) {
	dirs, err := filepath.Glob("*/corral.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range dirs {
		dir := filepath.Dir(cfg)
		if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
			t.Errorf("%s: want a README.md, have %v", dir, err)
		}
	}
	scripts, err := filepath.Glob("*/*.sh")
	if err != nil {
		t.Fatal(err)
	}
	scripts = append(scripts, "appliance/exporter/cgi-bin/metrics")
	for _, s := range scripts {
		fi, err := os.Stat(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s: want executable, have mode %v", s, fi.Mode())
		}
		if out, err := exec.Command("/bin/sh", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: want no error, have %v\n%s", s, err, out)
		}
	}
}
