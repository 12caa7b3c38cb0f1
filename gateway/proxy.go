package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/corral-metrics/corral/exposition"
)

// serveProxy is /proxy?module=NAME: one source on its own, exporter_exporter
// compatible. The deadline is the client's X-Prometheus-Scrape-Timeout-Seconds
// (see Deadline) within the source's own timeout.
func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m, status, msg := g.proxyModule(q)
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}

	ctx := r.Context()
	if d := Deadline(r, 0); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	req := Request{Params: q, Accept: r.Header.Get("Accept"), Proxy: true}
	if m.Verify {
		g.proxyVerified(ctx, w, m, req)
		return
	}
	req.AcceptEncoding = r.Header.Get("Accept-Encoding")
	g.proxyStream(ctx, w, m, req)
}

// proxyVerified reads the whole body, validates it, and only then answers.
func (g *Gateway) proxyVerified(ctx context.Context, w http.ResponseWriter, m Module, req Request) {
	buf := g.getBuffer(m.Name)
	defer g.putBuffer(m.Name, buf)
	ct, rc, err := g.fetch(ctx, m, req, buf, func(ct string) *exposition.Receiver { return exposition.Receive(ct, "", nil) })
	defer rc.Release()
	if err == nil {
		verr := rc.Finish(buf.Bytes()) // text: validated while it arrived
		if rc == nil {
			verr = validate(ct, buf.Bytes())
		}
		if verr != nil {
			err = Fail(ReasonInvalid, fmt.Errorf("invalid exposition (%s): %w", ct, verr))
			g.failed(m.Name, err)
		}
	}
	if err != nil {
		g.proxyError(w, m, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// proxyStream passes the body through as it comes, flushing every chunk,
// up to MaxBodyBytes: past that, or when the source fails mid-body, the
// response is aborted so the client sees a failed scrape, not a truncated one.
func (g *Gateway) proxyStream(ctx context.Context, w http.ResponseWriter, m Module, req Request) {
	start := time.Now()
	resp, err := m.Source.Scrape(ctx, req)
	if err != nil {
		err = classify(ctx, err)
		g.record(m.Name, start, 0, err)
		g.proxyError(w, m, err)
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
				h.Set("Content-Type", contentTypeOr(resp.ContentType))
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
				w.Header().Set("Content-Type", contentTypeOr(resp.ContentType))
				w.WriteHeader(http.StatusOK)
			}
			g.record(m.Name, start, n, nil)
			return
		}
		if rerr != nil {
			if !errors.As(rerr, new(*SourceError)) {
				rerr = fmt.Errorf("reading body: %w", classify(ctx, rerr))
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
	http.Error(w, fmt.Sprintf("module %s: %s: %v", m.Name, ReasonOf(err), err), StatusOf(err))
}

// failed records that a scrape which fetched its body turned out invalid.
func (g *Gateway) failed(source string, err error) {
	if g.opts.Metrics != nil {
		g.opts.Metrics.errors.WithLabelValues(source, ReasonOf(err)).Inc()
	}
	g.mu.Lock()
	st := g.last[source]
	st.Err = err.Error()
	g.last[source] = st
	g.mu.Unlock()
}
