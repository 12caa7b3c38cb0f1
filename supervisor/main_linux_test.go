package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/testkit"
)

// Issue 11: the main process after -- is as transparent as under tini: its
// stdin, its terminal, its stdout and stderr are corral's.

// TestPID1MainStdinStdout: `echo x | docker run -i IMG -- cat` prints x;
// the main process's output is not rewritten (no prefix, CR kept), unless
// main_output = "prefix".
func TestPID1MainStdinStdout(t *testing.T) {
	for _, tc := range []struct {
		name, output string
		main         []string
		stdin        string
		stdout       string
		stderr       string // but corral's own log lines
	}{
		{"cat", "", []string{"/bin/cat"}, "x\n", "x\n", ""},
		{"crlf kept", "", []string{"/bin/sh", "-c", `printf 'a\r\nb'`}, "", "a\r\nb", ""},
		{"stderr is its own", "", []string{"/bin/sh", "-c", "echo oops >&2"}, "", "", "oops\n"},
		{"prefix", MainOutputPrefix, []string{"/bin/cat"}, "x\n", "[main] x\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout testkit.Buffer
			p := startPID1With(t, initConfig{Main: tc.main, StopTimeout: 5 * time.Second, MainOutput: tc.output}, func(c *exec.Cmd) {
				c.Stdin, c.Stdout = strings.NewReader(tc.stdin), &stdout
			})
			code, _ := p.wait(t)
			if code != 0 {
				t.Errorf("exit code: want 0, have %d", code)
			}
			var stderr strings.Builder
			for _, l := range strings.SplitAfter(p.stderr.String(), "\n") {
				if !strings.HasPrefix(l, "time=") {
					stderr.WriteString(l)
				}
			}
			if stdout.String() != tc.stdout || stderr.String() != tc.stderr {
				t.Errorf("main's output: want stdout %q, stderr %q; have %q, %q", tc.stdout, tc.stderr, stdout.String(), stderr.String())
			}
		})
	}
}

// pty is a pseudo-terminal: the test holds the master, corral gets the
// slave as its stdin, stdout, stderr and controlling terminal (as `docker
// run -t` gives it).
type pty struct {
	master, slave *os.File
	out           testkit.Buffer // what the master read
	done          chan struct{}
}

func openPTY(t *testing.T) *pty { return openPTYFlags(t, 0) }

// openPTYFlags opens a pty with lflag set on its slave too (TOSTOP).
func openPTYFlags(t *testing.T, lflag uint32) *pty {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	testkit.Need(t, "a pseudo-terminal (/dev/ptmx)", err)
	master := os.NewFile(uintptr(m), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(m, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		testkit.Need(t, "the pseudo-terminal's slave", err)
	}
	// No echo, no \n to \r\n: what the master reads is what was written.
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ECHO
	tio.Lflag |= lflag
	tio.Oflag &^= unix.ONLCR
	if err := unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	p := &pty{master: master, slave: slave, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			p.out.Write(buf[:n])
			if err != nil { // EIO once every slave is closed
				return
			}
		}
	}()
	t.Cleanup(func() { master.Close(); slave.Close(); <-p.done })
	return p
}

// attach makes the pty c's stdio and controlling terminal, in a session of
// its own.
func (p *pty) attach(c *exec.Cmd) {
	c.Stdin, c.Stdout, c.Stderr = p.slave, p.slave, p.slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
}

// TestPID1MainGetsTerminal: `docker run -t IMG -- sh -c 'test -t 0'` exits
// 0, and the main process's group is the terminal's foreground group (as
// tini's tcsetpgrp makes it), so it reads the terminal and gets its ^C.
// Also dumb-init's test_child_gets_controlling_tty_if_we_had_one.
func TestPID1MainGetsTerminal(t *testing.T) {
	pt := openPTY(t)
	rec := filepath.Join(t.TempDir(), "record")
	p := startPID1With(t, initConfig{Main: helperMain(t, "main", rec, "tty"), StopTimeout: 5 * time.Second}, pt.attach)
	code, _ := p.wait(t)
	pt.slave.Close()
	if code != 0 {
		t.Errorf("exit code: want 0, have %d", code)
	}
	evs := readRecord(t, rec)
	for _, what := range []string{"tty", "foreground"} {
		if len(filter(evs, what, "main")) != 1 {
			t.Errorf("want the main process to record %q, have %v", what, evs)
		}
	}
	if t.Failed() {
		<-pt.done
		t.Logf("terminal:\n%s", pt.out.String())
	}
}

// TestDumbInit_TTY: a process under corral reads and writes the terminal
// (dumb-init's test_tty: tac through a pty).
func TestDumbInit_TTY(t *testing.T) {
	pt := openPTY(t)
	p := startPID1With(t, initConfig{Main: []string{"/usr/bin/tac"}, StopTimeout: 5 * time.Second}, pt.attach)
	pt.master.Write([]byte("1\n2\n3\n\x04"))
	code, _ := p.wait(t)
	pt.slave.Close()
	<-pt.done
	var have strings.Builder // but corral's own log lines
	for _, l := range strings.SplitAfter(pt.out.String(), "\n") {
		if !strings.HasPrefix(l, "time=") {
			have.WriteString(l)
		}
	}
	if code != 0 || have.String() != "3\n2\n1\n" {
		t.Errorf("want exit 0 and 3 2 1, have %d and %q", code, pt.out.String())
	}
}

