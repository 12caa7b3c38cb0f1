package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// errCut is the write error of a scrape cut for not reading.
var errCut = errors.New("scrape cut: the client stopped reading and its slot was needed")

// writeChunk is the most written to a client in one call, so a stall is
// seen within one chunk.
const writeChunk = 64 << 10

// writeGrace is what a scrape without a timeout header gets, past the
// gateway's scrape deadline, to write its answer.
const writeGrace = time.Second

// scrapeWriter is a scrape's ResponseWriter: its writes go out in chunks,
// each marked on the ticket so that a client that stops reading is seen,
// and its write deadline is the scrape's.
type scrapeWriter struct {
	http.ResponseWriter
	t        *ticket
	deadline time.Time
	extend   bool // push the deadline to writeGrace from the first write, if sooner
	wrote    bool
}

func (w *scrapeWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.wrote = true
		if d := time.Now().Add(writeGrace); w.extend && d.After(w.deadline) {
			w.deadline = d
			w.t.rc.SetWriteDeadline(d)
		}
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), writeChunk)
		if !w.t.writeStart() {
			return n, errCut
		}
		m, err := w.ResponseWriter.Write(p[:k])
		w.t.writeEnd()
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// FlushError flushes to the client, marked as a write.
func (w *scrapeWriter) FlushError() error {
	if !w.t.writeStart() {
		return errCut
	}
	defer w.t.writeEnd()
	return w.t.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *scrapeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeDeadline is when a scrape of r must have written its answer: the
// client's own timeout (X-Prometheus-Scrape-Timeout-Seconds) from now, at
// most longest (the longest a scrape works: scrape_timeout, every source's
// timeout) and writeGrace, so a client that stops reading cannot hold its
// connection and its memory for the days the header may name; or without
// one the gateway's scrape timeout and writeGrace, which extend tells to
// push to writeGrace past the first write (a source with a longer timeout
// of its own).
func writeDeadline(r *http.Request, timeout, longest time.Duration) (deadline time.Time, extend bool) {
	now := time.Now()
	if secs, err := strconv.ParseFloat(r.Header.Get(TimeoutHeader), 64); err == nil && secs > 0 && secs <= 1e6 {
		return now.Add(min(time.Duration(secs*float64(time.Second)), longest+writeGrace)), false
	}
	return now.Add(timeout + writeGrace), true
}
