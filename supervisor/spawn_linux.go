package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// spec is what to run: a process's, a task's or an exec check's command.
type spec struct {
	name    string // for the log prefix
	command []string
	env     map[string]string
	dir     string
	cred    *Credential
	capture bool // pipe stdout/stderr to corral's, prefixed; else /dev/null
}

// child is a started process in its own process group.
type child struct {
	pid    int
	start  time.Time
	exited <-chan Exit
	output chan struct{} // closed once both streams reached EOF
}

// outputGrace bounds how long an ended child's output is waited for: a
// grandchild that inherited the pipe may hold it open for ever.
const outputGrace = time.Second

// spawn starts sp through the reaper in a new process group.
func (s *Supervisor) spawn(sp spec) (*child, error) {
	cmd := exec.Command(sp.command[0], sp.command[1:]...)
	if len(sp.env) > 0 {
		cmd.Env = os.Environ()
		for _, k := range sortedKeys(sp.env) {
			cmd.Env = append(cmd.Env, k+"="+sp.env[k])
		}
	}
	cmd.Dir = sp.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if sp.cred != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: sp.cred.UID, Gid: sp.cred.GID}
	}
	c := &child{output: make(chan struct{})}
	var readers []*os.File
	if sp.capture {
		outR, outW, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			outR.Close()
			outW.Close()
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = outW, errW
		readers = []*os.File{outR, errR}
		defer outW.Close() // the child has its own copies
		defer errW.Close()
	}
	pid, exited, err := s.reaper.StartPid(cmd)
	if err != nil {
		for _, r := range readers {
			r.Close()
		}
		return nil, err
	}
	c.pid, c.start, c.exited = pid, time.Now(), exited
	if !sp.capture {
		close(c.output)
		return c, nil
	}
	ended := make(chan struct{}, 2)
	for i, r := range readers {
		dst, stream := s.stdout, "stdout"
		if i == 1 {
			dst, stream = s.stderr, "stderr"
		}
		go func() {
			pump(r, dst, s.format, sp.name, stream)
			r.Close()
			ended <- struct{}{}
		}()
	}
	go func() { <-ended; <-ended; close(c.output) }()
	return c, nil
}

// drain waits a little for the rest of an ended child's output.
func (c *child) drain() {
	t := time.NewTimer(outputGrace)
	defer t.Stop()
	select {
	case <-c.output:
	case <-t.C:
	}
}

// killGroup signals the whole process group led by pid. A group that is
// already gone is not an error.
func killGroup(pid int, sig unix.Signal) error {
	if pid <= 0 {
		return nil
	}
	if err := unix.Kill(-pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %s to process group %d: %w", unix.SignalName(sig), pid, err)
	}
	return nil
}

// startErrorCode is the exit code recorded for a command that could not be
// started, as a shell would: 127 not found, 126 not executable.
func startErrorCode(err error) int {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return 127
	default:
		return 126
	}
}
