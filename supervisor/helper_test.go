package supervisor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/internal/sigcatch"
	"github.com/corral-metrics/corral/internal/testkit"
	"github.com/corral-metrics/corral/supervisor/proc"
)

// The test binary is also the helper child (CORRAL_TEST_ROLE=child) and a
// mini corral that runs as PID 1 of a new PID namespace (=init).
func TestMain(m *testing.M) {
	switch os.Getenv("CORRAL_TEST_ROLE") {
	case "child":
		// A supervised child is not corral: a signal sent before it
		// installs its handlers must find their absence, not corral's catch.
		sigcatch.Release()
		os.Exit(childMain(os.Args[1:]))
	case "init":
		os.Exit(initMain())
	}
	os.Exit(m.Run())
}

// record appends one line to the file named by CORRAL_TEST_RECORD: what
// children tell the test (start, stop, ...), with a timestamp.
func record(event string) {
	path := os.Getenv("CORRAL_TEST_RECORD")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "%d %s %s %d\n", time.Now().UnixNano(), event, os.Getenv("CORRAL_TEST_NAME"), os.Getpid())
	f.Close()
}

// childMain is a supervised child. Modes:
//
//	run [slow|DUR]    record start (and "usr1" on SIGUSR1); on SIGTERM record stop (after 100ms with slow, or DUR) and exit 0
//	leader DUR        record start, leave a member "run DUR" (NAME.member) in the group; on SIGTERM exit 0 at once
//	crash             leave a member "run" (NAME.member) in the group, record start, exit 1
//	group             like run, plus a second process in its group that records its own stop
//	exit N            record start, exit N
//	ignore            record start; record "term" on every SIGTERM and keep running
//	daemon [MODE...]  start a detached grandchild (NAME "orphan") running MODE (default: exit 0), then exit 0
//	orphans N         leave N grandchildren that exit as soon as this exits
//	print LINE...     write each LINE to stdout and exit 0
//	listen ADDR       record start, listen on ADDR, run until SIGTERM
//	notify FD DUR     record start, after DUR write a newline to descriptor FD (ready.notify_fd), run until SIGTERM
//	mem MIB           hold MIB MiB, every page touched, record start, run until SIGTERM
//	cpu MS            burn MS ms of CPU time, record "burned", run until SIGTERM
//	tty               record "tty" if stdin is a terminal, "foreground" if its group is the terminal's foreground group
//	signals           record start, then "sigN" for each SIGUSR1 (10) or real-time signal (35 to 64) it gets; on SIGTERM record stop, exit 0
//	pgroup            catch SIGUSR1, run sleep(1); once it has ended record "sleep-ended" (and "usr1" if one came), exit 0 (tini's pgroup test)
func childMain(args []string) int {
	if len(args) == 0 {
		return 2
	}
	switch args[0] {
	case "notify", "mem", "cpu":
		term := make(chan os.Signal, 1)
		signal.Notify(term, unix.SIGTERM)
		switch args[0] {
		case "notify":
			record("start")
			fd, _ := strconv.Atoi(args[1])
			d, _ := time.ParseDuration(args[2])
			time.Sleep(d)
			record("notify")
			os.NewFile(uintptr(fd), "notify").Write([]byte("ready\n"))
		case "mem":
			n, _ := strconv.Atoi(args[1])
			// Mapped directly, so the race detector's shadow memory does not double it.
			held, err := syscall.Mmap(-1, 0, n<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
			if err != nil {
				return 3
			}
			for i := 0; i < len(held); i += 4096 {
				held[i] = 1
			}
			record("start")
		case "cpu":
			n, _ := strconv.Atoi(args[1])
			for {
				var ru syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
				if ru.Utime.Nano()/1e6+ru.Stime.Nano()/1e6 >= int64(n) {
					break
				}
				for i := 0; i < 1e6; i++ {
					_ = i * i
				}
			}
			record("burned")
		}
		<-term
		return 0
	case "tty":
		if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
			record("tty")
		}
		if fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil && fg == unix.Getpgrp() {
			record("foreground")
		}
		record("done")
		return 0
	case "signals":
		term := make(chan os.Signal, 1)
		signal.Notify(term, unix.SIGTERM)
		got := make(chan os.Signal, 64)
		signal.Notify(got, unix.SIGUSR1)
		for sig := unix.Signal(35); sig <= 64; sig++ {
			signal.Notify(got, sig)
		}
		record("start")
		for {
			select {
			case sig := <-got:
				record(fmt.Sprintf("sig%d", sig.(unix.Signal)))
			case <-term:
				record("stop")
				return 0
			}
		}
	case "pgroup":
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, unix.SIGUSR1)
		cmd := exec.Command("/bin/sleep", "100")
		if err := cmd.Start(); err != nil {
			return 1
		}
		record("start")
		cmd.Wait()
		record("sleep-ended")
		select { // the group's SIGUSR1 came here too
		case <-usr1:
			record("usr1")
		case <-time.After(10 * time.Second):
		}
		return 0
	case "run", "group", "listen":
		term := make(chan os.Signal, 1)
		signal.Notify(term, unix.SIGTERM)
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, unix.SIGUSR1)
		go func() {
			for range usr1 {
				record("usr1")
			}
		}()
		if args[0] == "listen" {
			l, err := net.Listen("tcp", args[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer l.Close()
		}
		if args[0] == "group" {
			cmd := exec.Command(os.Args[0], "run")
			cmd.Env = append(os.Environ(), "CORRAL_TEST_NAME="+os.Getenv("CORRAL_TEST_NAME")+".member")
			if err := cmd.Start(); err != nil {
				return 1
			}
			defer cmd.Wait()
		}
		record("start")
		<-term
		if len(args) > 1 && args[1] == "slow" {
			time.Sleep(100 * time.Millisecond)
		} else if d, err := time.ParseDuration(args[len(args)-1]); err == nil {
			time.Sleep(d)
		}
		record("stop")
		return 0
	case "leader", "crash":
		term := make(chan os.Signal, 1)
		signal.Notify(term, unix.SIGTERM)
		member := []string{"run"}
		if args[0] == "leader" {
			member = append(member, args[1])
		}
		cmd := exec.Command(os.Args[0], member...)
		cmd.Env = append(os.Environ(), "CORRAL_TEST_NAME="+os.Getenv("CORRAL_TEST_NAME")+".member")
		if err := cmd.Start(); err != nil {
			return 1
		}
		record("start")
		if args[0] == "crash" {
			return 1
		}
		<-term
		return 0
	case "exit":
		record("start")
		n, _ := strconv.Atoi(args[1])
		record("exit")
		return n
	case "ignore":
		term := make(chan os.Signal, 1)
		signal.Notify(term, unix.SIGTERM)
		record("start")
		for range term {
			record("term")
		}
	case "daemon":
		mode := args[1:]
		if len(mode) == 0 {
			mode = []string{"exit", "0"}
		}
		cmd := exec.Command(os.Args[0], mode...)
		cmd.Env = append(os.Environ(), "CORRAL_TEST_NAME=orphan")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return 1
		}
		return 0
	case "orphans":
		n, _ := strconv.Atoi(args[1])
		r, w, err := os.Pipe()
		if err != nil {
			return 1
		}
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 1
		}
		for range n {
			if _, err := syscall.ForkExec("/bin/cat", []string{"cat"}, &syscall.ProcAttr{Files: []uintptr{r.Fd(), null.Fd(), null.Fd()}}); err != nil {
				return 1
			}
		}
		_ = w // held until exit: then every cat reads EOF and exits
		record("orphans-started")
		return 0
	case "print":
		for _, l := range args[1:] {
			os.Stdout.WriteString(l + "\n")
		}
		return 0
	}
	return 2
}

