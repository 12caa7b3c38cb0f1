// Package tail keeps the recent output of a process: its last lines,
// bounded in count and in bytes, numbered so a reader can follow them.
package tail

import (
	"sync"
	"time"
)

// Line is one line of a process's output.
type Line struct {
	Seq    uint64    `json:"seq"` // 1 for the first line ever added, then one more per line
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"` // "stdout" or "stderr"
	Text   string    `json:"text"`
}

// Buffer holds the last lines added to it: at most maxLines, and at most
// maxBytes of text (a longer line is cut to maxBytes). The zero Buffer is
// not usable; make one with New.
type Buffer struct {
	maxLines, maxBytes int

	mu      sync.Mutex
	ring    []Line // ring[(first+i)%len(ring)] is the i-th line held
	first   int
	n       int // lines held
	bytes   int // text bytes held
	seq     uint64
	changed chan struct{} // closed when a line is added, then replaced
}

// New makes a buffer of at most maxLines lines and maxBytes bytes of text.
func New(maxLines, maxBytes int) *Buffer {
	return &Buffer{
		maxLines: max(maxLines, 1), maxBytes: max(maxBytes, 1),
		ring:    make([]Line, max(maxLines, 1)),
		changed: make(chan struct{}),
	}
}

// Add appends one line (without its newline), dropping the oldest lines
// past either bound.
func (b *Buffer) Add(stream string, text []byte, now time.Time) {
	if len(text) > b.maxBytes {
		text = text[:b.maxBytes]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.n > 0 && (b.n == b.maxLines || b.bytes+len(text) > b.maxBytes) {
		b.bytes -= len(b.ring[b.first].Text)
		b.ring[b.first] = Line{}
		b.first = (b.first + 1) % len(b.ring)
		b.n--
	}
	b.seq++
	b.ring[(b.first+b.n)%len(b.ring)] = Line{Seq: b.seq, Time: now, Stream: stream, Text: string(text)}
	b.n++
	b.bytes += len(text)
	close(b.changed)
	b.changed = make(chan struct{})
}

// Since returns the lines held whose Seq is above after, oldest first, and
// a channel closed when the next line is added: a follower waits on it and
// asks again with the last Seq it saw.
func (b *Buffer) Since(after uint64) ([]Line, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Line
	for i := range b.n {
		if l := b.ring[(b.first+i)%len(b.ring)]; l.Seq > after {
			out = append(out, l)
		}
	}
	return out, b.changed
}
