package supervisor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/corral-metrics/corral/supervisor/proc"
	"github.com/corral-metrics/corral/supervisor/tail"
	"github.com/corral-metrics/corral/supervisor/usage"
)

// MainName is the name of the main process (the command after `--`) in
// logs, metrics and Status; no [process] may take it when there is one.
const MainName = "main"

// Options is everything a Supervisor is built from.
type Options struct {
	Config    Config
	Processes map[string]ProcessConfig
	Tasks     map[string]TaskConfig
	// Main is the command after `--`, or nil. It starts once every process
	// was up (ready, or started without a check) or failed at least once
	// (see gate); when it ends the appliance stops and exits with its code.
	Main       []string
	Reaper     *proc.Reaper
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// LogFormat of child output: FormatLogfmt ("[name] line", the default)
	// or FormatJSON.
	LogFormat string
	// Stdout, Stderr are corral's own for child output; default os.Stdout,
	// os.Stderr. The main process, with main_output "inherit", has the
	// real stdin, stdout and stderr (file descriptors 0, 1, 2) instead.
	Stdout, Stderr io.Writer
}

// ExitError is Run's error when the appliance must exit non-zero: the main
// process's code (128+signal when killed), or 1 for a failed task or a
// failed critical process.
type ExitError struct {
	Code   int
	Reason string
}

func (e *ExitError) Error() string { return fmt.Sprintf("%s (exit code %d)", e.Reason, e.Code) }

// Phases of a Supervisor.
const (
	phaseIdle     = "idle"
	phaseStarting = "starting"
	phaseRunning  = "running"
	phaseStopping = "stopping"
	phaseStopped  = "stopped"
)

// Supervisor runs the appliance's tasks, then its processes, and stops them.
// It is an actor: Run executes, Stop interrupts.
type Supervisor struct {
	cfg            Config
	tasks          map[string]TaskConfig
	mainCmd        []string
	reaper         *proc.Reaper
	logger         *slog.Logger
	metrics        *metrics
	format         string
	stdout, stderr *sink

	stopCh, killCh     chan struct{}
	stopOnce, killOnce sync.Once
	reloads            chan reload
	runDone            chan struct{}

	// ctl serialises the control API's actions with each other and with
	// reloads, so that no action replaces a process a reload is replacing.
	ctl   sync.Mutex
	tails map[string]*tail.Buffer // recent output by process name, kept across restarts and reloads
	meter *usage.Meter

	mu        sync.Mutex
	phase     string
	initial   map[string]ProcessConfig // until Run starts them
	procs     map[string]*process
	gates     map[string]*gate
	main      *process
	finished  bool
	result    error
	startedUp bool      // every process was up or failed at least once
	stopBy    time.Time // the shutdown's deadline, from phaseStopping on
}

type reload struct {
	cfg       Config
	processes map[string]ProcessConfig
	reply     chan error
}