// helperCmd is the command line of a helper child.
func helperCmd(t testing.TB, mode ...string) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{exe}, mode...)
}

// helper is a [process] running the helper child.
func helper(t testing.TB, name, rec string, mode ...string) ProcessConfig {
	return ProcessConfig{
		Command: helperCmd(t, mode...),
		// GORACE: a -race helper would otherwise sleep 1s in exit.
		Env: map[string]string{"CORRAL_TEST_ROLE": "child", "CORRAL_TEST_NAME": name, "CORRAL_TEST_RECORD": rec, "GORACE": "atexit_sleep_ms=0"},
	}
}

// event is one line a child recorded.
type event struct {
	at   time.Time
	what string
	name string
	pid  int
}

func readRecord(t testing.TB, path string) []event {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []event
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		ns, _ := strconv.ParseInt(f[0], 10, 64)
		pid, _ := strconv.Atoi(f[3])
		out = append(out, event{at: time.Unix(0, ns), what: f[1], name: f[2], pid: pid})
	}
	return out
}

func filter(evs []event, what, name string) []event {
	var out []event
	for _, e := range evs {
		if (what == "" || e.what == what) && (name == "" || e.name == name) {
			out = append(out, e)
		}
	}
	return out
}

// harness is an in-process supervisor with its reaper.
type harness struct {
	s    *Supervisor
	r    *proc.Reaper
	reg  *prometheus.Registry
	out  *testkit.Buffer
	log  *testkit.Buffer
	done chan error
}