// TestTini_TTYHandling: tini's outer TTY tests. An interactive shell as the
// main process on the terminal exits 0 on "exit 0"; a loop interrupted by
// ^C on the terminal (SIGINT to the foreground group: the main process's,
// not corral's) makes corral exit 130.
func TestTini_TTYHandling(t *testing.T) {
	for _, tc := range []struct {
		name  string
		main  []string
		input string
		want  int
	}{
		{"shell exit 0", []string{"/bin/sh", "-i"}, "exit 0\n", 0},
		{"ctrl-c", []string{"/bin/sh", "-c", "echo ready; while true; do sleep 0.1; done"}, "\x03", 128 + int(unix.SIGINT)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := openPTY(t)
			p := startPID1With(t, initConfig{Main: tc.main, StopTimeout: 5 * time.Second}, pt.attach)
			if tc.input == "\x03" {
				testkit.Eventually(t, "the loop", func() bool { return strings.Contains(pt.out.String(), "ready") })
			}
			pt.master.Write([]byte(tc.input))
			code, _ := p.wait(t)
			if code != tc.want {
				t.Errorf("exit code: want %d, have %d", tc.want, code)
			}
		})
	}
}

// TestPID1TerminalTostop: once the main process has the terminal, corral
// is in a background group of it; with `stty tostop` each of its log
// writes would raise SIGTTOU. corral ignores SIGTTIN and SIGTTOU then, as
// tini does, so it is neither stopped nor caught in a loop of SIGTTOUs
// forwarded to the main process (which would stop it).
func TestPID1TerminalTostop(t *testing.T) {
	pt := openPTYFlags(t, unix.TOSTOP)
	rec := filepath.Join(t.TempDir(), "record")
	p := startPID1With(t, initConfig{Main: helperMain(t, "main", rec, "tty"), StopTimeout: 5 * time.Second}, pt.attach)
	code, _ := p.wait(t)
	pt.slave.Close()
	if evs := readRecord(t, rec); code != 0 || len(filter(evs, "foreground", "main")) != 1 {
		t.Errorf("want exit 0 and main in the foreground, have %d, %v", code, evs)
	}
	<-pt.done
	if !strings.Contains(pt.out.String(), `msg="process ended" component=supervisor process=main`) {
		t.Errorf("want corral's log of the main process's end on the terminal, have\n%s", pt.out.String())
	}
}

// TestPID1TerminalChildSignalsDefault: corral ignores SIGTTIN and SIGTTOU
// once the main process has the terminal, but a process it starts after
// that (here one a SIGHUP adds) starts with both at their default action,
// as under tini: a program expects them so (a background job reading the
// terminal stops instead of getting EIO), and exec would keep them
// ignored. corral ignores them again once it has started. The terminal has
// `stty tostop`, as in TestPID1TerminalTostop.
func TestPID1TerminalChildSignalsDefault(t *testing.T) {
	const ttinTTOU = 1<<(unix.SIGTTIN-1) | 1<<(unix.SIGTTOU-1) // in SigIgn of /proc/PID/status
	pt := openPTYFlags(t, unix.TOSTOP)
	rec := filepath.Join(t.TempDir(), "record")
	b := helper(t, "b", rec, "run")
	b.Command = recordSigIgn(rec, "b", b.Command)
	p := startPID1With(t, initConfig{Main: recordSigIgn(rec, "main", helperMain(t, "main", rec, "run")), StopTimeout: 5 * time.Second,
		Reload: map[string]ProcessConfig{"b": b}}, pt.attach)
	testkit.Eventually(t, "main started", func() bool { return len(filter(readRecord(t, rec), "start", "main")) == 1 })
	pid := p.corralPid(t)
	testkit.Eventually(t, "corral ignoring SIGTTIN and SIGTTOU", func() bool { return sigIgn(t, pid)&ttinTTOU == ttinTTOU })
	p.signal(t, unix.SIGHUP)
	testkit.Eventually(t, "b started", func() bool { return len(filter(readRecord(t, rec), "start", "b")) == 1 })
	testkit.Eventually(t, "corral ignoring them again once b started", func() bool { return sigIgn(t, pid)&ttinTTOU == ttinTTOU })
	p.signal(t, unix.SIGTERM)
	code, _ := p.wait(t)
	pt.slave.Close()
	if code != 0 {
		t.Errorf("exit code: want 0, have %d", code)
	}
	for _, name := range []string{"main", "b"} {
		evs := filter(readRecord(t, rec), "", name)
		if len(evs) == 0 {
			t.Fatalf("%s recorded nothing", name)
		}
		hex, ok := strings.CutPrefix(evs[0].what, "sigign-")
		ign, err := strconv.ParseUint(hex, 16, 64)
		if !ok || err != nil {
			t.Fatalf("%s: want a sigign-HEX event first, have %v", name, evs)
		}
		if ign&ttinTTOU != 0 {
			t.Errorf("%s started with SIGTTIN or SIGTTOU ignored: SigIgn %016x", name, ign)
		}
	}
	<-pt.done
	if !strings.Contains(pt.out.String(), `msg="process ended" component=supervisor process=main`) {
		t.Errorf("want corral's log of the main process's end on the terminal, have\n%s", pt.out.String())
	}
}

// recordSigIgn wraps cmd in a shell that records "sigign-HEX" for name in
// rec, HEX being the SigIgn of /proc/PID/status it started with, then
// execs cmd. (A Go program cannot tell: its runtime changes its signal
// handling before main runs.)
func recordSigIgn(rec, name string, cmd []string) []string {
	script := `while read -r k v; do [ "$k" = SigIgn: ] && ign=$v; done < /proc/$$/status; ` +
		shellRecord(rec, "sigign-$ign", name) + `; exec "$@"`
	return append([]string{"/bin/sh", "-c", script, "sh"}, cmd...)
}

// sigIgn is the SigIgn mask of /proc/PID/status: the signals pid ignores.
func sigIgn(t testing.TB, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "SigIgn:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no SigIgn in /proc/%d/status", pid)
	return 0
}
