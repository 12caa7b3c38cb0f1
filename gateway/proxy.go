package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/corral-metrics/corral/source"
)

// serveProxy is /proxy?module=NAME: one source on its own, exporter_exporter
// compatible. The deadline is the client's X-Prometheus-Scrape-Timeout-Seconds
// (see Deadline) within the source's own timeout.
func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if names := q["module"]; len(names) > 0 && names[0] == g.opts.SelfSource && g.opts.Registry != nil {
		if _, found := lookup(g.modules(), names[0]); !found {
			g.proxySelf(w, r)
			return
		}
	}
	m, status, msg := g.proxyModule(q)
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	req := source.Request{Params: q, Accept: r.Header.Get("Accept"), Proxy: true}
	if !m.Verify {
		req.AcceptEncoding = r.Header.Get("Accept-Encoding")
	}

	// Scrapes that share one run of a script share its slot too.
	key := ""
	if c, ok := m.Source.(Coalescer); ok {
		if k, ok := c.CoalesceKey(req); ok {
			key = m.Name + "\x00" + k
		}
	}
	var reserve int64 = chunkSize // what a streamed copy holds
	if m.Verify {
		g.mu.Lock()
		reserve = max(g.last[m.Name].size*3/2, minReservation) // the body and its scan
		g.mu.Unlock()
	}
	t, sw := g.admit(w, r, m.Name, key, reserve)
	if t == nil {
		return
	}
	defer t.release()

	ctx := r.Context()
	if d := Deadline(r, 0); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if m.Verify {
		g.proxyVerified(ctx, sw, t, m, req)
		return
	}
	g.proxyStream(ctx, sw, m, req)
}

// A Coalescer is a source whose concurrent scrapes with the same key share
// one run (a script). On /proxy they share one scrape slot as well.
type Coalescer interface {
	// CoalesceKey is the key of the run req would join; ok is false when
	// req joins none (its parameters are refused).
	CoalesceKey(req source.Request) (key string, ok bool)
}

// proxySelf is /proxy?module=<self_source>: corral's own metrics alone,
// reachable even with merge_self = false.
func (g *Gateway) proxySelf(w http.ResponseWriter, r *http.Request) {
	reserve := int64(minReservation)
	if gzipAccepted(r.Header) {
		reserve += gzipHeld // promhttp's compressor
	}
	t, sw := g.admit(w, r, g.opts.SelfSource, "", reserve)
	if t == nil {
		return
	}
	defer t.release()
	promhttp.HandlerFor(g.opts.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn)}).ServeHTTP(sw, r)
}

// proxyScrape asks m's source for its body. On failure it has recorded the
// failure and answered it, or, when the client went away, done neither (not
// the source's fault), and returns nil.
func (g *Gateway) proxyScrape(ctx context.Context, w http.ResponseWriter, m Module, req source.Request, start time.Time) *source.Response {
	resp, err := m.Source.Scrape(ctx, req)
	if err == nil {
		return resp
	}
	err = classify(ctx, err)
	if clientGone(ctx) {
		g.logger.Debug("proxy scrape abandoned: the client went away", "source", m.Name, "err", err)
		return nil
	}
	g.record(m.Name, start, 0, err)
	g.proxyError(w, m, err)
	return nil
}

// chunkSize is the buffer a streamed copy reads into.
const chunkSize = 256 << 10

// proxyStream passes the body through as it comes, flushing every chunk,
// up to MaxBodyBytes: past that, or when the source fails mid-body, the
// response is aborted so the client sees a failed scrape, not a truncated one.
func (g *Gateway) proxyStream(ctx context.Context, w http.ResponseWriter, m Module, req source.Request) {
	start := time.Now()
	resp := g.proxyScrape(ctx, w, m, req, start)
	if resp == nil {
		return
	}
	defer resp.Body.Close()

	bufp := g.chunks.Get().(*[]byte)
	defer g.chunks.Put(bufp)
	buf := *bufp
	rc := http.NewResponseController(w)
	limit := g.opts.MaxBodyBytes
	var n int64
	wrote := false
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			if n+int64(k) > limit {
				k = int(limit - n)
				rerr = tooLarge(limit)
			}
			if !wrote {
				h := w.Header()
				h.Set("Content-Type", cmp.Or(resp.ContentType, textContentType)) // passed through as sent
				if resp.ContentEncoding != "" {
					h.Set("Content-Encoding", resp.ContentEncoding)
				}
				wrote = true
			}
			n += int64(k)
			if _, werr := w.Write(buf[:k]); werr != nil {
				g.record(m.Name, start, n, nil) // the client went away: not the source's fault
				return
			}
			if k < len(buf) {
				// The source had no more ready: pass on what we have now.
				rc.Flush()
			}
		}
		if rerr == io.EOF {
			if !wrote {
				w.Header().Set("Content-Type", cmp.Or(resp.ContentType, textContentType))
				w.WriteHeader(http.StatusOK)
			}
			g.record(m.Name, start, n, nil)
			return
		}
		if rerr != nil {
			if !errors.As(rerr, new(*source.Error)) {
				rerr = fmt.Errorf("reading body: %w", classify(ctx, rerr))
			}
			if clientGone(ctx) {
				g.logger.Debug("proxy response abandoned: the client went away", "source", m.Name, "bytes", n)
				panic(http.ErrAbortHandler)
			}
			g.record(m.Name, start, n, rerr)
			if !wrote {
				g.proxyError(w, m, rerr)
				return
			}
			g.logger.Warn("proxy response cut", "source", m.Name, "bytes", n, "err", rerr)
			panic(http.ErrAbortHandler)
		}
	}
}

// proxyError answers a failed scrape with the status its reason calls for.
func (g *Gateway) proxyError(w http.ResponseWriter, m Module, err error) {
	http.Error(w, fmt.Sprintf("module %s: %s: %v", m.Name, source.ReasonOf(err), err), source.StatusOf(err))
}

// failed records that a scrape which fetched its body turned out invalid.
// Like record, it brings back nothing of a source a reload removed.
func (g *Gateway) failed(name string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, current := lookup(g.modules(), name); !current {
		return
	}
	if g.opts.Metrics != nil {
		g.opts.Metrics.errors.WithLabelValues(name, source.ReasonOf(err)).Inc()
	}
	st := g.last[name]
	st.Err = err.Error()
	g.last[name] = st
}