func startSupervisor(t testing.TB, opts Options) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), out: &testkit.Buffer{}, log: &testkit.Buffer{}, done: make(chan error, 1)}
	logger := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.r = proc.NewReaper(logger, h.reg)
	opts.Reaper, opts.Logger, opts.Registerer = h.r, logger, h.reg
	if opts.Stdout == nil {
		opts.Stdout, opts.Stderr = h.out, h.out
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	reaped := make(chan struct{})
	go func() { h.r.Run(); close(reaped) }()
	go func() { h.done <- s.Run() }()
	t.Cleanup(func() {
		s.Stop()
		select {
		case <-h.done:
		case <-time.After(60 * time.Second):
			t.Error("supervisor did not stop")
		}
		h.r.Stop()
		<-reaped
		if t.Failed() {
			t.Logf("corral log:\n%s\nchild output:\n%s", h.log.String(), h.out.String())
		}
	})
	return h
}

// wait returns Run's result.
func (h *harness) wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("supervisor did not return")
		return nil
	}
}

func (h *harness) status(name string) Status {
	for _, st := range h.s.Status() {
		if st.Name == name {
			return st
		}
	}
	return Status{}
}

func (h *harness) metric(name, process string) float64 {
	mfs, _ := h.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "process" && l.GetValue() == process {
					if m.Counter != nil {
						return m.Counter.GetValue()
					}
					return m.Gauge.GetValue()
				}
			}
		}
	}
	return -1
}

// initConfig is how a test configures the mini corral of initMain.
type initConfig struct {
	Processes   map[string]ProcessConfig
	Tasks       map[string]TaskConfig
	Main        []string
	StopTimeout time.Duration
	Grace       time.Duration            // [supervisor] process_stop_timeout
	Reload      map[string]ProcessConfig // what SIGHUP loads, if any
	Report      string                   // where initMain writes its initReport
	MainOutput  string                   // [supervisor] main_output
}

// initReport is what initMain saw after its shutdown.
type initReport struct {
	Pid     int      // its own: 1 in a new namespace
	Zombies []string // /proc entries in state Z after the shutdown
	Left    []string // other processes still alive
	Orphans float64  // corral_orphans_reaped_total
}

