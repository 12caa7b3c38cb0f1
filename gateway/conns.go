package gateway

import (
	"container/list"
	"context"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxConnections is [web] max_connections when unset: twice
// Prometheus' own --web.max-connections, which makes a connection past it
// wait where corral closes one.
const DefaultMaxConnections = 1024

// connectionCap is the most client connections corral may hold: half the
// files it may open (RLIMIT_NOFILE, which the Go runtime raised to its hard
// limit), so that its children's pipes, its sources' connections and its
// files never lack one. 0: no cap known.
func connectionCap() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur > 1<<30 {
		return 0
	}
	return int(l.Cur / 2)
}

// conns keeps the client connections open at once within [web]
// max_connections, whatever clients do, without making a new client wait.
// A connection past the limit makes room by closing a connection without a
// request at work of the peer address that holds the most connections:
// the oldest of that peer's that has not sent a request yet (or is still
// in its TLS handshake), else the one whose request no endpoint works on
// longest (refused by the access checks, exporter-toolkit's included, or
// for a body), else the one idle longest between keep-alive requests.
// When that peer has none but the new one, the new one is closed. A
// request is at work once it is past the access checks (working), until
// its connection is idle again. A connection that has sent a request is kept over one that
// never did, so a scraper's keep-alive connection outlasts a flood of
// silent ones even from its own address. So a
// client that opens thousands of connections, or trickles its headers on
// them, pushes out only its own; another client, Prometheus, always gets
// in; and no request at work is ever closed here. (Clients behind one
// address, a proxy's, are one peer.) A request at work is bounded
// otherwise: max_concurrent_scrapes, and its deadlines.
//
// It is the server's ConnState hook (state): net/http calls it from the
// connection's own goroutine, before it reads the connection (StateNew)
// and as the connection moves between requests; and its ConnContext hook
// (context), so that a handler can mark its connection at work.
type conns struct {
	max  func() int // the limit now (reloads change it); negative: none
	shed prometheus.Counter

	mu      sync.Mutex
	all     map[net.Conn]*conn
	peers   map[netip.Addr]*peer
	closing int // closed here, not yet reported closed by net/http
}

// peer is the connections of one client address.
type peer struct {
	addr  netip.Addr
	held  int       // in conns.all
	open  int       // of those, not closed here
	fresh list.List // of *conn that have sent no request yet, oldest first
	asked list.List // of *conn with a request that no endpoint works on (not yet past the access checks, or refused), oldest first
	idle  list.List // of *conn idle between requests, longest idle first
}

// waiting is the connection of p to close first: the oldest that has sent
// no request yet, else the one whose request no endpoint works on longest,
// else the one idle longest; nil: every one has a request at work.
func (p *peer) waiting() *conn {
	if e := p.fresh.Front(); e != nil {
		return e.Value.(*conn)
	}
	if e := p.asked.Front(); e != nil {
		return e.Value.(*conn)
	}
	if e := p.idle.Front(); e != nil {
		return e.Value.(*conn)
	}
	return nil
}

// conn is one open client connection.
type conn struct {
	c     net.Conn
	peer  *peer
	in    *list.List    // peer.fresh, peer.asked or peer.idle; nil: a request at work, or closed here
	at    *list.Element // in in
	since time.Time     // in in since
	work  int           // requests at work on it (HTTP/2 has several), until it is idle
	shut  bool          // closed here, to make room
}

// pause marks r's request as only waiting (a long poll with nothing to
// answer yet): its connection may be closed to make room as an idle one
// is, which cancels the request, until resume marks it at work again to
// answer. A connection closed so ends the long poll as a keep-alive
// connection closed when idle ends: a client that sent its poll on a
// connection it had used before (Go's net/http) sends it again on a new
// one.
func (cs *conns) pause(r *http.Request) (resume func()) {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	e := cs.all[c]
	if e == nil || e.shut || e.work == 0 {
		return func() {}
	}
	if e.work--; e.work == 0 {
		e.wait(&e.peer.idle)
	}
	return func() {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if !e.shut {
			e.work++
			e.stopWaiting()
		}
	}
}

// connKey is the request context's key of its connection (conns.context).
type connKey struct{}

