package scripts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/source"
	"github.com/corral-metrics/corral/supervisor/proc"
)

const (
	// killGrace is what a script gets between SIGTERM and SIGKILL at its deadline.
	killGrace = time.Second
	// drainGrace bounds reading the pipes once the script has exited and its
	// group is killed: only a process that left the group can hold them
	// open longer, and it must not hold the scrape.
	drainGrace = time.Second
	// lateReadGrace is the last look at a pipe whose read deadline passed:
	// enough to read what is already in it, not to wait for more.
	lateReadGrace = 100 * time.Millisecond
	// reapGrace bounds waiting for the reaper after SIGKILL; past it the
	// reaper is gone (corral is shutting down) and the run gives up.
	reapGrace = 10 * time.Second

	maxStderrLine  = 4096 // bytes logged of one stderr line
	maxStderrLines = 100  // stderr lines logged per run; the rest is dropped
)

// execute runs the script once, in its own process group, and returns its
// output, the result label, and the failure if any. It returns once the
// whole group is dead, by c's deadline plus killGrace at most. The script
// is told the deadline the run has when it starts; a scrape that joins
// later may move it on (see call), never the other way.
func (s *Script) execute(params, args []string, c *call) ([]byte, string, error) {
	began := time.Now()
	deadline := c.deadline()
	timeout := deadline.Sub(began)
	if timeout <= 0 {
		return nil, resultTimeout, source.Fail(source.ReasonTimeout, s.errorf("deadline passed before the run started"))
	}
	p, err := s.deps.Reaper.Start(proc.Cmd{
		Args: append(slices.Clip(s.cfg.Command), args...), Dir: s.cfg.Dir, Env: s.environ(params, deadline, timeout),
		Stdout: proc.Pipe, Stderr: proc.Pipe, // stdin: /dev/null
	})
	if err != nil {
		return nil, resultError, source.Fail(source.ReasonRefused, s.errorf("start: %w", err))
	}
	outR, errR := p.Stdout, p.Stderr
	defer outR.Close()
	defer errR.Close()
	s.track(1)
	defer s.track(-1)

	// The pipes are read to their end: the group is killed at the deadline,
	// which may move on, and past it they are drained for drainGrace.
	captured := make(chan capture, 1)
	go func() { captured <- readBounded(outR, s.deps.MaxOutputBytes) }()
	logged := make(chan struct{})
	go func() { s.logStderr(errR); close(logged) }()

	var (
		exit     proc.Exit
		out      capture
		haveOut  bool
		timedOut bool
		reaped   bool
		timer    = time.NewTimer(timeout)
		stage    = 0 // 0: running; 1: SIGTERM sent; 2: SIGKILL sent
	)
	defer timer.Stop()
	for !reaped {
		select {
		case exit = <-p.Exited():
			reaped = true
		case out = <-captured:
			haveOut, captured = true, nil
			if out.overflow {
				p.Signal(unix.SIGKILL) // no point in letting it print more
				timer.Reset(reapGrace)
				stage = 2
			}
		case <-timer.C:
			switch stage {
			case 0:
				if left := c.left(); left > 0 { // a scrape that joined waits longer
					timer.Reset(left)
					continue
				}
				timedOut = true
				timeout = c.deadline().Sub(began)
				p.Signal(unix.SIGTERM)
				timer.Reset(killGrace)
			case 1:
				p.Signal(unix.SIGKILL)
				timer.Reset(reapGrace)
			default:
				s.logger.Error("script killed but never reaped; giving up on it", "pid", p.Pid)
				return nil, resultError, source.Fail(source.ReasonRefused, s.errorf("killed but never reaped"))
			}
			stage++
		}
	}
	// Whatever the script left in its group (a "sleep 1000 &") dies with it,
	// so nothing keeps stdout open.
	p.Signal(unix.SIGKILL)
	drainBy := time.Now().Add(drainGrace)
	errR.SetReadDeadline(drainBy)
	if !haveOut {
		outR.SetReadDeadline(drainBy)
		out = <-captured
	}
	<-logged

	switch {
	case out.overflow:
		return nil, resultInvalid, source.Fail(source.ReasonInvalid,
			s.errorf("output exceeds %d bytes", s.deps.MaxOutputBytes))
	case timedOut:
		return nil, resultTimeout, source.Fail(source.ReasonTimeout,
			s.errorf("timed out after %s", timeout.Round(10*time.Millisecond)))
	case !exit.Success():
		return nil, resultError, source.Fail(source.ReasonStatus, s.errorf("%s", exit))
	case errors.Is(out.err, os.ErrDeadlineExceeded):
		return nil, resultError, source.Fail(source.ReasonRefused,
			s.errorf("stdout still open %s after the script exited: a process left its group", drainGrace))
	case out.err != nil:
		return nil, resultError, source.Fail(source.ReasonRefused, s.errorf("reading stdout: %w", out.err))
	}
	if err := s.deps.Validate(ContentType, out.body); err != nil {
		return nil, resultInvalid, source.Fail(source.ReasonInvalid, s.errorf("invalid output: %w", err))
	}
	return out.body, resultOK, nil
}

