package exposition

import (
	"bytes"
	"math"
	"slices"
	"sync"
	"unsafe"
)

// A Source is the scan state one source keeps between its bodies, for a
// caller that scrapes the same source again and again (the merged
// /metrics): the scanners' tables of samples and families, which grow to
// the size of the source's bodies, and each scanner's memo, a copy of the
// last body it found valid, against which the source's next body (the same
// series with new values) is checked line by line rather than parsed (see
// memo). This costs one copy of the body's size per scanner. The caller
// makes one Source per source and only feeds it bodies through Receive; a
// Source keeps at most two scanners (two scrapes of the source at once),
// lets go of tables much larger than its last body needed, and of more
// when trimmed (see Trim).
type Source struct {
	mu   sync.Mutex
	idle []*scanner
}

// NewSource is a Source with nothing scanned yet.
func NewSource() *Source { return &Source{} }

// sourceScanners is how many idle scanners a Source keeps.
const sourceScanners = 2

// newSourceScanner is a scanner that keeps a memo.
func newSourceScanner() *scanner {
	s := newScanner()
	s.memo.on, s.noting = true, true
	return s
}

// take is an idle scanner of src, or a new one.
func (src *Source) take() *scanner {
	src.mu.Lock()
	defer src.mu.Unlock()
	if n := len(src.idle); n > 0 {
		s := src.idle[n-1]
		src.idle[n-1] = nil
		src.idle = src.idle[:n-1]
		return s
	}
	return newSourceScanner()
}

// give takes back a scanner from take, reset.
func (src *Source) give(s *scanner) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.idle) < sourceScanners {
		src.idle = append(src.idle, s)
	}
}

// Trim lets go of what src keeps between scrapes beyond one scanner: every
// idle scanner but one (the last given back that holds a memo). With
// tables, that one's working tables go too, leaving only its memo: the
// source's next body is still checked against its last rather than
// parsed, and the tables grow again as it is scanned. Scanners in use are
// left alone.
func (src *Source) Trim(tables bool) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.idle) == 0 {
		return
	}
	keep := len(src.idle) - 1
	for i := keep; i >= 0; i-- {
		if len(src.idle[i].memo.body) > 0 {
			keep = i
			break
		}
	}
	s := src.idle[keep]
	clear(src.idle)
	src.idle = append(src.idle[:0], s)
	if tables {
		s.shed()
	}
}

// MemoBytes is what a Source keeps of body, a valid text body it scanned,
// once trimmed with its tables (see Trim): a copy of the body, 48 bytes
// for each sample line and 40 for each HELP or TYPE line; about 1.6 times
// the body for a typical exporter's lines of ~85 bytes.
func MemoBytes(body []byte) int {
	n := len(body)
	for line := range bytes.Lines(body) {
		switch {
		case bytes.HasPrefix(line, []byte("# HELP ")) || bytes.HasPrefix(line, []byte("# TYPE ")):
			n += int(unsafe.Sizeof(note{}))
		case line[0] != '#' && line[0] != '\n':
			n += int(unsafe.Sizeof(sample{}))
		}
	}
	return n
}

// shed lets go of an idle scanner's working tables, keeping its memo
// (exactly as large as what it holds) and its settings.
func (s *scanner) shed() {
	s.fams, s.samples, s.notes, s.labels, s.canon, s.half = nil, nil, nil, nil, nil, nil
	s.byName = map[string]int32{}
	m := &s.memo
	if cap(m.body) > len(m.body)+len(m.body)/8+64<<10 {
		m.body = bytes.Clone(m.body)
	}
	if cap(m.samples) > len(m.samples)+len(m.samples)/8+1024 {
		m.samples = slices.Clone(m.samples)
	}
}

// A Receiver scans a text or OpenMetrics body while it is being received,
// so that the scan overlaps the upstream's transfer and Validate or Merge
// need not read the body again. Feed it the body so far after every read,
// then Finish it with the whole body. Its result is Validate's.
type Receiver struct {
	sc       *scanner
	own      *Source // the scanner's owner, or nil: from the package's pool
	merge    bool    // made for a merge: hashed, with the labels below
	injected []byte  // the labels the merge adds to the source's series
	reserved [][]byte
	pos      int   // the body is scanned up to here: the start of a line
	err      error // the scan's first problem
	done     bool
}

