package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// ServerOptions are the HTTP server's settings.
type ServerOptions struct {
	// ListenAddresses are the addresses to listen on.
	ListenAddresses []string
	// WebConfigFile is exporter-toolkit's web config (TLS, client
	// certificates, basic auth); empty: plain HTTP.
	WebConfigFile string
	// ReadHeaderTimeout bounds a client sending its request headers; 0: 10 s.
	ReadHeaderTimeout time.Duration
	// ShutdownTimeout bounds in-flight requests on Stop; 0: 5 s.
	ShutdownTimeout time.Duration
}

// Server is the gateway's HTTP server, an actor: Run serves until Stop.
type Server struct {
	g        *Gateway
	srv      *http.Server
	flags    web.FlagConfig
	shutdown time.Duration
	logger   *slog.Logger
	once     sync.Once
}

// NewServer makes the server of g; Run starts it.
func NewServer(g *Gateway, opts ServerOptions) *Server {
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 10 * time.Second
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 5 * time.Second
	}
	addrs := append([]string(nil), opts.ListenAddresses...)
	configFile := opts.WebConfigFile
	systemd := false
	logger := g.opts.Logger.With("component", "http")
	return &Server{
		g: g,
		srv: &http.Server{
			Handler:           g.Handler(),
			ReadHeaderTimeout: opts.ReadHeaderTimeout,
			ReadTimeout:       opts.ReadHeaderTimeout + 20*time.Second, // requests carry no body
			// A backstop for the endpoints that are not scrapes; a scrape
			// sets its own write deadline from its scrape deadline.
			WriteTimeout: time.Minute,
			IdleTimeout:  2 * time.Minute,
			// A header block past this is refused with 431 (Go adds 4 KiB of
			// slack): enough for any bearer token or Accept a scraper sends.
			MaxHeaderBytes: 64 << 10,
			ConnState:      g.conns.state, // [web] max_connections
			ConnContext:    g.conns.context,
			ErrorLog:       slog.NewLogLogger(ownCloses{logger.Handler()}, slog.LevelWarn),
		},
		flags:    web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &configFile},
		shutdown: opts.ShutdownTimeout,
		logger:   logger,
	}
}

// Run listens and serves until Stop; it fails if it cannot listen or the web
// config file is invalid or conflicts with the bearer token (see
// CheckWebConfig).
func (s *Server) Run() error {
	if err := s.check(); err != nil {
		return err
	}
	err := web.ListenAndServe(s.srv, &s.flags, s.logger)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Serve serves on l, already listening (a test's port 0, an inherited
// socket), until Stop; TLS and auth come from the web config as in Run.
func (s *Server) Serve(l net.Listener) error {
	if err := s.check(); err != nil {
		return err
	}
	err := web.ServeMultiple([]net.Listener{l}, s.srv, &s.flags, s.logger)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) check() error {
	a := s.g.access.Load()
	return CheckWebConfig(*s.flags.WebConfigFile, a.token != nil || a.file != nil)
}

// CheckWebConfig validates exporter-toolkit's web config file (empty: none)
// and, when a bearer token is required (bearer), that the file sets no
// basic_auth_users: both take the Authorization header, so no request
// could pass both and everyone would be locked out.
func CheckWebConfig(path string, bearer bool) error {
	if path == "" {
		return nil
	}
	if err := web.Validate(path); err != nil {
		return fmt.Errorf("web config file %s: %w", path, err)
	}
	if !bearer {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("web config file %s: %w", path, err)
	}
	var c struct {
		Users map[string]string `yaml:"basic_auth_users"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("web config file %s: %w", path, err)
	}
	if len(c.Users) > 0 {
		return fmt.Errorf("web config file %s sets basic_auth_users and [web] bearer_token_file is set: both use the Authorization header, so no client could pass both; keep one", path)
	}
	return nil
}

// Stop marks the gateway not ready and shuts the server down, letting
// requests in flight finish within the shutdown timeout. Safe to call twice.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.g.Stopping()
		ctx, cancel := context.WithTimeout(context.Background(), s.shutdown)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.logger.Warn("shutdown", "err", err)
			s.srv.Close()
		}
	})
}

// ownCloses leaves out of the server's log the errors of connections
// corral closed itself (max_connections, shutdown): a TLS handshake cut
// short that way is logged by net/http as "use of closed network
// connection", which a flood of connections would repeat thousands of
// times a second.
type ownCloses struct{ slog.Handler }

func (h ownCloses) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "use of closed network connection") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}