// context is the server's ConnContext hook: it puts c in the context of
// its requests, for working.
func (cs *conns) context(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// atWork marks the connection of every request it passes on at work
// (working): next runs past the access checks.
func (cs *conns) atWork(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.working(r)
		next.ServeHTTP(w, r)
	})
}

// working marks the connection of r at work: it is not closed to make room
// until it is idle again (or, for HTTP/2, until none of its requests is in
// progress). A request refused before, by corral's access checks or by
// exporter-toolkit's (basic auth, its rate limit), leaves its connection
// one that may be closed, however long net/http takes to answer it.
func (cs *conns) working(r *http.Request) {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	if c == nil {
		return // not served by NewServer (a test's handler)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if e := cs.all[c]; e != nil && !e.shut {
		e.work++
		e.stopWaiting()
	}
}

func newConns(reg *prometheus.Registry, max func() int) *conns {
	cs := &conns{max: max, all: map[net.Conn]*conn{}, peers: map[netip.Addr]*peer{}}
	cs.shed = registerOrExisting(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "corral_http_connections_shed_total",
		Help: "Client connections closed to keep max_connections: the longest waiting without a request in progress of the peer holding the most.",
	}))
	registerOrExisting(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "corral_http_connections",
		Help: "Client connections open now (max_connections bounds them).",
	}, func() float64 { return float64(cs.open()) }))
	return cs
}

// open is the number of client connections open now, those closed here to
// make room but not yet seen closed by net/http left out.
func (cs *conns) open() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.all) - cs.closing
}

// state follows connection c into state s (http.Server.ConnState).
func (cs *conns) state(c net.Conn, s http.ConnState) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if s == http.StateNew {
		cs.add(c)
		return
	}
	e := cs.all[c]
	if e == nil {
		return
	}
	switch s {
	case http.StateActive:
		// A request, not at work until it is past the access checks.
		e.stopWaiting()
		e.work = 0
		if !e.shut {
			e.wait(&e.peer.asked)
		}
	case http.StateIdle:
		e.stopWaiting()
		e.work = 0
		if !e.shut {
			e.wait(&e.peer.idle)
		}
	case http.StateClosed, http.StateHijacked:
		e.stopWaiting()
		delete(cs.all, c)
		if e.shut {
			cs.closing--
		} else {
			e.peer.open--
		}
		if e.peer.held--; e.peer.held == 0 {
			delete(cs.peers, e.peer.addr)
		}
	}
}

// add takes new connection c and, past the limit, makes room. cs.mu is held.
func (cs *conns) add(c net.Conn) {
	addr := netip.Addr{}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		addr = ap.Addr().Unmap()
	}
	p := cs.peers[addr]
	if p == nil {
		p = &peer{addr: addr}
		cs.peers[addr] = p
	}
	e := &conn{c: c, peer: p}
	cs.all[c] = e
	p.held++
	p.open++
	e.wait(&p.fresh)
	// More than one goes when a reload lowered the limit.
	for max := cs.max(); max >= 0 && len(cs.all)-cs.closing > max; {
		victim := cs.victim()
		if victim == nil {
			return // every connection has a request at work
		}
		cs.shut(victim)
	}
}

// victim is the connection to close to make room: of the peer with the
// most open connections among those with one waiting, the one it should
// close first (peer.waiting). cs.mu is held.
func (cs *conns) victim() *conn {
	var best *conn
	for _, p := range cs.peers {
		w := p.waiting()
		if w != nil && (best == nil || p.open > best.peer.open || p.open == best.peer.open && w.since.Before(best.since)) {
			best = w
		}
	}
	return best
}

// shut closes e's connection to make room; net/http then reports it
// closed. A TLS connection's socket is closed under it: no close alert,
// which could wait on a client that does not read. cs.mu is held.
func (cs *conns) shut(e *conn) {
	e.stopWaiting()
	e.shut = true
	e.peer.open--
	cs.closing++
	cs.shed.Inc()
	c := e.c
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = tc.NetConn()
	}
	c.Close()
}

// wait puts e at the back of l.
func (e *conn) wait(l *list.List) {
	e.in, e.at, e.since = l, l.PushBack(e), time.Now()
}

func (e *conn) stopWaiting() {
	if e.in != nil {
		e.in.Remove(e.at)
		e.in, e.at = nil, nil
	}
}