// Receive starts scanning a body in the format contentType names. For
// validation only, in is nil (and label unused); for a merge, in is the
// source's Input and label the merge label, as for Source.Receive, but
// without a memo. Formats that are not scanned as text (protobuf) give
// nil, which every method accepts as "not scanned".
func Receive(contentType, label string, in *Input) *Receiver {
	return startReceive(nil, contentType, label, in)
}

// Receive starts scanning a body of src for a merge: in is the source's
// Input (its name and labels) and label the merge label, which the merge
// then uses for this source's series. The Receiver is set as the Input's
// Received once finished, and released after the merge. Formats that are
// not scanned as text (protobuf) give nil.
func (src *Source) Receive(contentType, label string, in *Input) *Receiver {
	return startReceive(src, contentType, label, in)
}

func startReceive(own *Source, contentType, label string, in *Input) *Receiver {
	f := FormatOf(contentType)
	if f != Text && f != OpenMetrics {
		return nil
	}
	r := &Receiver{own: own}
	if own != nil {
		r.sc = own.take()
	} else {
		r.sc = scanners.Get().(*scanner)
	}
	if in != nil {
		if label == "" {
			label = "exporter" // as Merge defaults it
		}
		r.merge = true
		r.injected, r.reserved = injection(nil, nil, label, in)
		r.sc.hashing = true
	}
	r.sc.reset(nil, f == OpenMetrics, r.reserved)
	return r
}

// forMerge tells whether r was made for a merge.
func (r *Receiver) forMerge() bool { return r != nil && r.merge }

// feedMin is how much a Feed waits for before scanning: fewer, longer runs.
const feedMin = 32 << 10

// Feed scans the complete lines of body that earlier calls did not. body is
// everything received so far: the earlier bytes unchanged, wherever the
// buffer now lives.
func (r *Receiver) Feed(body []byte) {
	if r == nil || r.err != nil || len(body)-r.pos < feedMin || len(body) >= math.MaxInt32 {
		return
	}
	last := bytes.LastIndexByte(body[r.pos:], '\n')
	if last < 0 {
		return
	}
	end := r.pos + last + 1
	r.err = r.sc.lines(body, r.pos, end)
	r.pos = end
}

// Checked is how far the body fed so far has scanned clean: the start of
// the first line not yet scanned. err is the scan's first problem; the
// bytes before n are then no longer known to be valid. Lines scanned clean
// may still turn out invalid with what follows (a duplicate series, a
// histogram's buckets): only Finish tells of the whole body.
func (r *Receiver) Checked() (n int, err error) {
	if r == nil {
		return 0, nil
	}
	return r.pos, r.err
}

// Finish scans the rest of body, which is the whole body, and reports the
// first problem of all of it.
func (r *Receiver) Finish(body []byte) error {
	if r == nil {
		return nil
	}
	if !r.done {
		r.done = true
		switch {
		case r.err != nil:
		case len(body) >= math.MaxInt32:
			r.err = &ParseError{Msg: "body larger than 2 GiB"}
		default:
			if r.err = r.sc.linesSplit(body, r.pos); r.err == nil {
				if r.err = r.sc.end(); r.err == nil {
					r.sc.remember(body)
				}
			}
		}
		r.pos = len(body)
	}
	return r.err
}

// Scanned tells whether r has scanned a whole body, whose result Finish
// gives.
func (r *Receiver) Scanned() bool { return r != nil && r.done }

// Release hands r's buffers back for the next scrape; r is not used after.
func (r *Receiver) Release() {
	if r == nil || r.sc == nil {
		return
	}
	if r.own != nil {
		r.sc.trim()
	}
	r.sc.reset(nil, false, nil)
	r.sc.hashing = false
	if r.own != nil {
		r.own.give(r.sc)
	} else {
		scanners.Put(r.sc)
	}
	r.sc = nil
}

// trim lets go of tables much larger than the body just scanned needed
// (a source that shrank), before the scanner is reset for the next.
func (s *scanner) trim() {
	if cap(s.samples) > 2*len(s.samples)+4096 {
		s.samples = nil
	}
	if cap(s.fams) > 2*len(s.fams)+1024 {
		s.fams = nil
		s.byName = map[string]int32{} // a cleared map keeps its buckets
	}
	s.memo.trim()
	if t := s.half; t != nil && (cap(t.samples) > cap(s.samples) || cap(t.fams) > cap(s.fams)) {
		s.half = nil
	}
}
