package gateway

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxConcurrentScrapes is [web] max_concurrent_scrapes when unset.
const DefaultMaxConcurrentScrapes = 64

// limits protect the appliance from its clients: at most a fixed number of
// scrapes (/metrics, /proxy) in flight, never queued, and no request body.
// One is made per Handler.
type limits struct {
	max      int64
	inflight atomic.Int64
	refusals *prometheus.CounterVec
	inflGa   prometheus.Gauge
}

func (g *Gateway) newLimits() *limits {
	l := &limits{max: int64(g.opts.MaxConcurrentScrapes)}
	if l.max == 0 {
		l.max = DefaultMaxConcurrentScrapes
	}
	l.refusals = registerOrExisting(g.opts.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "corral_http_requests_refused_total",
		Help: "Requests refused before reaching an endpoint, by reason (busy: max_concurrent_scrapes reached; body: a request body; forbidden: not in allow_networks; unauthorized: no valid bearer token).",
	}, []string{"reason"}))
	for _, r := range []string{"busy", "body", "forbidden", "unauthorized"} {
		l.refusals.WithLabelValues(r)
	}
	l.inflGa = registerOrExisting(g.opts.Registry, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "corral_http_scrapes_in_flight",
		Help: "Scrapes of /metrics and /proxy being answered now; more than max_concurrent_scrapes are refused with 503.",
	}))
	return l
}

func (l *limits) refused(reason string) { l.refusals.WithLabelValues(reason).Inc() }

// scrape admits a scrape if fewer than max are in flight, else answers 503
// at once: a scrape that waited in a queue would only time out later.
func (l *limits) scrape(next http.Handler) http.Handler {
	if l.max < 0 {
		return next // negative: no limit
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := l.inflight.Add(1)
		defer func() { l.inflGa.Set(float64(l.inflight.Add(-1))) }()
		if n > l.max {
			l.refused("busy")
			w.Header().Set("Retry-After", "1")
			http.Error(w, fmt.Sprintf("too many scrapes in flight (max_concurrent_scrapes = %d): try again later", l.max), http.StatusServiceUnavailable)
			return
		}
		l.inflGa.Set(float64(n))
		next.ServeHTTP(w, r)
	})
}

// noBody refuses a request that carries a body (413): no endpoint reads one,
// and one that is not read would keep the connection busy.
func (l *limits) noBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			l.refused("body")
			w.Header().Set("Connection", "close")
			http.Error(w, "request body not allowed: corral's endpoints take none", http.StatusRequestEntityTooLarge)
			return
		}
		next.ServeHTTP(w, r)
	})
}
