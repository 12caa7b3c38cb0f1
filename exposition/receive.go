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
	defer caught(&r.err)
	hook(body)
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
		r.finish(body)
		r.pos = len(body)
	}
	return r.err
}

// finish is Finish's scan of the rest of body.
func (r *Receiver) finish(body []byte) {
	defer caught(&r.err)
	hook(body)
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
}

// Scanned tells whether r has scanned a whole body, whose result Finish
// gives.
func (r *Receiver) Scanned() bool { return r != nil && r.done }

// Release hands r's buffers back for the next scrape; r is not used after.
func (r *Receiver) Release() {
	if r == nil || r.sc == nil {
		return
	}
	if _, broken := r.err.(*errDefect); broken {
		// A panic left the scanner in a state no one knows: let it go.
		if r.own != nil {
			r.own.leave(&r.sc.memo)
		}
		r.sc = nil
		return
	}
	if r.own != nil {
		r.sc.trim()
	}
	r.sc.reset(nil, false, nil)
	r.sc.hashing = false
	if r.own != nil {
		r.own.leave(&r.sc.memo) // an idle scanner holds no memo (reset may have taken one)
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
	if t := s.half; t != nil && (cap(t.samples) > cap(s.samples) || cap(t.fams) > cap(s.fams)) {
		s.half = nil
	}
}
