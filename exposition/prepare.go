package exposition

import (
	"bytes"
	"fmt"
	"sort"
	"sync"

	dto "github.com/prometheus/client_model/go"
)

// origin is one input during a merge: where its series come from.
type origin struct {
	in        *Input
	idx       int
	sc        *scanner // own, or the Input's Receiver's while a merge uses it
	own       *scanner
	conv      bytes.Buffer      // a protobuf body written as text
	injected  []byte            // label="value",... added to every series
	closing   []byte            // what follows a sample's own labels: ",<injected>} " or "} "
	reserved  [][]byte          // label names that are renamed exported_*
	proto     []keptFamily      // a protobuf body's messages, for the decoded encoder
	decoded   *dto.MetricFamily // proto[decodedAt], decoded
	decodedAt int32
	starts    []wireTime // fromText's, of one family
	gauges    []string   // a protobuf body's gauge histograms
	err       error
	samples   int
	dups      int
	dropped   int  // samples of a shape their family's type cannot carry
	planned   int  // families with samples in the merge
	distinct  bool // its scanner's memo had no duplicate series in this output format
}

// prepare scans every input, protobuf written as text first; keep keeps
// protobuf messages too, for the decoded encoder. Inputs are scanned in
// parallel when there is more than one worth it.
func (m *merger) prepare(inputs []Input, keep bool) {
	for len(m.srcs) < len(inputs) {
		sc := newScanner()
		m.srcs = append(m.srcs, &origin{sc: sc, own: sc})
	}
	m.srcs = m.srcs[:len(inputs)]
	big := 0
	for i := range inputs {
		s := m.srcs[i]
		in := &inputs[i]
		s.in, s.idx, s.err, s.samples, s.dups, s.dropped, s.planned = in, i, in.Err, 0, 0, 0, 0
		if r := in.Received; r.forMerge() {
			// The labels the scan was made for: one computation for both.
			s.injected, s.reserved = append(s.injected[:0], r.injected...), append(s.reserved[:0], r.reserved...)
		} else {
			s.injected, s.reserved = injection(s.injected[:0], s.reserved[:0], m.opts.Label, in)
		}
		s.closing = append(s.closing[:0], ',')
		if len(s.injected) == 0 {
			s.closing = s.closing[:0]
		}
		s.closing = append(append(s.closing, s.injected...), "} "...)
		if s.err == nil && len(in.Body) >= parallelScan {
			big++
		}
	}
	if big > 1 {
		var wg sync.WaitGroup
		for _, s := range m.srcs {
			if s.err == nil && len(s.in.Body) >= parallelScan {
				wg.Go(func() { s.scan(keep) })
			}
		}
		for _, s := range m.srcs {
			// The size first: a big source's err is its goroutine's.
			if len(s.in.Body) < parallelScan && s.err == nil {
				s.scan(keep)
			}
		}
		wg.Wait()
	} else {
		for _, s := range m.srcs {
			if s.err == nil {
				s.scan(keep)
			}
		}
	}
	sort.Slice(m.srcs, func(a, b int) bool { return m.srcs[a].in.Name < m.srcs[b].in.Name })
}

// parallelScan is the body size from which a source is scanned in a
// goroutine of its own.
const parallelScan = 32 << 10

// scan reads the source's body, setting s.err when it is invalid (or its
// reading panicked: then the source's scanner, in whatever state the panic
// left it, is replaced).
func (s *origin) scan(keep bool) {
	defer func() {
		if _, broken := s.err.(*errDefect); broken {
			s.own = newScanner()
			s.sc = s.own
		}
	}()
	defer caught(&s.err) // first: recover works in a deferred call only
	hook(s.in.Body)
	in := s.in
	s.sc.hashing = true
	body, om := in.Body, false
	if r := in.Received; r.forMerge() && r.Scanned() {
		// Scanned while received, with this source's labels: the scan is
		// of the very bytes it holds, which the merge writes from.
		s.sc = r.sc
		if r.err != nil {
			s.err = fmt.Errorf("invalid exposition: %w", r.err)
		}
		return
	}
	switch FormatOf(in.ContentType) {
	case Text:
	case OpenMetrics:
		om = true
	case Protobuf:
		var err error
		if s.proto, s.gauges, err = protoToText(&s.conv, in.Body, keep, s.gauges[:0]); err != nil {
			s.err = fmt.Errorf("invalid exposition: %w", err)
			return
		}
		if err := s.sc.scanConverted(s.conv.Bytes(), s.reserved); err != nil {
			s.err = fmt.Errorf("invalid exposition: %w", err)
			return
		}
		for _, name := range s.gauges {
			// A protobuf gauge histogram, written as a histogram (_count,
			// _sum: the names Prometheus reads from protobuf).
			if fi, ok := s.sc.byName[name]; ok && s.sc.fams[fi].typ == Histogram {
				s.sc.fams[fi].typ = GaugeHistogram
			}
		}
		return
	default:
		s.err = fmt.Errorf("invalid exposition: unsupported content type %q", in.ContentType)
		return
	}
	if err := s.sc.scan(body, om, s.reserved); err != nil {
		s.err = fmt.Errorf("invalid exposition: %w", err)
	}
}

// injection formats the labels added to a source's series and lists the
// names a series must not keep.
func injection(dst []byte, reserved [][]byte, label string, in *Input) ([]byte, [][]byte) {
	if label == "" {
		return dst, reserved // no merge label: the source as it is
	}
	dst = appendLabel(dst, label, in.Name)
	reserved = append(reserved, []byte(label))
	keys := make([]string, 0, len(in.Labels))
	for k := range in.Labels {
		if k != label {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		dst = append(dst, ',')
		dst = appendLabel(dst, k, in.Labels[k])
		reserved = append(reserved, []byte(k))
	}
	return dst, reserved
}

func appendLabel(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, '=', '"')
	dst = appendEscaped(dst, value)
	return append(dst, '"')
}

// appendEscaped escapes a label value (or a quoted name) for the text
// format.
func appendEscaped[S string | []byte](dst []byte, v S) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '"':
			dst = append(dst, '\\', '"')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
