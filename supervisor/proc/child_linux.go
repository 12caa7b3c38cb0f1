package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Stdio is where one of a child's standard streams goes.
type Stdio int

const (
	Null    Stdio = iota // /dev/null
	Pipe                 // a pipe to corral: read it from Child.Stdout or Child.Stderr
	Inherit              // corral's own stream
)

// Cmd is what Start runs.
type Cmd struct {
	// Args[0] is looked up, unless it has a slash, in the PATH of Env (as
	// execvpe does), else in corral's. A file the kernel cannot execute
	// (ENOEXEC: a script without "#!") is run by /bin/sh, as execvp does.
	Args       []string
	Env        []string            // nil: corral's own environment
	Dir        string              // must exist: Start fails with ErrNoDir otherwise
	Credential *syscall.Credential // nil: corral's user; also owns the child's pipes
	// Stdin may be Null or Inherit; Stdout and Stderr any Stdio.
	Stdin, Stdout, Stderr Stdio
	// ExtraFiles are passed on: entry i becomes descriptor 3+i in the
	// child (a readiness notification pipe); the caller closes its copies.
	ExtraFiles []*os.File
	// Foreground, with Stdin Inherit: when corral's stdin is its controlling
	// terminal, the child's process group becomes the terminal's foreground
	// group (as tini does), so that it reads the terminal and gets its ^C.
	// The child sets it between fork and exec with every signal blocked, so
	// no SIGTTOU stops it. From then on corral, in the background, ignores
	// SIGTTIN and SIGTTOU, yet starts every child with them at their default
	// action (see Reaper.forking). Without a controlling terminal it does
	// nothing.
	Foreground bool
}

// ErrNoDir is Start's error when Cmd.Dir is not a directory.
var ErrNoDir = errors.New("no such directory")

// Child is a started process, the leader of a process group of its own.
type Child struct {
	Pid   int // also the id of its process group
	Start time.Time
	// Stdout and Stderr are the read ends of the child's pipes, for the
	// streams started with Pipe; the caller reads and closes them.
	Stdout, Stderr *os.File

	r      *Reaper
	proc   *os.Process
	exited chan Exit
	gone   chan struct{}
}

// Exited receives the leader's exit, once.
func (c *Child) Exited() <-chan Exit { return c.exited }

// Gone is closed once the leader has been reaped and no live process is
// left in its group, zombies aside (or the reaper has stopped). From then on Signal does nothing.
func (c *Child) Gone() <-chan struct{} { return c.gone }

// Signal sends sig to the child's whole process group, as long as anything
// is left in it; the reaper guarantees the group id has not been reused.
func (c *Child) Signal(sig unix.Signal) error {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	select {
	case <-c.gone:
		return nil
	default:
	}
	if err := unix.Kill(-c.Pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %s to process group %d: %w", unix.SignalName(sig), c.Pid, err)
	}
	return nil
}

// Start starts c in a new process group and registers it with the reaper,
// which delivers its exit on Child.Exited.
func (r *Reaper) Start(c Cmd) (*Child, error) {
	if len(c.Args) == 0 || c.Args[0] == "" {
		return nil, errors.New("proc: empty command")
	}
	if c.Stdin == Pipe {
		return nil, errors.New("proc: stdin cannot be a pipe")
	}
	if c.Dir != "" {
		if fi, err := os.Stat(c.Dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("dir: %s: %w", c.Dir, ErrNoDir)
		}
	}
	path, err := lookPath(c.Args[0], c.Env)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: c.Args, Env: c.Env, Dir: c.Dir, ExtraFiles: c.ExtraFiles}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.Credential}
	child := &Child{r: r, exited: make(chan Exit, 1), gone: make(chan struct{})}
	if c.Stdin == Inherit {
		cmd.Stdin = os.Stdin
		if c.Foreground && controllingTerminal(os.Stdin) {
			cmd.SysProcAttr.Foreground, cmd.SysProcAttr.Ctty = true, int(os.Stdin.Fd())
		}
	}
	var pipes []*os.File // read ends, until handed to child
	fail := func(err error) (*Child, error) {
		for _, f := range pipes {
			if f != nil {
				f.Close()
			}
		}
		return nil, err
	}
	for i, s := range []struct {
		how Stdio
		std *os.File
		dst *io.Writer
	}{{c.Stdout, os.Stdout, &cmd.Stdout}, {c.Stderr, os.Stderr, &cmd.Stderr}} {
		pipes = append(pipes, nil)
		switch s.how {
		case Inherit:
			*s.dst = s.std
		case Pipe:
			r, w, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			defer w.Close() // the child has its own copy
			pipes[i], *s.dst = r, w
			if cr := c.Credential; cr != nil {
				// Its own, as runc does: a user= process can open
				// /dev/stdout (nginx's access_log /dev/stdout).
				if err := w.Chown(int(cr.Uid), int(cr.Gid)); err != nil {
					return fail(fmt.Errorf("give the output pipe to uid %d: %w", cr.Uid, err))
				}
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return fail(ErrStopped)
	}
	// cmd is a template: an exec.Cmd is started at most once.
	run := func(path string, args []string) (*exec.Cmd, error) {
		x := &exec.Cmd{Path: path, Args: args, Env: cmd.Env, Dir: cmd.Dir,
			Stdin: cmd.Stdin, Stdout: cmd.Stdout, Stderr: cmd.Stderr, ExtraFiles: cmd.ExtraFiles, SysProcAttr: cmd.SysProcAttr}
		return x, x.Start()
	}
	forked := r.forking(cmd.SysProcAttr.Foreground)
	started, err := run(path, c.Args)
	if errors.Is(err, syscall.ENOEXEC) {
		// Neither a binary nor a "#!" script: a shell script, as execvp runs it.
		started, err = run("/bin/sh", append([]string{"/bin/sh", path}, c.Args[1:]...))
	}
	forked()
	if err != nil {
		return fail(err)
	}
	cmd = started
	child.Pid, child.Start, child.proc = cmd.Process.Pid, time.Now(), cmd.Process
	if old := r.groups[child.Pid]; old != nil {
		// The kernel handed out this pid, so the old group of that id is
		// empty, whatever the reaper has seen so far.
		delete(r.groups, child.Pid)
		close(old.gone)
	}
	r.leaders[child.Pid] = child
	child.Stdout, child.Stderr = pipes[0], pipes[1]
	return child, nil
}

// lookPath finds file as execvpe does: as is when it has a slash, else in
// the PATH of env when it sets one, else in corral's own PATH. Relative
// entries of PATH are skipped.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path := os.Getenv("PATH")
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v // the last one wins, as in os/exec
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
}

// controllingTerminal reports whether f is corral's controlling terminal:
// only then can a child's group be made its foreground group.
func controllingTerminal(f *os.File) bool {
	_, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil
}