// initMain wires a Reaper, a Supervisor and the signal actor into one run
// group, as cmd/corral does, and exits with the supervisor's code.
func initMain() int {
	sigs := CatchSignals()
	var cfg initConfig
	if err := json.Unmarshal([]byte(os.Getenv("CORRAL_TEST_INIT")), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 99
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	reg := prometheus.NewRegistry()
	reaper := proc.NewReaper(logger, reg)
	s, err := New(Options{
		Config:     Config{StopTimeout: duration.Of(cfg.StopTimeout), ProcessStopTimeout: duration.Of(cfg.Grace), MainOutput: cfg.MainOutput},
		Processes:  cfg.Processes,
		Tasks:      cfg.Tasks,
		Main:       cfg.Main,
		Reaper:     reaper,
		Logger:     logger,
		Registerer: reg,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 98
	}
	var g run.Group
	g.Add(reaper.Run, func(error) { reaper.Stop() })
	g.Add(s.Run, func(error) { s.Stop() })
	g.Add(s.HandleSignals(sigs, func() {
		if err := s.Reload(Config{StopTimeout: duration.Of(cfg.StopTimeout), ProcessStopTimeout: duration.Of(cfg.Grace)}, cfg.Reload); err != nil {
			logger.Error("reload failed", "err", err)
		}
	}))
	err = g.Run()
	rep := initReport{Pid: os.Getpid(), Orphans: testutil.ToFloat64(reaper.Orphans())}
	rep.Zombies, rep.Left = scanProc()
	b, _ := json.Marshal(rep)
	os.WriteFile(cfg.Report, b, 0o644)
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		return ee.Code
	case err != nil:
		return 1
	}
	return 0
}

// scanProc lists the zombies and the live processes other than this one.
func scanProc() (zombies, left []string) {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		pid, _ := strconv.Atoi(strings.Fields(s)[0])
		if pid == os.Getpid() {
			continue
		}
		if s[i+2] == 'Z' {
			zombies = append(zombies, strings.TrimSpace(s[:i+1]))
		} else {
			left = append(left, strings.TrimSpace(s[:i+1]))
		}
	}
	return zombies, left
}

// pid1 is a mini corral started as PID 1 of a new PID namespace.
type pid1 struct {
	cmd    *exec.Cmd
	report string
	stderr *testkit.Buffer
	done   chan struct{}
	code   int
}

func startPID1(t testing.TB, cfg initConfig) *pid1 {
	t.Helper()
	return startPID1With(t, cfg, nil)
}

// startPID1With is startPID1 with setup applied to the command before it
// starts: its stdin, a terminal.
func startPID1With(t testing.TB, cfg initConfig, setup func(*exec.Cmd)) *pid1 {
	t.Helper()
	exe, _ := os.Executable()
	return startInit(t, cfg, testkit.PID1(t, exe), setup) // unprivileged: a user and a PID namespace
}

// startSubreaper is the mini corral as a plain process, not PID 1: a child
// subreaper, as corral is when an init starts it.
func startSubreaper(t testing.TB, cfg initConfig) *pid1 {
	t.Helper()
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	// Should it die, its children (reparented, still holding its stderr)
	// must not hold Wait.
	cmd.WaitDelay = time.Second
	return startInit(t, cfg, cmd, nil)
}

// startInit starts cmd, the mini corral of initMain, with setup applied
// before it starts.
func startInit(t testing.TB, cfg initConfig, cmd *exec.Cmd, setup func(*exec.Cmd)) *pid1 {
	t.Helper()
	cfg.Report = filepath.Join(t.TempDir(), "report.json")
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &pid1{cmd: cmd, report: cfg.Report, stderr: &testkit.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "CORRAL_TEST_ROLE=init", "CORRAL_TEST_INIT="+string(b), "GORACE=atexit_sleep_ms=0")
	p.cmd.Stderr, p.cmd.Stdout = p.stderr, p.stderr
	if setup != nil {
		setup(p.cmd)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("corral output:\n%s", p.stderr.String())
		}
	})
	return p
}

// signal sends sig to the mini corral (PID 1 inside, a child of unshare).
func (p *pid1) signal(t testing.TB, sig unix.Signal) {
	t.Helper()
	if err := unix.Kill(p.corralPid(t), sig); err != nil {
		t.Fatal(err)
	}
}

func (p *pid1) wait(t *testing.T) (int, initReport) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatal("corral did not exit")
	}
	var rep initReport
	b, err := os.ReadFile(p.report)
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return p.code, rep
}
