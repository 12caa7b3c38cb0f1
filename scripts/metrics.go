package scripts

import "github.com/prometheus/client_golang/prometheus"

// Results of a run, the "result" label of corral_script_runs_total.
const (
	resultOK      = "ok"
	resultError   = "error"   // could not start, or exited non-zero
	resultTimeout = "timeout" // killed at its deadline
	resultInvalid = "invalid" // output too large or not a valid exposition
)

// Metrics are the scripts' own metrics, shared by every script.
type Metrics struct {
	runs      *prometheus.CounterVec
	coalesced *prometheus.CounterVec
	cacheHits *prometheus.CounterVec
	busy      *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	cached    *prometheus.GaugeVec
}

// NewMetrics makes the scripts' metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_script_runs_total",
			Help: "Script runs by result (ok, error, timeout, invalid).",
		}, []string{"script", "result"}),
		coalesced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_script_coalesced_total",
			Help: "Scrapes served by a script run they did not start.",
		}, []string{"script"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_script_cache_hits_total",
			Help: "Scrapes served from a script's cached result.",
		}, []string{"script"}),
		busy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_script_busy_total",
			Help: "Runs refused because max_concurrent or the global limit was reached.",
		}, []string{"script"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "corral_script_duration_seconds",
			Help:    "How long script runs took, whatever their result.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"script"}),
		cached: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "corral_script_cached",
			Help: "1 when the script's last answer was a stale result served because its run failed (stale_on_error).",
		}, []string{"script"}),
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.coalesced, m.cacheHits, m.busy, m.duration, m.cached)
	}
	return m
}

// scriptMetrics are one script's series, resolved once.
type scriptMetrics struct {
	runs                       map[string]prometheus.Counter // by result
	coalesced, cacheHits, busy prometheus.Counter
	duration                   prometheus.Observer
	cached                     prometheus.Gauge
}

// forScript resolves a script's series, which exist from then on, at zero.
func (m *Metrics) forScript(script string) scriptMetrics {
	sm := scriptMetrics{
		runs:      make(map[string]prometheus.Counter, 4),
		coalesced: m.coalesced.WithLabelValues(script),
		cacheHits: m.cacheHits.WithLabelValues(script),
		busy:      m.busy.WithLabelValues(script),
		duration:  m.duration.WithLabelValues(script),
		cached:    m.cached.WithLabelValues(script),
	}
	for _, r := range []string{resultOK, resultError, resultTimeout, resultInvalid} {
		sm.runs[r] = m.runs.WithLabelValues(script, r)
	}
	return sm
}

// Forget drops a script's series, for a script removed on reload.
func (m *Metrics) Forget(script string) {
	l := prometheus.Labels{"script": script}
	m.runs.DeletePartialMatch(l)
	m.coalesced.DeletePartialMatch(l)
	m.cacheHits.DeletePartialMatch(l)
	m.busy.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.cached.DeletePartialMatch(l)
}
