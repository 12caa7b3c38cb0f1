package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	Args       []string // Args[0] is looked up in PATH unless it has a slash
	Env        []string // nil: corral's own environment
	Dir        string
	Credential *syscall.Credential // nil: corral's user
	// Stdin may be Null or Inherit; Stdout and Stderr any Stdio.
	Stdin, Stdout, Stderr Stdio
	// ExtraFiles are passed on: entry i becomes descriptor 3+i in the
	// child (a readiness notification pipe); the caller closes its copies.
	ExtraFiles []*os.File
}

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

// Gone is closed once the leader has been reaped and no process is left in
// its group (or the reaper has stopped). From then on Signal does nothing.
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
	cmd := exec.Command(c.Args[0], c.Args[1:]...)
	cmd.Env, cmd.Dir, cmd.ExtraFiles = c.Env, c.Dir, c.ExtraFiles
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.Credential}
	child := &Child{r: r, exited: make(chan Exit, 1), gone: make(chan struct{})}
	if c.Stdin == Inherit {
		cmd.Stdin = os.Stdin
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
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return fail(ErrStopped)
	}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
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