// environ is corral's environment (less any CORRAL_PARAM_ it inherited), the
// script's env, its parameters and its deadline.
func (s *Script) environ(params []string, deadline time.Time, timeout time.Duration) []string {
	base := os.Environ()
	env := make([]string, 0, len(base)+len(s.cfg.Env)+len(params)+2)
	for _, kv := range base {
		if !strings.HasPrefix(kv, paramEnvPrefix) {
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(s.cfg.Env))
	for k := range s.cfg.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.cfg.Env[k])
	}
	env = append(env, params...) // later entries win: a request's value beats an env default
	return append(env,
		"CORRAL_DEADLINE="+strconv.FormatInt(deadline.Unix(), 10),
		"CORRAL_TIMEOUT="+strconv.FormatFloat(timeout.Truncate(time.Millisecond).Seconds(), 'f', -1, 64),
	)
}

// track counts runs in progress and remembers the most seen at once.
func (s *Script) track(delta int64) {
	n := s.running.Add(delta)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

type capture struct {
	body     []byte
	overflow bool
	err      error
}

// readBounded reads f to its end, but never more than max+1 bytes: past max
// the output is dropped and marked overflowed.
func readBounded(f *os.File, max int64) capture {
	var buf bytes.Buffer
	lr := &io.LimitedReader{R: f, N: max + 1}
	_, err := buf.ReadFrom(lr)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline may have passed while this goroutine was not running
		// (a busy machine), with the output already waiting in the pipe:
		// take what is there now, and EOF, before calling it late.
		f.SetReadDeadline(time.Now().Add(lateReadGrace))
		_, err = buf.ReadFrom(lr)
	}
	if lr.N <= 0 {
		return capture{overflow: true}
	}
	return capture{body: buf.Bytes(), err: err}
}

// logStderr logs the script's stderr line by line, bounded in line length
// and count; it reads on to the end so the script never blocks on it.
func (s *Script) logStderr(r io.Reader) {
	br := bufio.NewReaderSize(r, maxStderrLine)
	lines, skipping := 0, false
	for {
		line, err := br.ReadSlice('\n')
		full := errors.Is(err, bufio.ErrBufferFull)
		if len(line) > 0 && !skipping {
			switch {
			case lines < maxStderrLines:
				text := strings.TrimRight(string(line), "\r\n")
				if full {
					s.logger.Warn(text, "stream", "stderr", "truncated", true)
				} else {
					s.logger.Warn(text, "stream", "stderr")
				}
			case lines == maxStderrLines:
				s.logger.Warn(fmt.Sprintf("more than %d lines on stderr; dropping the rest of this run's", maxStderrLines), "stream", "stderr")
			}
			lines++
		}
		skipping = full
		if err != nil && !full {
			return
		}
	}
}
