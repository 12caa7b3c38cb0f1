package proc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Exit is how a child ended, as wait4 reported it.
type Exit struct {
	Pid    int
	Status unix.WaitStatus
}

// Code is the exit code in tini's terms: the child's own code, or
// 128+signal when a signal killed it.
func (e Exit) Code() int {
	if e.Status.Signaled() {
		return 128 + int(e.Status.Signal())
	}
	return e.Status.ExitStatus()
}

// Success reports a zero exit.
func (e Exit) Success() bool { return e.Status.Exited() && e.Status.ExitStatus() == 0 }

func (e Exit) String() string {
	if e.Status.Signaled() {
		return fmt.Sprintf("killed by %s", unix.SignalName(e.Status.Signal()))
	}
	return fmt.Sprintf("exit status %d", e.Status.ExitStatus())
}
