package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// startSignalRun measures the window a signal can end corral as PID 1 in:
// each round starts a corral binary as PID 1 of a new user and PID
// namespace, waits until it has exec'd, sends one SIGTERM at a delay drawn
// uniformly from [0, -within), and records how corral ended: exit 0 (the
// signal stopped it), exit 2 (the signal landed in the Go runtime's own
// start-up, before any Go code could take it), or not at all (the signal
// came before the runtime installed its handlers and the kernel dropped it,
// as it does for any PID 1 without a handler; a second SIGTERM then stops
// it). With several binaries the rounds interleave. The share of exit 2
// times -within estimates the window.
//
//	corral-bench startsignal -corral new=/tmp/corral -corral old=/tmp/corral-old -n 100
func startSignalRun(args []string) error {
	fs := flag.NewFlagSet("corral-bench startsignal", flag.ExitOnError)
	var bins binaries
	fs.Var(&bins, "corral", "NAME=PATH of a corral binary, repeatable")
	n := fs.Int("n", 100, "rounds per binary")
	within := fs.Duration("within", 8*time.Millisecond, "the SIGTERM is sent at a delay drawn from [0, within) after exec")
	fs.Parse(args)
	if len(bins) == 0 {
		return errors.New("no -corral NAME=PATH given")
	}
	dir, err := os.MkdirTemp("", "corral-startsignal")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	config := filepath.Join(dir, "corral.toml")
	toml := "[process.p]\ncommand = [\"/bin/sleep\", \"60\"]\n"
	if err := os.WriteFile(config, []byte(toml), 0o644); err != nil {
		return err
	}
	type tally struct{ stopped, exit2, dropped, other int }
	results := make(map[string]*tally)
	var names []string
	for _, b := range bins {
		name, _, _ := strings.Cut(b, "=")
		names = append(names, name)
		results[name] = &tally{}
	}
	for range *n {
		for _, b := range bins {
			name, path, _ := strings.Cut(b, "=")
			end, err := startSignalRound(path, config, time.Duration(rand.Int64N(int64(*within))))
			if err != nil {
				return err
			}
			t := results[name]
			switch end {
			case "stopped":
				t.stopped++
			case "exit 2":
				t.exit2++
			case "dropped":
				t.dropped++
			default:
				t.other++
				fmt.Fprintf(os.Stderr, "%s: %s\n", name, end)
			}
		}
	}
	sort.Strings(names)
	fmt.Printf("| binary | rounds | stopped (exit 0) | dropped by the kernel | exit 2 | window estimate |\n|---|---|---|---|---|---|\n")
	for _, name := range names {
		t := results[name]
		est := time.Duration(float64(*within) * float64(t.exit2) / float64(*n))
		fmt.Printf("| %s | %d | %d | %d | %d | %v |\n", name, *n, t.stopped, t.dropped, t.exit2, est.Round(10*time.Microsecond))
	}
	return nil
}

// startSignalRound runs one round and says how corral ended.
func startSignalRound(bin, config string, delay time.Duration) (string, error) {
	cmd := exec.Command(bin, "--config.file", config, "--web.listen-address", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The child is this program until it has exec'd corral: wait for that.
	exe := filepath.Base(bin)
	for deadline := time.Now().Add(10 * time.Second); ; {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
		if strings.TrimSpace(string(b)) == exe[:min(len(exe), 15)] {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return "", fmt.Errorf("%s never exec'd", bin)
		}
	}
	time.Sleep(delay)
	cmd.Process.Signal(syscall.SIGTERM)
	end := ""
	select {
	case err := <-done:
		return ending(err), nil
	case <-time.After(3 * time.Second):
		end = "dropped"
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if e := ending(err); e != "stopped" {
			return "after a second SIGTERM: " + e, nil
		}
		return end, nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return "did not stop on a second SIGTERM", nil
	}
}

func ending(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "stopped"
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		return "exit 2"
	}
	return err.Error()
}