// New checks the configuration and builds a Supervisor; Run starts it. It
// adds the attribute component=supervisor to the logger.
func New(opts Options) (*Supervisor, error) {
	if opts.Reaper == nil || opts.Logger == nil {
		return nil, errors.New("supervisor: Reaper and Logger are required")
	}
	cfg := opts.Config
	cfg.Defaults()
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, prefix("supervisor", err))
	}
	procs, err := prepare(cfg, opts.Processes, opts.Tasks, opts.Main != nil)
	if err != nil {
		errs = append(errs, err)
	}
	tasks := make(map[string]TaskConfig, len(opts.Tasks))
	for name, t := range opts.Tasks {
		t.Defaults()
		if err := t.Validate(); err != nil {
			errs = append(errs, prefix("task."+name, err))
		}
		tasks[name] = t
	}
	if opts.Main != nil && (len(opts.Main) == 0 || opts.Main[0] == "") {
		errs = append(errs, errors.New("main command: empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s := &Supervisor{
		cfg:     cfg,
		tasks:   tasks,
		mainCmd: opts.Main,
		reaper:  opts.Reaper,
		logger:  opts.Logger.With("component", "supervisor"),
		metrics: newMetrics(opts.Registerer),
		format:  opts.LogFormat,
		stdout:  &sink{w: cmp(opts.Stdout, io.Writer(os.Stdout))},
		stderr:  &sink{w: cmp(opts.Stderr, io.Writer(os.Stderr))},
		stopCh:  make(chan struct{}),
		killCh:  make(chan struct{}),
		reloads: make(chan reload),
		runDone: make(chan struct{}),
		phase:   phaseIdle,
		initial: procs,
		procs:   make(map[string]*process),
		gates:   make(map[string]*gate),
		tails:   make(map[string]*tail.Buffer),
		meter:   usage.NewMeter(usage.NewReader("/proc"), usageMaxAge),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(newUsageCollector(s))
	}
	for name := range procs {
		s.metrics.add(name)
	}
	if opts.Main != nil {
		s.metrics.add(MainName)
	}
	return s, nil
}

func cmp(w, def io.Writer) io.Writer {
	if w == nil {
		return def
	}
	return w
}

func prefix(key string, err error) error {
	var errs []error
	for _, e := range unjoin(err) {
		errs = append(errs, fmt.Errorf("%s.%w", key, e))
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// prepare fills defaults into copies of the process configs and checks them
// and their graph.
func prepare(cfg Config, processes map[string]ProcessConfig, tasks map[string]TaskConfig, hasMain bool) (map[string]ProcessConfig, error) {
	out := make(map[string]ProcessConfig, len(processes))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(processes)) {
		p := processes[name]
		p.Defaults()
		if err := p.Validate(); err != nil {
			errs = append(errs, prefix("process."+name, err))
		}
		if p.StopTimeout > cfg.StopTimeout {
			errs = append(errs, fmt.Errorf("process.%s.stop_timeout: %s is longer than [supervisor] stop_timeout (%s), the bound of the whole shutdown", name, p.StopTimeout, cfg.StopTimeout))
		}
		if hasMain && name == MainName {
			errs = append(errs, fmt.Errorf("process.%s: the name %q is the main process's (the command after --)", name, MainName))
		}
		out[name] = p
	}
	if err := ValidateGraph(out, tasks); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// Run runs the tasks, then starts every process in dependency order (and the
// main process once each was up or failed at least once), and supervises
// them until Stop, a failed critical process or the main process's end; then
// it stops everything in reverse dependency order within [supervisor]
// stop_timeout and returns: nil after a clean stop, else an *ExitError.
func (s *Supervisor) Run() error {
	defer close(s.runDone)
	defer s.reaper.Hold()() // reap until the shutdown and its sweep are done
	select {
	case <-s.stopCh:
		s.setPhase(phaseStopped)
		return nil
	default:
	}
	s.setPhase(phaseStarting)
	if s.cfg.StartTimeout > 0 {
		t := time.AfterFunc(s.cfg.StartTimeout.Std(), s.startTimedOut)
		defer t.Stop()
	}
	err := s.runTasks()
	s.mu.Lock()
	select {
	case <-s.stopCh: // during the tasks: no process starts
		if err == nil {
			err = s.result
		}
		s.phase = phaseStopped
		s.mu.Unlock()
		s.logger.Info("stopped during start-up; no process started")
		s.reaper.Sweep(sweepGrace) // what the tasks left behind
		return err
	default:
	}
	if err != nil {
		s.phase = phaseStopped
		s.mu.Unlock()
		s.reaper.Sweep(sweepGrace)
		return err
	}
	s.launch(s.initial)
	gates := make([]*gate, 0, len(s.procs))
	for _, p := range s.procs {
		gates = append(gates, p.gate)
	}
	if s.mainCmd != nil {
		s.main = s.newProc(MainName, ProcessConfig{Command: s.mainCmd, Restart: RestartNever}, newGate(MainName))
		s.main.deps = gates
		go s.main.run()
	}
	go s.awaitStartUp(gates)
	s.initial = nil
	s.phase = phaseRunning
	s.mu.Unlock()
	s.logger.Info("started", "processes", len(s.procs), "main", s.mainCmd != nil)
	for {
		select {
		case <-s.stopCh:
			s.shutdown()
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.result
		case r := <-s.reloads:
			r.reply <- s.reconcile(r.cfg, r.processes)
		}
	}
}

// awaitStartUp marks start-up done once every process was up or failed at
// least once: one that restarts for ever does not hold it.
func (s *Supervisor) awaitStartUp(gates []*gate) {
	for _, g := range gates {
		select {
		case <-g.tried:
		case <-s.stopCh:
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startedUp = true
}

// startTimedOut stops the appliance with exit code 1 if start-up is not
// done by [supervisor] start_timeout.
func (s *Supervisor) startTimedOut() {
	s.mu.Lock()
	var waiting []string
	for _, name := range slices.Sorted(maps.Keys(s.procs)) {
		if !s.procs[name].gate.hasTried() {
			waiting = append(waiting, name)
		}
	}
	done, timeout := s.startedUp, s.cfg.StartTimeout
	s.mu.Unlock()
	if done {
		return
	}
	s.logger.Error("start-up not done within start_timeout; stopping", "start_timeout", timeout, "waiting", waiting)
	s.finish(&ExitError{Code: 1, Reason: fmt.Sprintf("start-up not done within start_timeout (%s)", timeout)})
}

// Stop begins a graceful shutdown. It is safe to call more than once, and
// before or after Run.
func (s *Supervisor) Stop() { s.stopOnce.Do(func() { close(s.stopCh) }) }

// stopping reports whether a stop has begun.
func (s *Supervisor) stopping() bool {
	select {
	case <-s.stopCh:
		return true
	default:
		return false
	}
}

// Kill stops at once: SIGKILL to every process group still running.
func (s *Supervisor) Kill() {
	s.Stop()
	s.killOnce.Do(func() { close(s.killCh) })
}

// finish records why the appliance stops (the first reason wins) and stops it.
func (s *Supervisor) finish(err error) {
	s.mu.Lock()
	if !s.finished {
		s.finished, s.result = true, err
	}
	s.mu.Unlock()
	s.Stop()
}

// mainExited makes the main process's exit code the appliance's.
func (s *Supervisor) mainExited(code int) {
	if code == 0 {
		s.finish(nil)
		return
	}
	s.finish(&ExitError{Code: code, Reason: fmt.Sprintf("main process exited with code %d", code)})
}

func (s *Supervisor) setPhase(phase string) {
	s.mu.Lock()
	s.phase = phase
	s.mu.Unlock()
}

func (s *Supervisor) newProc(name string, cfg ProcessConfig, g *gate) *process {
	cfg.Defaults()
	p := &process{
		s:      s,
		name:   name,
		cfg:    cfg,
		main:   name == MainName && s.mainCmd != nil,
		gate:   g,
		logger: s.logger.With("process", name),
		stopCh: make(chan struct{}),
		killCh: make(chan struct{}),
		done:   make(chan struct{}),

		stopTimeout: cfg.StopTimeout.Std(),
	}
	if s.tails[name] == nil {
		s.tails[name] = tail.New(tailLines, tailBytes)
	}
	p.tail = s.tails[name]
	p.stopSig, _ = ParseSignal(cfg.StopSignal) // checked by Validate
	if cfg.User != "" {
		c, _ := LookupUser(cfg.User) // checked by Validate
		p.cred = &c
	}
	p.st = Status{Name: name, Main: p.main, State: StateWaiting, Check: cfg.Ready.kind()}
	return p
}

// launch creates and starts the given processes; s.mu is held.
func (s *Supervisor) launch(cfgs map[string]ProcessConfig) {
	for name := range cfgs {
		if s.gates[name] == nil {
			s.gates[name] = newGate(name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfgs)) {
		p := s.newProc(name, cfgs[name], s.gates[name])
		for _, d := range p.cfg.DependsOn {
			if g := s.gates[d]; g != nil { // a task's name: done before any process starts
				p.deps = append(p.deps, g)
			}
		}
		s.procs[name] = p
		s.metrics.add(name)
		if !p.cfg.autostart() {
			p.st.State, p.st.Reason = StateStopped, "autostart = false: start it through the control API or corral ctl"
			p.gate.settle()
			close(p.done)
			continue
		}
		go p.run()
	}
}

// Ready reports whether every process with a readiness check is ready; it
// is false during start-up and shutdown.
func (s *Supervisor) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phase != phaseRunning {
		return false
	}
	for _, p := range s.procs {
		// One stopped on purpose (control API, autostart = false) does not count.
		if st := p.status(); st.Check != "" && !st.Ready && st.State != StateStopped {
			return false
		}
	}
	return true
}

// Status lists every process by name, the main process first.
func (s *Supervisor) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Status
	if s.main != nil {
		out = append(out, s.main.status())
	}
	if s.initial != nil {
		for _, name := range slices.Sorted(maps.Keys(s.initial)) {
			out = append(out, Status{Name: name, State: StateWaiting, Check: s.initial[name].Ready.kind()})
		}
		return out
	}
	for _, name := range slices.Sorted(maps.Keys(s.procs)) {
		out = append(out, s.procs[name].status())
	}
	return out
}

// Signal forwards sig to the main process's group, or, without a main
// process, to every running process's group.
func (s *Supervisor) Signal(sig os.Signal) {
	ss, ok := sig.(syscall.Signal)
	if !ok {
		return
	}
	s.mu.Lock()
	var targets []*process
	if s.main != nil {
		targets = []*process{s.main}
	} else {
		for _, p := range s.procs {
			targets = append(targets, p)
		}
	}
	s.mu.Unlock()
	for _, p := range targets {
		if err := p.signal(unix.Signal(ss)); err != nil {
			p.logger.Warn("cannot forward signal", "signal", unix.SignalName(unix.Signal(ss)), "err", err)
		}
	}
}
