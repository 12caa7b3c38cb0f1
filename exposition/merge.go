package exposition

import (
	"bytes"
	"io"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Input is one source's scrape as the merge receives it.
type Input struct {
	Name        string            // the source: the merge label's value
	Labels      map[string]string // the source's static labels
	ContentType string            // of Body
	Body        []byte
	Err         error         // the scrape failed: the source contributes nothing
	Duration    time.Duration // how long the scrape took
	// Received, when it has scanned all of Body for a merge (see
	// Source.Receive), is Body's scan: the merge takes it as it is, the
	// labels it was made with and the bytes it scanned, instead of
	// scanning Body again.
	Received *Receiver
}

// Options shape a merge.
type Options struct {
	// Label names the source of every merged series ("exporter").
	Label string
	// Format is the negotiated output format, with its escaping= term.
	Format expfmt.Format
}

// Report tells what a merge did.
type Report struct {
	Sources   []SourceReport // one per input, in input order
	Conflicts []Conflict     // families left out for a source
}

// SourceReport is one source's part in a merge.
type SourceReport struct {
	Name       string
	Up         bool  // scraped and valid
	Err        error // why not: the scrape's error or the parse error
	Samples    int   // samples written for it
	Duplicates int   // samples left out because their series was already written
	// Misshapen counts samples left out of OpenMetrics or protobuf output
	// because their family's type cannot carry them there, though
	// Prometheus' text parser accepts them as series (and text output
	// keeps them): a plain sample of a histogram, a bucket without le, a
	// summary's sample without quantile.
	Misshapen int
}

// Conflict is a family left out of the merge for one source.
type Conflict struct {
	Source, Family, Reason string
}

// merger is the state of one merge, kept in a pool so that its slices,
// maps and scanners serve the next scrape.
type merger struct {
	opts    Options
	scheme  model.EscapingScheme
	srcs    []*origin
	fams    []mfam
	byName  map[string]int32
	seen    dedup
	counted []int // samples the plan counted of each part of a family
	synth   origin
	synthB  bytes.Buffer
	decoded bool // the output is OpenMetrics or protobuf, encoded by expfmt
	w       io.Writer
	out     []byte // written to w whenever it passes flushSize
	werr    error
	num     []byte
	pairs   []labelPair
	pairs2  []labelPair
	report  Report
	famName []byte
	names   [2][]byte // sample names, for sameSeries
	ks      []int32   // samples, for dedupAcross

	// The decoded encoder's: a family's messages (decode.go), their
	// shared strings, the series of a part by signature, scratch bytes,
	// and the encoded family.
	slabs     slabs
	metrics   []*dto.Metric
	strings   map[string]string
	series    map[string]*dto.Metric
	sorted    []*dto.LabelPair
	key       []byte
	unescaped []byte
	encoded   bytes.Buffer

	// ghClassic writes a gauge histogram as a histogram (TYPE, _count,
	// _sum) for expfmt's text parser, while decodeFamily reads one.
	ghClassic bool
}

func newMerger() *merger {
	return &merger{
		byName: map[string]int32{},
		out:    make([]byte, 0, flushSize+64<<10),
		synth:  origin{sc: newScanner()},
	}
}

var mergers = sync.Pool{New: func() any { return newMerger() }}

// Merge writes inputs as one exposition in opts.Format: every series labelled
// with its source, families of the same name joined under one HELP and TYPE,
// families sorted by name and series by source then as received. A source
// whose body is invalid anywhere contributes nothing, so the output is always
// valid. The returned error is the writer's, or a defect of corral's that
// cut the answer (IsDefect).
func Merge(w io.Writer, opts Options, inputs []Input) (rep Report, err error) {
	m := mergers.Get().(*merger)
	defer func() {
		if _, broken := err.(*errDefect); !broken {
			mergers.Put(m) // a merger a panic left is let go
		}
	}()
	defer caught(&err) // a panic past the sources' scans: the answer is cut
	return m.merge(w, opts, inputs)
}

// merge is Merge on m, which it leaves ready for the next.
func (m *merger) merge(w io.Writer, opts Options, inputs []Input) (Report, error) {
	if opts.Format == "" {
		opts.Format = expfmt.FmtText
	}
	if opts.Label == "" {
		opts.Label = "exporter"
	}
	defer m.release()
	m.opts, m.scheme = opts, opts.Format.ToEscapingScheme()
	decoded := opts.Format.FormatType() != expfmt.TypeTextPlain
	m.decoded = decoded
	m.prepare(inputs, decoded)
	m.collect()
	m.plan()
	m.synthesize()
	var err error
	if decoded {
		err = m.encode(w)
	} else {
		err = m.write(w)
	}
	return m.finish(inputs), err
}

func (m *merger) release() {
	m.w = nil
	if cap(m.out) > 4*flushSize {
		m.out = make([]byte, 0, flushSize+64<<10)
	}
	for _, s := range m.srcs {
		s.in, s.err, s.sc, s.proto, s.decoded = nil, nil, s.own, nil, nil
		s.sc.reset(nil, false, nil)
		if s.conv.Cap() > 64<<20 {
			s.conv = bytes.Buffer{}
		}
		s.conv.Reset()
	}
	m.synth.sc.reset(nil, false, nil)
	for i := range m.fams {
		m.fams[i] = mfam{parts: m.fams[i].parts[:0]}
	}
	m.fams = m.fams[:0]
	m.report = Report{}
	m.slabs.release()
	clear(m.metrics)
	m.metrics = m.metrics[:0]
	if len(m.strings) > 4096 {
		m.strings = nil
	}
	clear(m.strings)
	m.series = nil
	clear(m.sorted)
	if m.encoded.Cap() > 4*flushSize {
		m.encoded = bytes.Buffer{}
	}
}

func (m *merger) finish(inputs []Input) Report {
	r := m.report
	r.Sources = make([]SourceReport, len(inputs))
	for _, s := range m.srcs {
		r.Sources[s.idx] = SourceReport{Name: s.in.Name, Up: s.err == nil, Err: s.err, Samples: s.samples, Duplicates: s.dups, Misshapen: s.dropped}
	}
	return r
}
