package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/corral-metrics/corral/exposition"
	"github.com/corral-metrics/corral/source"
)

// streamVerifiedFrom is the size from which a verified /proxy sends a body
// to the client as it is validated rather than after: when the source's
// last scrape brought a valid body at least this big, this one is streamed.
// Otherwise (small bodies, a source's first scrape, the one after a failure)
// the whole body is checked before the first byte, and an invalid one is
// answered 502 with its reason; streamed, an invalid line cuts the response
// (the client sees a failed scrape, never a short one) and the reason is in
// corral's log and metrics only.
const streamVerifiedFrom = 1 << 20

// proxyScan follows a source's name in the key of its verified /proxy's
// scan state (see scanState).
const proxyScan = "\x00proxy"

// errClientWrite stops the read of a body whose client went away.
var errClientWrite = errors.New("writing to the client failed")

// proxyVerified reads the body and validates it as it arrives (text and
// OpenMetrics; a protobuf body is validated once read). Most bodies are
// answered only once all of it is valid; that of a source whose last body
// was large and valid is sent as far as it has scanned clean, and cut at
// the first problem (see streamVerifiedFrom). Either way the body is held whole (the
// scan refers back to it), which is what the ticket holds while it is read:
// a body that needs more than the budget has left is answered 503, or cut
// when streamed.
func (g *Gateway) proxyVerified(ctx context.Context, w http.ResponseWriter, t *ticket, m Module, req source.Request) {
	start := time.Now()
	resp := g.proxyScrape(ctx, w, m, req, start)
	if resp == nil {
		return
	}
	defer resp.Body.Close()
	var err error
	var body io.Reader = resp.Body
	switch resp.ContentEncoding {
	case "", "identity":
	case "gzip":
		zr, zerr := gzip.NewReader(resp.Body)
		if zerr != nil {
			err = source.Fail(source.ReasonInvalid, fmt.Errorf("reading gzip body: %w", classify(ctx, zerr)))
			g.record(m.Name, start, 0, err)
			g.proxyError(w, m, err)
			return
		}
		body = zr
	default:
		err = source.Fail(source.ReasonInvalid, fmt.Errorf("unsupported Content-Encoding %q", resp.ContentEncoding))
		g.record(m.Name, start, 0, err)
		g.proxyError(w, m, err)
		return
	}
	ct := contentTypeOr(resp.ContentType)
	// The source's own scan state, apart from its merge's (whose scans
	// hash and label): its next body, the same series with new values, is
	// checked against the last one's memo rather than parsed.
	rc := g.scanState(m.Name+proxyScan).Receive(ct, "", nil)
	defer rc.Release()
	buf := g.getBuffer(m.Name)
	defer g.putBuffer(m.Name, buf)
	last := g.sizeBuffer(m.Name, buf)

	v := &verifier{r: body, buf: buf, rc: rc, w: w, ct: ct}
	v.stream = rc != nil && last.Bytes >= streamVerifiedFrom && last.Err == ""
	limit := g.opts.MaxBodyBytes
	// The ticket holds the buffer and the scan, half the body: what
	// admission reserved (1.5 times the source's last body), and more as
	// this one needs it.
	held := &budgeted{r: v, buf: buf, t: t, capHalves: 2, bodyHalves: 1}
	n, rerr := buf.ReadFrom(io.LimitReader(held, limit+1))
	if rerr == nil && n <= limit {
		rerr = held.done()
	}
	var verr error // the body is invalid
	switch {
	case errors.Is(rerr, errClientWrite):
		g.logger.Debug("proxy response abandoned: the client went away", "source", m.Name, "bytes", n)
		panic(http.ErrAbortHandler)
	case v.err != nil && v.streaming:
		verr = v.err
	case rerr != nil:
		rerr = fmt.Errorf("reading body: %w", classify(ctx, rerr))
	case n > limit:
		n, rerr = limit, tooLarge(limit)
	case v.err != nil:
		verr = v.err
	case rc != nil:
		verr = rc.Finish(buf.Bytes())
	default:
		verr = validate(ct, buf.Bytes())
	}
	if rerr != nil && clientGone(ctx) {
		g.logger.Debug("proxy scrape abandoned: the client went away", "source", m.Name, "err", rerr)
		if v.sent > 0 {
			panic(http.ErrAbortHandler)
		}
		return
	}
	g.record(m.Name, start, n, rerr)
	err = rerr
	if verr != nil {
		err = source.Fail(source.ReasonInvalid, fmt.Errorf("invalid exposition (%s): %w", ct, verr))
		g.failed(m.Name, err)
		g.countInvalid(m.Name, v.streaming)
	}
	if err != nil {
		if !v.streaming {
			if verr != nil { // the client has the reason in the 502
				g.logger.Info("verified proxy body refused", "source", m.Name, "bytes", n, "err", err)
			}
			if errors.Is(err, errOverBudget) {
				w.Header().Set("Retry-After", "1")
			}
			g.proxyError(w, m, err)
			return
		}
		g.logger.Warn("verified proxy response cut", "source", m.Name, "sent", v.sent, "bytes", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	t.idle() // the work is done: what is left is the client's to read
	if !v.streaming {
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(http.StatusOK)
	}
	w.Write(buf.Bytes()[v.sent:])
}

// sizeBuffer makes room in buf, empty, for the source's bodies (the
// largest of its last ones, and an eighth more), so that a buffer the pool
// lost is not grown by doubling (a copy per step) for a big body, nor one a
// little too small doubled: its room is made anew, of that size. It
// returns the source's last scrape's state.
func (g *Gateway) sizeBuffer(source string, buf *bytes.Buffer) scrapeState {
	g.mu.Lock()
	last := g.last[source]
	g.mu.Unlock()
	if hint := min(last.size+last.size/8+512, g.opts.MaxBodyBytes+1); int64(buf.Cap()) < hint {
		*buf = *bytes.NewBuffer(make([]byte, 0, hint))
	}
	return last
}

// countInvalid counts a verified /proxy whose body was invalid, by whether
// its response was cut or refused.
func (g *Gateway) countInvalid(source string, cut bool) {
	answer := "refused"
	if cut {
		answer = "cut"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, current := lookup(g.modules(), source); current && g.opts.Metrics != nil {
		g.opts.Metrics.invalid.WithLabelValues(source, answer).Inc()
	}
}

// A verifier is the body's reader for a verified /proxy: before every read
// it scans what buf holds so far and, once the body has passed
// streamVerifiedFrom, sends the client what scanned clean. Not streaming, it
// reads on past a problem, so that a body also too large is refused as
// that, as when the whole body is checked after.
type verifier struct {
	r         io.Reader
	buf       *bytes.Buffer // what ReadFrom has read so far
	rc        *exposition.Receiver
	w         http.ResponseWriter
	ct        string
	stream    bool  // send the body as it is checked
	streaming bool  // the header is sent: the body goes out as it is checked
	sent      int   // of buf, written to the client
	err       error // the body's first problem
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.rc != nil && v.err == nil {
		body := v.buf.Bytes()
		v.rc.Feed(body)
		clean, err := v.rc.Checked()
		if err != nil {
			v.err = err
			if v.streaming {
				return 0, io.EOF // cut at once
			}
			return v.r.Read(p)
		}
		if v.stream && !v.streaming && clean > 0 {
			h := v.w.Header()
			h.Set("Content-Type", v.ct)
			v.w.WriteHeader(http.StatusOK)
			v.streaming = true
		}
		if v.streaming && clean > v.sent {
			if _, err := v.w.Write(body[v.sent:clean]); err != nil {
				return 0, errClientWrite
			}
			v.sent = clean
		}
	}
	return v.r.Read(p)
}
