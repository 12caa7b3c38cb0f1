package gateway

import (
	"errors"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/corral-metrics/corral/source"
)

// Metrics are corral's own metrics about the gateway. Their names keep clear
// of the merge's synthetic corral_source_* families.
type Metrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	mtime    *prometheus.GaugeVec
	invalid  *prometheus.CounterVec

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
}

// BuildInfo names the binary in corral_build_info.
type BuildInfo struct {
	Version, Revision string
}

// NewMetrics makes the gateway's metrics and registers them, corral_build_info,
// and the Go and process collectors on reg.
func NewMetrics(reg prometheus.Registerer, build BuildInfo) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "corral_scrape_duration_seconds",
			Help:    "Time to scrape one source, including reading its whole body.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"source"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_scrape_errors_total",
			Help: "Failed scrapes of a source, by reason (timeout, refused, status, invalid, params, busy).",
		}, []string{"source", "reason"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_scrape_bytes_total",
			Help: "Bytes read from a source.",
		}, []string{"source"}),
		mtime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "corral_file_mtime_seconds",
			Help: "Modification time of a [file] source at its last scrape, in seconds since the epoch.",
		}, []string{"source"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "corral_proxy_invalid_total",
			Help: "Verified /proxy scrapes whose body turned out invalid, by how the client learnt it: refused (502, before the first byte) or cut (the response aborted, a body streamed as it was validated).",
		}, []string{"source", "answer"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "corral_config_last_reload_successful",
			Help: "Whether the last configuration load or reload succeeded (1) or was refused (0).",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "corral_config_last_reload_success_timestamp_seconds",
			Help: "Time of the last successful configuration load, in seconds since the epoch.",
		}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "corral_build_info",
		Help:        "A metric with a constant '1' value labeled by the version, revision and Go version corral was built from.",
		ConstLabels: prometheus.Labels{"version": build.Version, "revision": build.Revision, "goversion": runtime.Version()},
	})
	info.Set(1)
	reg.MustRegister(m.duration, m.errors, m.bytes, m.mtime, m.invalid, m.reloadOK, m.reloadTime, info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Reloaded records the outcome of a configuration (re)load.
func (m *Metrics) Reloaded(ok bool, at time.Time) {
	if m == nil {
		return
	}
	if !ok {
		m.reloadOK.Set(0)
		return
	}
	m.reloadOK.Set(1)
	m.reloadTime.Set(float64(at.UnixNano()) / 1e9)
}

func (m *Metrics) observe(name string, d time.Duration, n int64, err error) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(name).Observe(d.Seconds())
	m.bytes.WithLabelValues(name).Add(float64(n))
	if err != nil {
		m.errors.WithLabelValues(name, source.ReasonOf(err)).Inc()
	}
}

// FileMtime records the modification time of a [file] source's file; a
// source's scrapes record it through Gateway.FileMtime, which a reload that
// removed the source stops.
func (m *Metrics) FileMtime(name string, t time.Time) {
	if m == nil {
		return
	}
	m.mtime.WithLabelValues(name).Set(float64(t.UnixNano()) / 1e9)
}

// forget drops the series of a source that left the configuration.
func (m *Metrics) forget(name string) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"source": name}
	m.duration.DeletePartialMatch(l)
	m.errors.DeletePartialMatch(l)
	m.bytes.DeletePartialMatch(l)
	m.mtime.DeletePartialMatch(l)
	m.invalid.DeletePartialMatch(l)
}

// registerOrExisting registers c on reg, or returns the collector of the
// same kind already registered in its place (a second gateway on one
// registry, in tests). With no registry, c is counted and not exposed.
func registerOrExisting[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
