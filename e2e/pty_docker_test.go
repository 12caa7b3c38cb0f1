//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/testkit"
)

// testInteractive is tini's outer TTY test: `docker run -it IMG -- sh`
// under a real terminal is an interactive shell with job control; ^C
// interrupts its foreground job, not corral; "exit 7" ends the container
// with 7.
func testInteractive(t *testing.T, env *dockerEnv) {
	master, slave := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("corral-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())
	defer docker("rm", "-f", name)
	cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "--name", name, "-it", env.corral, "--", "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var mu sync.Mutex
	var out strings.Builder
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(s string) func() (bool, string) {
		return func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			return strings.Contains(out.String(), s), tail(out.String(), 10)
		}
	}
	testkit.Within(t, 60*time.Second, "the shell's prompt", seen("# "))
	master.Write([]byte("echo flags=$-\n"))
	testkit.Within(t, 30*time.Second, "the shell's flags", seen("flags=s"))
	master.Write([]byte("sleep 30\n"))
	testkit.Within(t, 30*time.Second, "sleep 30 running in the container", func() (bool, string) {
		top, err := docker("top", name)
		return err == nil && strings.Contains(top, "sleep 30"), top
	})
	master.Write([]byte("\x03echo status=$?\n"))
	// ^C killed sleep, the terminal's foreground job, not the shell (nor corral).
	testkit.Within(t, 30*time.Second, "sleep's status", seen("status=130"))
	master.Write([]byte("exit 7\n"))
	err := cmd.Wait()
	master.Close()
	<-read
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Errorf("docker run -it IMG -- sh, then exit 7: want exit 7, have %d (%v)\n%s", code, err, tail(out.String(), 20))
	}
	if !strings.Contains(out.String(), "flags=") || !strings.Contains(out.String()[strings.Index(out.String(), "flags="):], "m") {
		t.Errorf("want job control (m in $-), have\n%s", tail(out.String(), 20))
	}
}

// openPTY opens a pseudo-terminal: the master, and its slave for a child.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("a pseudo-terminal is needed: %v", err)
	}
	master = os.NewFile(uintptr(m), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}
