package exposition

import (
	"bytes"
	"math"
)

// A Receiver scans a text or OpenMetrics body while it is being received,
// so that the scan overlaps the upstream's transfer and Validate or Merge
// need not read the body again. Feed it the body so far after every read,
// then Finish it with the whole body. Its result is Validate's.
type Receiver struct {
	sc   *scanner
	own  *Scanner // the scanner's owner, or nil: from the package's pool
	pos  int      // the body is scanned up to here: the start of a line
	err  error    // the scan's first problem
	done bool
}

// Receive starts scanning a body in the format contentType names. For a
// merge, in is the source's Input (its name and labels) and label the merge
// label, which must be those Merge is given; for plain validation in is nil.
// Formats that are not scanned as text (protobuf) give nil, which every
// method accepts as "not scanned".
func Receive(contentType, label string, in *Input) *Receiver {
	return startReceive(nil, contentType, label, in)
}

// A Scanner is the state a scan keeps between bodies (its tables of
// samples and families, which grow to the size of the bodies it scans), for
// a caller that scans the same source again and again: the package's pool
// loses that state at garbage collections, and a big source then grows and
// clears megabytes of tables again. A Scanner also keeps a copy of the last
// body it found valid (its memo), against which the source's next body,
// the same series with new values, is checked line by line rather than
// parsed (see memo): this costs one copy of the body's size per Scanner. A
// Scanner serves one Receiver at a time; tables much larger than its last
// body needed are let go.
type Scanner struct{ sc *scanner }

// NewScanner is an empty Scanner.
func NewScanner() *Scanner {
	s := newScanner()
	s.memo.on, s.noting = true, true
	return &Scanner{sc: s}
}

// Receive is the package's Receive with sc's tables. sc is taken until the
// Receiver is released (or, if it never is, for good).
func (sc *Scanner) Receive(contentType, label string, in *Input) *Receiver {
	return startReceive(sc, contentType, label, in)
}

func startReceive(own *Scanner, contentType, label string, in *Input) *Receiver {
	f := FormatOf(contentType)
	if f != Text && f != OpenMetrics {
		return nil
	}
	r := &Receiver{own: own}
	if own != nil {
		r.sc = own.sc
	} else {
		r.sc = scanners.Get().(*scanner)
	}
	var reserved [][]byte
	if in != nil {
		if label == "" {
			label = "exporter" // as Merge defaults it
		}
		_, reserved = injection(nil, nil, label, in)
		r.sc.hashing = true
	}
	r.sc.reset(nil, f == OpenMetrics, reserved)
	return r
}

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
	if r.own == nil {
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
