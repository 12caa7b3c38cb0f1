package proc

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestStartLikeExecvp: Start finds and runs a command as execvp(3) does
// (tini and dumb-init exec with it): the command is looked up in the PATH
// of the child's own environment when it sets one, and a file without
// "#!" runs through /bin/sh. A missing dir is its own error, not a
// missing command.
func TestStartLikeExecvp(t *testing.T) {
	bin := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(bin, name)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("corral-hello", "#!/bin/sh\necho found \"$@\"\n")
	noShebang := write("no-shebang", "echo plain \"$1\"\nexit 3\n")
	r := startReaper(t)
	for _, tc := range []struct {
		name     string
		cmd      Cmd
		wantOut  string
		wantCode int
		wantErr  string
	}{
		{"PATH of env", Cmd{Args: []string{"corral-hello", "x"}, Env: []string{"PATH=/nonexistent:" + bin}}, "found x\n", 0, ""},
		{"last PATH of env wins", Cmd{Args: []string{"corral-hello"}, Env: []string{"PATH=/nonexistent", "PATH=" + bin}}, "found\n", 0, ""},
		{"not in the PATH of env", Cmd{Args: []string{"sh", "-c", "true"}, Env: []string{"PATH=" + bin}}, "", 0, `exec: "sh": executable file not found in $PATH`},
		{"corral's PATH without one", Cmd{Args: []string{"sh", "-c", "echo sh"}}, "sh\n", 0, ""},
		{"script without #!", Cmd{Args: []string{noShebang, "arg"}}, "plain arg\n", 3, ""},
		{"script without #! found in PATH", Cmd{Args: []string{"no-shebang", "arg"}, Env: []string{"PATH=/usr/bin:/bin:" + bin}}, "plain arg\n", 3, ""},
		{"missing dir", Cmd{Args: []string{"/bin/true"}, Dir: "/nonexistent/dir"}, "", 0, "dir: /nonexistent/dir: no such directory"},
		{"dir is a file", Cmd{Args: []string{"/bin/true"}, Dir: noShebang}, "", 0, "dir: " + noShebang + ": no such directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cmd.Stdout = Pipe
			c, err := r.Start(tc.cmd)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("want error %q, have %v", tc.wantErr, err)
				}
				if tc.cmd.Dir != "" && !errors.Is(err, ErrNoDir) {
					t.Errorf("want ErrNoDir, have %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(c.Stdout)
			c.Stdout.Close()
			e := waitExit(t, c)
			if string(out) != tc.wantOut || e.Code() != tc.wantCode {
				t.Errorf("want %q and code %d, have %q and %d", tc.wantOut, tc.wantCode, out, e.Code())
			}
		})
	}
}

// TestPipesBelongToUser: a process run as another user can open
// /dev/stdout and /dev/stderr (nginx's access_log /dev/stdout), as under
// `docker run --user`: its pipes are its own. Needs root.
func TestPipesBelongToUser(t *testing.T) {
	if os.Getuid() != 0 {
		testkit.Need(t, "running a process as another user", errors.New("needs root"))
	}
	r := startReaper(t)
	c, err := r.Start(Cmd{
		Args:       []string{"/bin/sh", "-c", "echo out > /dev/stdout && echo err > /dev/stderr"},
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534},
		Stdout:     Pipe, Stderr: Pipe,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c.Stdout)
	errOut, _ := io.ReadAll(c.Stderr)
	c.Stdout.Close()
	c.Stderr.Close()
	e := waitExit(t, c)
	if string(out) != "out\n" || string(errOut) != "err\n" || !e.Success() {
		t.Errorf("want out, err and exit 0; have %q, %q, %s", out, errOut, e)
	}
}

func TestExitString(t *testing.T) {
	for _, tc := range []struct {
		status unix.WaitStatus
		want   string
		code   int
	}{
		{0, "exit status 0", 0},
		{3 << 8, "exit status 3", 3},
		{unix.WaitStatus(unix.SIGKILL), "killed by SIGKILL", 137},
		{unix.WaitStatus(unix.SIGTERM), "killed by SIGTERM", 143},
		{unix.WaitStatus(unix.SIGSEGV) | 0x80, "killed by SIGSEGV", 139}, // core dumped
	} {
		e := Exit{Status: tc.status}
		if have := e.String(); have != tc.want || e.Code() != tc.code {
			t.Errorf("status %#x: want %q (%d), have %q (%d)", uint32(tc.status), tc.want, tc.code, have, e.Code())
		}
	}
}
