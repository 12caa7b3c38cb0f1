package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestListenPortTaken: when the listen address is taken, corral exits 1
// with a message naming it, before it has started any task or process.
func TestListenPortTaken(t *testing.T) {
	bin := buildCorral(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	config := filepath.Join(dir, "corral.toml")
	toml := `[task.t]
command = ["/bin/touch", "` + marker + `.task"]
[process.p]
command = ["/bin/sh", "-c", "touch ` + marker + `.process; exec sleep 60"]
`
	if err := os.WriteFile(config, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file", config, "--web.listen-address", l.Addr().String(), "--", "/bin/touch", marker+".main")
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("corral did not exit with its port taken\n%s", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: want code 1, have %v\n%s", err, out)
	}
	if want := "web.listen_address: cannot listen on " + l.Addr().String(); !strings.Contains(string(out), want) {
		t.Errorf("want %q in the output, have\n%s", want, out)
	}
	for _, what := range []string{"task", "process", "main"} {
		if _, err := os.Stat(marker + "." + what); err == nil {
			t.Errorf("the %s was started with the port taken", what)
		}
	}
}
