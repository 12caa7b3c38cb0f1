package main

import (
	"errors"
	"syscall"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/supervisor"
	"github.com/corral-metrics/corral/supervisor/tail"
)

// controller is the supervisor as the gateway's control API sees it: the
// same actions, with the supervisor's errors in the gateway's terms.
type controller struct{ s *supervisor.Supervisor }

func (c controller) Start(name string) error   { return controlError(c.s.StartProcess(name)) }
func (c controller) Stop(name string) error    { return controlError(c.s.StopProcess(name)) }
func (c controller) Restart(name string) error { return controlError(c.s.RestartProcess(name)) }

func (c controller) Signal(name string, sig syscall.Signal) error {
	return controlError(c.s.SignalProcess(name, sig))
}

func (c controller) Output(name string, after uint64) ([]tail.Line, <-chan struct{}, error) {
	lines, more, err := c.s.Output(name, after)
	return lines, more, controlError(err)
}

func controlError(err error) error {
	var unknown *supervisor.UnknownProcessError
	switch {
	case errors.As(err, &unknown):
		return &gateway.UnknownProcessError{Name: unknown.Name, Known: unknown.Known}
	case errors.Is(err, supervisor.ErrMainProcess):
		return gateway.ErrMainProcess
	}
	return err
}

// processStatus is the supervisor's view of its processes, with what each
// costs now, in the gateway's terms.
func processStatus(sup *supervisor.Supervisor) []gateway.ProcessStatus {
	in := sup.Status()
	figures, _ := sup.Usage() // none when /proc cannot be read
	out := make([]gateway.ProcessStatus, len(in))
	for i, s := range in {
		out[i] = gateway.ProcessStatus{
			Name: s.Name, State: s.State, PID: s.PID, Restarts: s.Restarts, Started: s.StartTime,
			LastExitCode: s.LastExitCode, Check: s.Check, Ready: s.Ready, Main: s.Main, Reason: s.Reason,
		}
		if u, ok := figures[s.Name]; ok {
			out[i].Usage = &gateway.ProcessUsage{CPUSeconds: u.CPUSeconds, ResidentBytes: u.ResidentBytes, OpenFDs: u.OpenFDs, Threads: u.Threads}
		}
	}
	return out
}
