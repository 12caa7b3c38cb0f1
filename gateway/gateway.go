// Package gateway is corral's one port: the HTTP server, access control and
// limits, /proxy?module=NAME, the merged /metrics and the landing page. It
// scrapes every kind of source through package source's Source and knows
// none of them by name.
package gateway

import (
	"cmp"
	"html/template"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/corral-metrics/corral/source"
)

// Options configure a Gateway. A reload swaps the modules (SetModules),
// the access control and limits, the default module and the external
// address (SetAccess); the rest is fixed for the gateway's life.
type Options struct {
	// Logger receives the gateway's logs; attributes component=gateway and
	// source=NAME are added where they apply.
	Logger *slog.Logger
	// Registry holds corral's own metrics; the merge reads it as the self
	// source.
	Registry *prometheus.Registry
	// Metrics are the gateway's own scrape metrics, registered on Registry by
	// NewMetrics. Nil records nothing (tests, corral check).
	Metrics *Metrics

	// MergeLabel is the label naming the source of every merged series ([web] merge_label).
	MergeLabel string
	// SelfSource is the source name of corral's own metrics in the merge ([web] self_source).
	SelfSource string
	// MergeSelf includes corral's own metrics in /metrics ([web] merge_self).
	MergeSelf bool
	// ScrapeTimeout bounds a merged scrape when the client sends no
	// X-Prometheus-Scrape-Timeout-Seconds ([web] scrape_timeout); see Deadline.
	ScrapeTimeout time.Duration
	// MaxBodyBytes bounds what is read from one source per scrape ([web] max_body_bytes).
	MaxBodyBytes int64
	// TrimWhenQuiet gives memory back once no scrape has been in flight
	// for 5 s, and more after 30 s (see trim.go); corral sets it. Off (most
	// tests), what the scrapes keep for the next ones stays.
	TrimWhenQuiet bool

	// The access control, limits and choices below are applied again by
	// SetAccess.

	// AllowNetworks are the client networks allowed; empty allows all.
	AllowNetworks []netip.Prefix
	// BearerToken, when set, is required (Authorization: Bearer) on every
	// endpoint but /-/healthy.
	BearerToken string
	// BearerTokenFile, when set, holds a token required as BearerToken is,
	// re-read when the file changes ([web] bearer_token_file). Either token
	// is accepted when both are set.
	BearerTokenFile *FileSecret
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// checked against AllowNetworks ([web] trusted_proxies); empty: the
	// header is ignored.
	TrustedProxies []netip.Prefix
	// MaxConcurrentScrapes bounds scrapes of /metrics and /proxy working at
	// once; coalesced scrapes (of a script, of a merged endpoint) share one
	// slot, and a scrape whose client stopped reading gives its slot up
	// when another needs it.
	// More are refused with 503 at once ([web] max_concurrent_scrapes).
	// 0: DefaultMaxConcurrentScrapes; negative: no limit.
	MaxConcurrentScrapes int
	// DefaultModule is the module /proxy serves when the request names none
	// ([web] default_module, exporter_exporter's defaultModule); "": none.
	DefaultModule string
	// ExternalAddress is the host:port /-/sd gives as every target's
	// address ([web] external_address); "": the Host the client used.
	ExternalAddress string
	// MaxInflightBytes bounds the memory reserved by scrapes in flight for
	// the bodies they hold; past it, scrapes are refused with 503 at once
	// ([web] max_inflight_bytes). 0: DefaultMaxInflightBytes; negative: no
	// limit.
	MaxInflightBytes int64
	// MaxConnections bounds the client connections open at once; one past
	// it closes the connection waiting longest without a request in
	// progress (see conns) ([web] max_connections). 0:
	// DefaultMaxConnections; negative: no limit.
	MaxConnections int

	// Processes lists the supervised processes for the landing page; nil: none.
	Processes func() []ProcessStatus
	// Ready tells /-/ready whether every process with a readiness check is
	// ready; nil: ready as soon as the server runs.
	Ready func() bool
	// Reload reloads the configuration for POST /-/reload; nil: 404.
	Reload func() error
	// Controller serves the control API and the processes' output (see
	// control.go); nil: no output, and no action.
	Controller Controller
	// Control turns on the actions that change state ([web] control): start,
	// stop, restart and signal. Off, they answer 403. Applied by SetAccess.
	Control bool
	// WebAuthenticated tells that the web config file asks clients for
	// basic auth or a verified client certificate (WebConfigAuthenticates);
	// without it nor a bearer token, control answers local clients only
	// (access.local: loopback, not relayed by a proxy).
	// Applied by SetAccess.
	WebAuthenticated bool
	// Version is shown on the landing page.
	Version string
}

