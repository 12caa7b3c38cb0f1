package exposition

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var regenerate = flag.Bool("fixtures", false, "regenerate the client_golang fixtures in testdata/")

// TestFixtures captures the client_golang fixtures from a real registry
// served by promhttp, when run with -fixtures: a histogram-heavy output, a
// summary, OpenMetrics with exemplars and a protobuf body with native
// histograms. The node exporter fixture was captured by hand from Debian's
// prometheus-node-exporter 1.5.0.
func TestFixtures(t *testing.T) {
	if !*regenerate {
		t.Log("fixtures kept; run with -fixtures to capture them again")
		return
	}
	hist := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Request latency.",
		Buckets: prometheus.DefBuckets,
	}, []string{"handler", "code"})
	s := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "response_size_bytes", Help: "Response size.", Buckets: prometheus.ExponentialBuckets(100, 10, 6),
	})
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests."}, []string{"handler", "code"})
	hist.MustRegister(h, s, c)
	for i, handler := range []string{"/", "/api", "/metrics", "/login"} {
		for j, code := range []string{"200", "404", "500"} {
			for k := 0; k < 20; k++ {
				h.WithLabelValues(handler, code).Observe(float64(i*j*k%13) / 20)
				c.WithLabelValues(handler, code).Inc()
			}
		}
	}
	s.Observe(1234)
	s.Observe(42)
	capture(t, hist, "text/plain; version=0.0.4", "histograms.prom")

	sum := prometheus.NewRegistry()
	sv := prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Name: "rpc_duration_seconds", Help: "RPC latency.",
		Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
	}, []string{"service"})
	sum.MustRegister(sv)
	for i := 0; i < 100; i++ {
		sv.WithLabelValues("auth").Observe(float64(i) / 100)
		sv.WithLabelValues("db").Observe(float64(i) / 10)
	}
	capture(t, sum, "text/plain; version=0.0.4", "summary.prom")

	ex := prometheus.NewRegistry()
	eh := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "job_duration_seconds", Help: "Job time.", Buckets: []float64{0.1, 1, 10}})
	ec := prometheus.NewCounter(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs run."})
	ex.MustRegister(eh, ec)
	eh.(prometheus.ExemplarObserver).ObserveWithExemplar(0.5, prometheus.Labels{"trace_id": "4bf92f3577b34da6"})
	ec.(prometheus.ExemplarAdder).AddWithExemplar(3, prometheus.Labels{"trace_id": "00f067aa0ba902b7"})
	capture(t, ex, "application/openmetrics-text; version=1.0.0", "exemplars.om.txt")

	nh := prometheus.NewRegistry()
	n := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "native_latency_seconds", Help: "Native and classic.", Buckets: []float64{0.1, 1},
		NativeHistogramBucketFactor: 1.1,
	})
	nh.MustRegister(n)
	for i := 1; i <= 50; i++ {
		n.(prometheus.ExemplarObserver).ObserveWithExemplar(float64(i)/25, prometheus.Labels{"trace_id": "abc"})
	}
	capture(t, nh, "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", "native_histograms.pb")
}

func capture(t *testing.T, g prometheus.Gatherer, accept, file string) {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s, %d bytes", file, resp.Header.Get("Content-Type"), buf.Len())
	if err := os.WriteFile(filepath.Join("testdata", file), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
