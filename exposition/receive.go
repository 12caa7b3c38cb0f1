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
	pos  int   // the body is scanned up to here: the start of a line
	err  error // the scan's first problem
	done bool
}

// Receive starts scanning a body in the format contentType names. For a
// merge, in is the source's Input (its name and labels) and label the merge
// label, which must be those Merge is given; for plain validation in is nil.
// Formats that are not scanned as text (protobuf) give nil, which every
// method accepts as "not scanned".
func Receive(contentType, label string, in *Input) *Receiver {
	f := FormatOf(contentType)
	if f != Text && f != OpenMetrics {
		return nil
	}
	r := &Receiver{sc: scanners.Get().(*scanner)}
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
				r.err = r.sc.end()
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
	r.sc.reset(nil, false, nil)
	r.sc.hashing = false
	scanners.Put(r.sc)
	r.sc = nil
}
