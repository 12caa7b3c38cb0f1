package supervisor

import "github.com/prometheus/client_golang/prometheus"

// metrics are the supervisor's series, one per process (label "process").
type metrics struct {
	up        *prometheus.GaugeVec
	restarts  *prometheus.CounterVec
	lastExit  *prometheus.GaugeVec
	startTime *prometheus.GaugeVec
	ready     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	label := []string{"process"}
	m := &metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "corral_process_up",
			Help: "1 while the process is running, else 0.",
		}, label),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_process_restarts_total",
			Help: "Times the process was started again after it ended.",
		}, label),
		lastExit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "corral_process_last_exit_code",
			Help: "Exit code of the process's last run (128+signal when killed; 127 when it could not start).",
		}, label),
		startTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "corral_process_start_time_seconds",
			Help: "Unix time the process was last started.",
		}, label),
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "corral_process_ready",
			Help: "1 once the process passed its readiness check (or started, without one), else 0.",
		}, label),
	}
	if reg != nil {
		reg.MustRegister(m.up, m.restarts, m.lastExit, m.startTime, m.ready)
	}
	return m
}

// add makes every series of a process exist from the start.
func (m *metrics) add(name string) {
	m.up.WithLabelValues(name).Set(0)
	m.restarts.WithLabelValues(name).Add(0)
	m.ready.WithLabelValues(name).Set(0)
}

// remove deletes the series of a process that reload took away.
func (m *metrics) remove(name string) {
	m.up.DeleteLabelValues(name)
	m.restarts.DeleteLabelValues(name)
	m.lastExit.DeleteLabelValues(name)
	m.startTime.DeleteLabelValues(name)
	m.ready.DeleteLabelValues(name)
}
