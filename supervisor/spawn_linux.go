package supervisor

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"github.com/corral-metrics/corral/supervisor/proc"
	"github.com/corral-metrics/corral/supervisor/tail"
)

// spec is what to run: a process's, a task's or an exec check's command.
type spec struct {
	name    string // for the log prefix
	command []string
	env     map[string]string
	dir     string
	cred    *Credential
	capture bool // pipe stdout/stderr to corral's, prefixed; else /dev/null (or corral's own, with terminal)
	// terminal: stdin is corral's, and the child's group is the foreground
	// group of corral's controlling terminal if there is one (tini's
	// tcsetpgrp); without capture, stdout and stderr are corral's own too,
	// untouched. The main process's, as under tini.
	terminal bool
	// tail keeps the recent output of a captured process; nil: none.
	tail *tail.Buffer
	// notifyFD, if 3 or more, is the descriptor of the child's readiness
	// notification pipe (ready.notify_fd).
	notifyFD int
}

// child is a started process, the leader of its own process group.
type child struct {
	*proc.Child
	output chan struct{} // closed once both streams reached EOF
	notify *os.File      // the read end of its notification pipe, or nil
}

// outputGrace bounds how long an ended child's output is waited for: a
// grandchild that inherited the pipe may hold it open for ever.
const outputGrace = time.Second

// spawn starts sp through the reaper in a new process group.
func (s *Supervisor) spawn(sp spec) (*child, error) {
	cmd := proc.Cmd{Args: sp.command, Dir: sp.dir}
	if len(sp.env) > 0 {
		cmd.Env = os.Environ()
		for _, k := range slices.Sorted(maps.Keys(sp.env)) {
			cmd.Env = append(cmd.Env, k+"="+sp.env[k])
		}
	}
	if sp.cred != nil {
		cmd.Credential = &syscall.Credential{Uid: sp.cred.UID, Gid: sp.cred.GID}
	}
	if sp.terminal {
		cmd.Stdin, cmd.Foreground = proc.Inherit, true
		cmd.Stdout, cmd.Stderr = proc.Inherit, proc.Inherit
	}
	if sp.capture {
		cmd.Stdout, cmd.Stderr = proc.Pipe, proc.Pipe
	}
	var notify *os.File
	if sp.notifyFD >= 3 {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd.ExtraFiles = make([]*os.File, sp.notifyFD-2) // nil slots are closed in the child
		cmd.ExtraFiles[sp.notifyFD-3] = w
		defer w.Close() // the child has its own copy
		notify = r
	}
	pc, err := s.reaper.Start(cmd)
	if err != nil {
		if notify != nil {
			notify.Close()
		}
		return nil, err
	}
	c := &child{Child: pc, output: make(chan struct{}), notify: notify}
	if !sp.capture {
		close(c.output)
		return c, nil
	}
	ended := make(chan struct{}, 2)
	for _, r := range []struct {
		f      *os.File
		dst    *sink
		stream string
	}{{pc.Stdout, s.stdout, "stdout"}, {pc.Stderr, s.stderr, "stderr"}} {
		go func() {
			pump(r.f, r.dst, sp.tail, s.format, sp.name, r.stream)
			r.f.Close()
			ended <- struct{}{}
		}()
	}
	go func() { <-ended; <-ended; close(c.output) }()
	return c, nil
}

// drain waits a little (at most most) for the rest of an ended child's output.
func (c *child) drain(most time.Duration) {
	t := time.NewTimer(most)
	defer t.Stop()
	select {
	case <-c.output:
	case <-t.C:
	}
}

// startErrorCode is the exit code recorded for a command that could not be
// started, as a shell would: 127 not found, 126 not executable (or no
// such dir).
func startErrorCode(err error) int {
	switch {
	case errors.Is(err, proc.ErrNoDir):
		return 126
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return 127
	default:
		return 126
	}
}
