package gateway

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/corral-metrics/corral/exposition"
	"github.com/corral-metrics/corral/source"
)

// TimeoutHeader is the header in which Prometheus sends its scrape timeout.
const TimeoutHeader = source.TimeoutHeader

// maxTimeoutOffset is the most a scrape deadline is shortened below the
// client's own timeout, to leave time to answer.
const maxTimeoutOffset = 500 * time.Millisecond

// Deadline is how long the sources behind request r may take: the smaller of
// timeout and the client's X-Prometheus-Scrape-Timeout-Seconds minus an
// offset. The offset is 0.5 s, or 10% of the header's value when that is
// smaller (a 1 s scrape timeout leaves 0.9 s, a 10 s one 9.5 s). A missing,
// unparsable or non-positive header is ignored. timeout <= 0 means no bound of
// its own: the result is then the header's bound, or 0 (no deadline) without
// a header.
func Deadline(r *http.Request, timeout time.Duration) time.Duration {
	v := r.Header.Get(TimeoutHeader)
	if v == "" {
		return max(timeout, 0)
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || !(secs > 0) || secs > 1e6 {
		return max(timeout, 0)
	}
	client := time.Duration(secs * float64(time.Second))
	client -= min(maxTimeoutOffset, client/10)
	if timeout > 0 && timeout < client {
		return timeout
	}
	return client
}

// scrapeState is the last scrape of a source, for the landing page.
type scrapeState struct {
	At       time.Time
	Duration time.Duration
	Bytes    int64
	Err      string
	// size is the size of the source's bodies for the next scrape to
	// make room for: the largest of the last ones, forgotten slowly (by
	// 1/32 a scrape), so that a source asked for formats of different
	// sizes (text, OpenMetrics, protobuf) gets room for the largest.
	size int64
}

// record accounts one scrape of a source: corral's own metrics and the
// landing page's last-scrape state.
func (g *Gateway) record(name string, start time.Time, n int64, err error) {
	d := time.Since(start)
	st := scrapeState{At: start, Duration: d, Bytes: n}
	if err != nil {
		st.Err = err.Error()
		g.logger.Debug("scrape failed", "source", name, "reason", source.ReasonOf(err), "err", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, current := lookup(g.modules(), name); !current {
		return // a reload removed it while in flight: bring nothing of it back
	}
	g.opts.Metrics.observe(name, d, n, err)
	prev := g.last[name].size
	st.size = max(n, prev-prev/32)
	g.last[name] = st
}

// FileMtime records the modification time of the [file] source called name
// (corral_file_mtime_seconds), unless a reload removed the source while its
// scrape was in flight: as record, it brings nothing of it back.
func (g *Gateway) FileMtime(name string, t time.Time) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, current := lookup(g.modules(), name); !current {
		return
	}
	g.opts.Metrics.FileMtime(name, t)
}

// fetch scrapes module m for a merge and reads its whole body into buf, at
// most MaxBodyBytes of it (past that: a source.Error with reason invalid),
// holding openerShare times what it has read against t, the fetch's ticket
// (past the budget: a source.Error with reason busy, see ticket.hold). A
// body the source left compressed is decompressed. The scrape is recorded
// in corral's metrics and the landing page whatever its outcome. ctx
// carries the deadline (see Deadline); the source applies its own timeout
// within it.
//
// When receive is not nil, it is asked for a Receiver for the body's
// Content-Type, which then scans the body while it is read: the caller
// finishes and releases it.
func (g *Gateway) fetch(ctx context.Context, t *ticket, m Module, req source.Request, buf *bytes.Buffer, receive func(contentType string) *exposition.Receiver) (contentType string, rc *exposition.Receiver, err error) {
	start := time.Now()
	n := int64(0)
	defer func() {
		if err != nil && clientGone(ctx) {
			// Not the source's fault: neither its metrics nor its state
			// on the landing page hear of it.
			g.logger.Debug("scrape abandoned: the client went away", "source", m.Name, "err", err)
			return
		}
		g.record(m.Name, start, n, err)
	}()

	resp, err := m.Source.Scrape(ctx, req)
	if err != nil {
		return "", rc, classify(ctx, err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	switch resp.ContentEncoding {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return "", rc, source.Fail(source.ReasonInvalid, fmt.Errorf("reading gzip body: %w", classify(ctx, err)))
		}
		body = zr
	default:
		return "", rc, source.Fail(source.ReasonInvalid, fmt.Errorf("unsupported Content-Encoding %q", resp.ContentEncoding))
	}
	ct := contentTypeOr(resp.ContentType)
	limit := g.opts.MaxBodyBytes
	g.sizeBuffer(m.Name, buf)
	if receive != nil {
		if rc = receive(ct); rc != nil {
			// The scan runs beside the reads, which go on at the
			// network's pace; it is done when fetch returns.
			f := &feeder{r: body, buf: buf, bodies: make(chan []byte, 64)}
			var wg sync.WaitGroup
			wg.Go(func() {
				for b := range f.bodies {
					rc.Feed(b)
				}
			})
			defer func() {
				close(f.bodies)
				wg.Wait()
			}()
			body = f
		}
	}
	held := &budgeted{r: body, buf: buf, t: t, bodyHalves: 2 * openerShare}
	n, err = buf.ReadFrom(io.LimitReader(held, limit+1))
	if err == nil && n <= limit {
		err = held.done()
	}
	if err != nil {
		return "", rc, fmt.Errorf("reading body: %w", classify(ctx, err))
	}
	if n > limit {
		buf.Truncate(int(limit))
		n = limit
		return "", rc, tooLarge(limit)
	}
	return ct, rc, nil
}

// feeder hands the body read so far to a Receiver's goroutine before every
// read that follows at least feedSize more bytes, so that the scan of what
// has arrived overlaps the transfer of the rest. The bytes handed over are
// never written again: reads append after them, and a buffer that grows
// leaves them where they are.
type feeder struct {
	r      io.Reader
	buf    *bytes.Buffer // what ReadFrom has read so far
	sent   int
	bodies chan []byte
}

// feedSize is how much more of the body a feeder waits for before it hands
// it on.
const feedSize = 64 << 10

func (f *feeder) Read(p []byte) (int, error) {
	if n := f.buf.Len(); n-f.sent >= feedSize {
		select {
		case f.bodies <- f.buf.Bytes():
			f.sent = n
		default: // the scan is behind: the next hand-off carries more
		}
	}
	return f.r.Read(p)
}

func tooLarge(limit int64) error {
	return source.Fail(source.ReasonInvalid, fmt.Errorf("body larger than max_body_bytes (%s)", formatSize(limit)))
}

func formatSize(n int64) string {
	b, _ := ByteSize(n).MarshalText()
	return string(b)
}

// classify turns an error met while ctx was the scrape's context into a
// source.Error: a passed deadline is a timeout even when the error met on the
// way (a closed connection) does not say so.
func classify(ctx context.Context, err error) error {
	var se *source.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return source.Fail(source.ReasonTimeout, fmt.Errorf("deadline exceeded: %w", err))
	}
	return source.Fail(source.ReasonRefused, err)
}

// clientGone tells whether ctx, a scrape's context, ended because the
// client's request did (it went away), not because a deadline passed.
func clientGone(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// textContentType is the Prometheus text format 0.0.4.
const textContentType = source.ContentTypeText

// contentTypeOr is ct, or the text format when a source gave none or one
// that names no exposition format (application/octet-stream, text/html):
// the body is then read as text, as Prometheus reads it with
// fallback_scrape_protocol = PrometheusText0.0.4 and exporter_exporter does.
func contentTypeOr(ct string) string {
	if exposition.FormatOf(ct) == exposition.Unknown {
		return textContentType
	}
	return cmp.Or(ct, textContentType)
}

// bodyBuffers recycles the buffers scrapes read bodies into. A source's
// buffer goes back to that source, so that a big source gets its big buffer
// back whatever the garbage collector did meanwhile, rather than a small one
// to grow again (a copy per doubling, and zeroing); buffers of small bodies
// beyond that are shared. Memory stays bounded: at most spareBuffers per
// source, none larger than maxSpareBuffer, and a buffer much larger than the
// body it last held (a source that shrank) is let go.
type bodyBuffers struct {
	mu      sync.Mutex
	spare   map[string][]*bytes.Buffer    // by source name
	shared  sync.Pool                     // *bytes.Buffer of at most maxSharedBuffer
	sources map[string]*exposition.Source // by source name: see scanState
}

const (
	spareBuffers    = 2        // kept per source: two scrapes of it at once reuse theirs
	maxSpareBuffer  = 64 << 20 // larger buffers are never kept
	maxSharedBuffer = 1 << 20  // larger buffers are kept only for their source
)

// getBuffer is an empty buffer for a body of source, preferably the one
// that held its last body.
func (g *Gateway) getBuffer(name string) *bytes.Buffer {
	p := &g.bufs
	p.mu.Lock()
	if list := p.spare[name]; len(list) > 0 {
		b := list[len(list)-1]
		list[len(list)-1] = nil
		p.spare[name] = list[:len(list)-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	if b, ok := p.shared.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// putBuffer takes back a buffer from getBuffer(source), still holding the
// body it was used for.
func (g *Gateway) putBuffer(name string, b *bytes.Buffer) {
	n, c := b.Len(), b.Cap()
	b.Reset()
	if c > maxSpareBuffer {
		return
	}
	p := &g.bufs
	// Room for what the name sends, with some to spare (sizeBuffer's);
	// more means the name shrank, or the buffer grew by doubling, and it
	// is not worth keeping for it.
	if c <= 2*n+256<<10 {
		p.mu.Lock()
		if p.spare == nil {
			p.spare = make(map[string][]*bytes.Buffer)
		}
		if list := p.spare[name]; len(list) < spareBuffers {
			p.spare[name] = append(list, b)
			p.sweep(len(list) == 0, g.modules())
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	if c <= maxSharedBuffer {
		p.shared.Put(b)
	}
}

// sweep drops the buffers and scan states of sources that left the module
// set, when a new source was just added and there are more than the
// modules. p.mu is held.
func (p *bodyBuffers) sweep(added bool, mods []Module) {
	if !added || len(p.spare) <= len(mods) && len(p.sources) <= len(mods) {
		return
	}
	for name := range p.spare {
		if _, found := lookup(mods, name); !found {
			delete(p.spare, name)
		}
	}
	for name := range p.sources {
		source, _, _ := strings.Cut(name, proxyScan) // a verified /proxy's state is its source's
		if _, found := lookup(mods, source); !found {
			delete(p.sources, name)
		}
	}
}

// scanState is the exposition.Source of source, made on first use: it
// keeps the source's scan tables and memo across merged scrapes, which the
// exposition package's own pool would lose at garbage collections (a big
// source's tables grown again after each).
func (g *Gateway) scanState(source string) *exposition.Source {
	p := &g.bufs
	p.mu.Lock()
	defer p.mu.Unlock()
	if src, ok := p.sources[source]; ok {
		return src
	}
	if p.sources == nil {
		p.sources = make(map[string]*exposition.Source)
	}
	src := exposition.NewSource()
	p.sources[source] = src
	p.sweep(true, g.modules())
	return src
}