// ProcessStatus is what the landing page shows of one supervised process.
type ProcessStatus struct {
	Name         string    `json:"name"`
	State        string    `json:"state"` // e.g. starting, running, backoff, stopped, failed
	PID          int       `json:"pid"`
	Restarts     int       `json:"restarts"`
	Started      time.Time `json:"started"`                  // zero when not running
	LastExitCode *int      `json:"last_exit_code,omitempty"` // nil until it first exits
	Check        string    `json:"check,omitempty"`          // its readiness check: http, tcp, exec or none
	Ready        bool      `json:"ready"`
	// Main is the main process (the command after --): it cannot be
	// stopped through the control API.
	Main bool `json:"main,omitempty"`
	// Reason says why it is in its state: how it last ended, or that it was
	// stopped through the control API; "" when there is nothing to say.
	Reason string `json:"reason,omitempty"`
	// Usage is what its process group costs now; nil when not known.
	Usage *ProcessUsage `json:"usage,omitempty"`
}

// ProcessUsage is what a process and its children cost now.
type ProcessUsage struct {
	CPUSeconds    float64 `json:"cpu_seconds"`
	ResidentBytes uint64  `json:"resident_memory_bytes"`
	OpenFDs       int     `json:"open_fds"`
	Threads       int     `json:"threads"`
}

// Gateway serves the metrics of every source on one port.
type Gateway struct {
	opts   Options
	logger *slog.Logger

	// mods is the current module set, sorted by name, swapped whole by
	// SetModules; a scrape keeps the slice it started with.
	mods atomic.Pointer[[]Module]
	// longest is the longest a scrape works: scrape_timeout or the longest
	// source timeout (SetModules), which bounds the client's timeout
	// header as a write deadline (writeDeadline).
	longest atomic.Int64
	// eps are the merged endpoints besides /metrics, swapped whole by
	// SetEndpoints (see endpoint.go).
	eps atomic.Pointer[[]Endpoint]

	mu   sync.Mutex
	last map[string]scrapeState // by source name, for the landing page

	access atomic.Pointer[access] // see SetAccess
	lim    *limits
	conns  *conns

	stopping atomic.Bool
	stopped  chan struct{} // closed by Stopping: long polls end (control.go)
	stopOnce sync.Once
	bufs     bodyBuffers // for buffered scrapes: see getBuffer
	chunks   sync.Pool   // *[]byte for streamed copies
	landing  *template.Template
	merge    mergeState // the merged /metrics: see merge.go
	flights  flights    // merged fetches in progress: see flight.go
	trimmer  *trimmer   // gives memory back after the scrapes: see trim.go
}

// New makes a gateway with no modules.
func New(opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	opts.MergeLabel = cmp.Or(opts.MergeLabel, DefaultMergeLabel)
	opts.SelfSource = cmp.Or(opts.SelfSource, DefaultSelfSource)
	if opts.ScrapeTimeout <= 0 {
		opts.ScrapeTimeout = DefaultScrapeTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = source.DefaultMaxBodyBytes
	}
	g := &Gateway{
		opts:    opts,
		logger:  opts.Logger.With("component", "gateway"),
		last:    make(map[string]scrapeState),
		stopped: make(chan struct{}),
		landing: parseLanding(),
	}
	g.mods.Store(&[]Module{})
	g.longest.Store(int64(g.opts.ScrapeTimeout))
	g.lim = newLimits(opts.Registry)
	g.conns = newConns(opts.Registry, func() int { return g.access.Load().maxConns })
	g.trimmer = newTrimmer(opts.Registry)
	if opts.TrimWhenQuiet {
		g.lim.onQuiet = g.trim
	}
	g.SetAccess(opts)
	g.chunks.New = func() any { b := make([]byte, chunkSize); return &b }
	return g
}

// access is the part of the options a reload changes: who may scrape, how
// much at once, and what /proxy and /-/sd answer by default.
type access struct {
	allow      []netip.Prefix
	token      []byte // "Bearer "+BearerToken; nil: none
	file       *FileSecret
	trusted    []netip.Prefix
	maxScrapes int   // negative: no limit
	budget     int64 // negative: no limit
	maxConns   int   // negative: no limit
	defModule  string
	external   string
	// control and webAuth are Options.Control and WebAuthenticated, the
	// control API's gate (control.go).
	control, webAuth bool
}

// SetAccess applies the access control, limits and choices of opts at once
// (AllowNetworks, BearerToken, BearerTokenFile, TrustedProxies,
// MaxConcurrentScrapes, MaxInflightBytes, MaxConnections, DefaultModule,
// ExternalAddress, Control, WebAuthenticated); its other fields are ignored. Requests in
// flight keep what admitted them.
func (g *Gateway) SetAccess(opts Options) {
	a := &access{
		allow:      slices.Clone(opts.AllowNetworks),
		file:       opts.BearerTokenFile,
		trusted:    slices.Clone(opts.TrustedProxies),
		maxScrapes: cmp.Or(opts.MaxConcurrentScrapes, DefaultMaxConcurrentScrapes),
		budget:     cmp.Or(opts.MaxInflightBytes, DefaultMaxInflightBytes),
		maxConns:   cmp.Or(opts.MaxConnections, DefaultMaxConnections),
		defModule:  opts.DefaultModule,
		external:   opts.ExternalAddress,
		control:    opts.Control,
		webAuth:    opts.WebAuthenticated,
	}
	if opts.BearerToken != "" {
		a.token = []byte("Bearer " + opts.BearerToken)
	}
	if limit := connectionCap(); limit > 0 && (a.maxConns < 0 || a.maxConns > limit) {
		g.logger.Info("max_connections lowered to half the open files corral may have (ulimit -n)", "max_connections", a.maxConns, "to", limit)
		a.maxConns = limit
	}
	a.file.setLogger(g.logger.With("secret", "bearer_token_file"))
	g.access.Store(a)
}

// SetModules replaces the module set at once. Scrapes in flight finish on
// the set they started with. Sources that left the set lose their metrics
// (corral's, and the merge's counters) and landing-page state; a scrape
// still in flight for one records nothing (see record).
func (g *Gateway) SetModules(mods []Module) {
	sorted := slices.Clone(mods)
	slices.SortFunc(sorted, func(a, b Module) int { return strings.Compare(a.Name, b.Name) })
	longest := g.opts.ScrapeTimeout
	for _, m := range sorted {
		if e, ok := m.Source.(expexper); ok {
			longest = max(longest, e.Expexp().Timeout)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.longest.Store(int64(longest))
	old := g.mods.Swap(&sorted)
	for _, m := range *old {
		if _, found := lookup(sorted, m.Name); !found {
			g.opts.Metrics.forget(m.Name)
			g.merge.forget(g.opts.MergeLabel, m.Name)
			delete(g.last, m.Name)
		}
	}
}

// modules is the current module set, sorted by name. Do not modify it.
func (g *Gateway) modules() []Module { return *g.mods.Load() }

// Stopping marks the gateway as shutting down: /-/ready answers 503 from now on.
func (g *Gateway) Stopping() {
	g.stopping.Store(true)
	g.stopOnce.Do(func() { close(g.stopped) })
}

func lookup(mods []Module, name string) (Module, bool) {
	i, found := slices.BinarySearchFunc(mods, name, func(m Module, n string) int { return strings.Compare(m.Name, n) })
	if !found {
		return Module{}, false
	}
	return mods[i], true
}

// forget drops the merge's counters of a source that left the
// configuration, and all it keeps of it (its families in conflict, what
// was logged), after the module set without it was stored: a merged
// scrape in flight when it left counts it no more (see account). A source
// of that name added again starts afresh.
func (st *mergeState) forget(label, source string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.conflicts == nil {
		return // no merged scrape yet
	}
	st.conflicts.DeletePartialMatch(prometheus.Labels{label: source})
	st.dups.DeletePartialMatch(prometheus.Labels{label: source})
	delete(st.families, source)
	delete(st.down, source)
	delete(st.logged, source)
	for key := range st.dropped {
		if key.source == source {
			delete(st.dropped, key)
		}
	}
}
