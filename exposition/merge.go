package exposition

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

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
	// Received, when it has scanned all of Body (see Receive), is Body's
	// scan, which the merge then uses instead of scanning Body again.
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
}

// Conflict is a family left out of the merge for one source.
type Conflict struct {
	Source, Family, Reason string
}

// The per-source families every merge adds.
const (
	samplesFamily  = "corral_source_samples"
	durationFamily = "corral_source_scrape_duration_seconds"
	upFamily       = "corral_source_up"
)

// Synthetic tells whether name is one of the families the merge adds itself.
func Synthetic(name string) bool {
	return name == samplesFamily || name == durationFamily || name == upFamily
}

// source is one input during a merge.
type source struct {
	in       *Input
	idx      int
	sc       *scanner // own, or the Input's Receiver's while a merge uses it
	own      *scanner
	conv     bytes.Buffer // a protobuf body written as text
	injected []byte       // label="value",... added to every series
	closing  []byte       // what follows a sample's own labels: ",<injected>} " or "} "
	reserved [][]byte     // label names that are renamed exported_*
	err      error
	samples  int
	dups     int
	planned  int // families with samples in the merge
}

// mfam is one family of the merged output.
type mfam struct {
	name   []byte // as written: escaped per the output's scheme
	quoted bool   // name must be written quoted (allow-utf-8)
	typ    Type
	help   []byte
	parts  []part
}

type part struct {
	src *source
	fam int32
}

type labelPair struct {
	name   []byte
	quoted bool
	value  span // raw, still escaped
}

// merger is the state of one merge, kept in a pool so that its slices,
// maps and scanners serve the next scrape.
type merger struct {
	opts    Options
	scheme  model.EscapingScheme
	srcs    []*source
	fams    []mfam
	byName  map[string]int32
	seen    dedup
	synth   source
	synthB  bytes.Buffer
	w       io.Writer
	out     []byte // written to w whenever it passes flushSize
	werr    error
	num     []byte
	pairs   []labelPair
	pairs2  []labelPair
	report  Report
	famName []byte
}

var mergers = sync.Pool{New: func() any {
	return &merger{
		byName: map[string]int32{},
		out:    make([]byte, 0, flushSize+64<<10),
		synth:  source{sc: newScanner()},
	}
}}

// Merge writes inputs as one exposition in opts.Format: every series labelled
// with its source, families of the same name joined under one HELP and TYPE,
// families sorted by name and series by source then as received. A source
// whose body is invalid anywhere contributes nothing, so the output is always
// valid. The returned error is only ever the writer's.
func Merge(w io.Writer, opts Options, inputs []Input) (Report, error) {
	if opts.Format == "" {
		opts.Format = expfmt.FmtText
	}
	if opts.Label == "" {
		opts.Label = "exporter"
	}
	if opts.Format.FormatType() != expfmt.TypeTextPlain {
		return mergeDecoded(w, opts, inputs)
	}
	m := mergers.Get().(*merger)
	defer m.release()
	m.opts, m.scheme = opts, opts.Format.ToEscapingScheme()
	m.prepare(inputs, true)
	m.collect()
	m.plan()
	m.synthesize()
	err := m.write(w)
	return m.finish(inputs), err
}

// write writes the planned families to w, sorted by name.
func (m *merger) write(w io.Writer) error {
	slices.SortFunc(m.fams, func(a, b mfam) int { return bytes.Compare(a.name, b.name) })
	m.w, m.out, m.werr = w, m.out[:0], nil
	for i := range m.fams {
		m.writeFamily(&m.fams[i])
	}
	m.flush()
	return m.werr
}

// flushSize is how much merged output is gathered before one Write.
const flushSize = 128 << 10

func (m *merger) flush() {
	if len(m.out) > 0 && m.werr == nil {
		_, m.werr = m.w.Write(m.out)
	}
	m.out = m.out[:0]
}

func (m *merger) release() {
	m.w = nil
	if cap(m.out) > 4*flushSize {
		m.out = make([]byte, 0, flushSize+64<<10)
	}
	for _, s := range m.srcs {
		s.in, s.err, s.sc = nil, nil, s.own
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
	mergers.Put(m)
}

// prepare scans every input; text decides whether protobuf input is turned
// into text (the text path) or left for the decoder. Inputs are scanned in
// parallel when there is more than one worth it.
func (m *merger) prepare(inputs []Input, text bool) {
	for len(m.srcs) < len(inputs) {
		sc := newScanner()
		m.srcs = append(m.srcs, &source{sc: sc, own: sc})
	}
	m.srcs = m.srcs[:len(inputs)]
	big := 0
	for i := range inputs {
		s := m.srcs[i]
		in := &inputs[i]
		s.in, s.idx, s.err, s.samples, s.dups, s.planned = in, i, in.Err, 0, 0, 0
		s.injected, s.reserved = injection(s.injected[:0], s.reserved[:0], m.opts.Label, in)
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
				wg.Go(func() { s.scan(text) })
			}
		}
		for _, s := range m.srcs {
			if s.err == nil && len(s.in.Body) < parallelScan {
				s.scan(text)
			}
		}
		wg.Wait()
	} else {
		for _, s := range m.srcs {
			if s.err == nil {
				s.scan(text)
			}
		}
	}
	sort.Slice(m.srcs, func(a, b int) bool { return m.srcs[a].in.Name < m.srcs[b].in.Name })
}

// parallelScan is the body size from which a source is scanned in a
// goroutine of its own.
const parallelScan = 32 << 10

// scan reads the source's body, setting s.err when it is invalid.
func (s *source) scan(text bool) {
	in := s.in
	s.sc.hashing = true
	body, om := in.Body, false
	if r := in.Received; r.Scanned() && r.sc.hashing && r.sc.om == (FormatOf(in.ContentType) == OpenMetrics) &&
		len(r.sc.body) == len(in.Body) && slices.EqualFunc(r.sc.reserved, s.reserved, bytes.Equal) {
		s.sc = r.sc // scanned while received
		if err := r.Finish(in.Body); err != nil {
			s.err = fmt.Errorf("invalid exposition: %w", err)
		}
		return
	}
	switch FormatOf(in.ContentType) {
	case Text:
	case OpenMetrics:
		om = true
	case Protobuf:
		if !text {
			return // decoded later, as it is
		}
		if err := protoToText(&s.conv, in.Body); err != nil {
			s.err = fmt.Errorf("invalid exposition: %w", err)
			return
		}
		body = s.conv.Bytes()
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
		return dst, reserved // toText: the source as it is
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

// appendEscaped escapes a label value for the text format.
func appendEscaped(dst []byte, v string) []byte {
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

// collect joins the families of every good source by output name, in source
// order, leaving out those whose type conflicts.
func (m *merger) collect() {
	clear(m.byName)
	for _, s := range m.srcs {
		if s.err != nil {
			continue
		}
		for fi := range s.sc.fams {
			f := &s.sc.fams[fi]
			if f.n == 0 {
				continue
			}
			name, quoted := m.outName(s.sc, f)
			if f.typ == GaugeHistogram {
				m.conflict(s, name, "gauge histogram cannot be written as text 0.0.4")
				continue
			}
			if Synthetic(string(name)) {
				m.conflict(s, name, "name reserved for corral's per-source metrics")
				continue
			}
			typ := f.typ.text()
			mi, ok := m.byName[string(name)]
			if !ok {
				mi = int32(len(m.fams))
				m.byName[string(name)] = mi
				m.fams = slices.Grow(m.fams, 1)[:len(m.fams)+1]
				m.fams[mi].name, m.fams[mi].quoted, m.fams[mi].typ = name, quoted, typ
			}
			mf := &m.fams[mi]
			if mf.typ != typ {
				m.conflict(s, name, fmt.Sprintf("type %s conflicts with type %s of an earlier source", typ, mf.typ))
				continue
			}
			if mf.help == nil && f.hasHelp && !f.help.empty() {
				mf.help = s.sc.body[f.help.lo:f.help.hi]
			}
			mf.parts = append(mf.parts, part{s, int32(fi)})
		}
	}
	// A family named like a member of a summary or histogram (foo_count
	// beside summary foo) cannot follow it in one text exposition.
	for i := range m.fams {
		mf := &m.fams[i]
		mem := memberOf(mf.name)
		if mem != memberSum && mem != memberCount && mem != memberBucket {
			continue
		}
		base, ok := m.byName[string(mf.name[:len(mf.name)-len(memberSuffixes[mem])])]
		if !ok || !allowed(m.fams[base].typ, mem, false) || len(m.fams[base].parts) == 0 {
			continue
		}
		for _, p := range mf.parts {
			m.conflict(p.src, mf.name, fmt.Sprintf("collides with the series of %s %q", m.fams[base].typ, m.fams[base].name))
		}
		mf.parts = mf.parts[:0]
	}
}

// outName is a family's name in the output: OpenMetrics counters and infos
// get their suffix back, UTF-8 names are escaped per the output's scheme.
func (m *merger) outName(sc *scanner, f *family) (name []byte, quoted bool) {
	name = f.name
	if f.typ == Counter && sc.om {
		name = append(append([]byte(nil), f.name...), "_total"...)
	} else if f.typ == Info {
		name = append(append([]byte(nil), f.name...), "_info"...)
	}
	if legacyName(name) {
		return name, false
	}
	if m.scheme == model.NoEscaping {
		return name, true
	}
	return []byte(model.EscapeName(string(name), m.scheme)), false
}

func legacyName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i, c := range b {
		if c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// appendEscapedLabel appends label name ln escaped as model.EscapeName
// escapes a metric name, except that ':' is escaped too: it is valid in
// metric names only.
func appendEscapedLabel(out, ln []byte, scheme model.EscapingScheme) []byte {
	if !bytes.ContainsRune(ln, ':') {
		return append(out, model.EscapeName(string(ln), scheme)...)
	}
	if scheme == model.ValueEncodingEscaping {
		out = append(out, "U__"...)
	}
	for i, r := range string(ln) {
		switch {
		case r == '_' && scheme != model.UnderscoreEscaping:
			out = append(out, "__"...)
		case r == '.' && scheme == model.DotsEscaping:
			out = append(out, "_dot_"...)
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r >= '0' && r <= '9' && i > 0:
			out = append(out, byte(r))
		case scheme == model.UnderscoreEscaping:
			out = append(out, '_')
		case scheme == model.DotsEscaping:
			out = append(out, "__"...)
		case !utf8.ValidRune(r):
			out = append(out, "_FFFD_"...)
		default:
			out = append(out, '_')
			out = strconv.AppendInt(out, int64(r), 16)
			out = append(out, '_')
		}
	}
	return out
}

func (m *merger) conflict(s *source, family []byte, reason string) {
	m.report.Conflicts = append(m.report.Conflicts, Conflict{Source: s.in.Name, Family: string(family), Reason: reason})
}

// plan marks the samples left out (OpenMetrics _created lines and
// duplicates) and counts what every source contributes. A duplicate is a
// sample of the same source and family with the same name and label set,
// found by hash in a table cleared per family and verified.
func (m *merger) plan() {
	for i := range m.fams {
		for _, p := range m.fams[i].parts {
			s := p.src
			f := &s.sc.fams[p.fam]
			if f.n == 0 {
				continue
			}
			s.planned++
			if s.sc.memo.current && s.sc.memo.distinct {
				// The memo's series, which had no duplicates (nor
				// OpenMetrics _created samples: text only).
				s.samples += int(f.n)
				continue
			}
			m.seen.reset(int(f.n))
			for k := f.first; k <= f.last; k++ {
				smp := &s.sc.samples[k]
				if smp.fam != p.fam {
					continue
				}
				if smp.flags&flagCreated != 0 {
					smp.flags |= flagDrop
					continue
				}
				if f.n > 1 && !m.seen.add(smp.hash, k, func(prev int32) bool { return m.sameSeries(s, prev, k) }) {
					smp.flags |= flagDrop
					s.dups++
					continue
				}
				s.samples++
			}
		}
	}
	for _, s := range m.srcs {
		if s.err != nil || !s.sc.memo.current || s.sc.memo.distinct {
			continue
		}
		// No duplicates in a body all of whose families were merged: none
		// in the next that repeats it line for line either.
		nonEmpty := 0
		for i := range s.sc.fams {
			if s.sc.fams[i].n > 0 {
				nonEmpty++
			}
		}
		s.sc.memo.distinct = s.dups == 0 && s.planned == nonEmpty
	}
}

// dedup is an open-addressing set of sample hashes, reused across
// families and scrapes: a generation number empties it without clearing.
type dedup struct {
	slots []dedupSlot
	gen   uint32
	mask  uint64
}

type dedupSlot struct {
	hash uint64
	k    int32
	gen  uint32
}

// reset empties the table and sizes it for n samples.
func (d *dedup) reset(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if size > len(d.slots) {
		d.slots = make([]dedupSlot, size)
		d.gen = 0
	}
	d.mask = uint64(size - 1)
	d.gen++
	if d.gen == 0 { // wrapped: old generations would look current
		clear(d.slots)
		d.gen = 1
	}
}

// add records sample k with hash h, unless a sample recorded before has the
// same hash and same(it) confirms it is the same series: then it reports
// false.
func (d *dedup) add(h uint64, k int32, same func(prev int32) bool) bool {
	for i := h & d.mask; ; i = (i + 1) & d.mask {
		sl := &d.slots[i]
		if sl.gen != d.gen {
			*sl = dedupSlot{hash: h, k: k, gen: d.gen}
			return true
		}
		if sl.hash == h && same(sl.k) {
			return false
		}
	}
}

// sameSeries compares two samples of one source by name and label set.
func (m *merger) sameSeries(s *source, a, b int32) bool {
	sa, sb := &s.sc.samples[a], &s.sc.samples[b]
	body := s.sc.body
	if sa.member != sb.member || sa.fam != sb.fam {
		return false
	}
	m.pairs = s.sc.appendLabels(m.pairs[:0], sa.labels)
	m.pairs2 = s.sc.appendLabels(m.pairs2[:0], sb.labels)
	if len(m.pairs) != len(m.pairs2) {
		return false
	}
	for _, x := range m.pairs {
		found := false
		for _, y := range m.pairs2 {
			if bytes.Equal(x.name, y.name) && bytes.Equal(body[x.value.lo:x.value.hi], body[y.value.lo:y.value.hi]) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// appendLabels lists the labels of a label span.
func (s *scanner) appendLabels(dst []labelPair, sp span) []labelPair {
	b := s.body
	i, end := int(sp.lo), int(sp.hi)
	for i < end {
		i = s.skipBlank(i, end)
		name, quoted, next, err := s.name(i, end, false)
		if err != nil {
			return dst
		}
		i = s.skipBlank(next, end)
		i = s.skipBlank(i+1, end) // '='
		ve, err := s.labelValue(i+1, end+1)
		if err != nil {
			return dst
		}
		dst = append(dst, labelPair{name: name, quoted: quoted, value: span{int32(i + 1), int32(ve)}})
		i = s.skipBlank(ve+1, end)
		if i < end && b[i] == ',' {
			i++
		}
	}
	return dst
}

// synthesize adds corral_source_samples, _scrape_duration_seconds and _up,
// labelled with every source, as one more scanned body.
func (m *merger) synthesize() {
	b := &m.synthB
	b.Reset()
	label := m.opts.Label
	write := func(name, help string, value func(s *source) []byte) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
		for _, s := range m.srcs {
			b.WriteString(name)
			b.WriteByte('{')
			b.Write(appendLabel(m.num[:0], label, s.in.Name))
			b.WriteString("} ")
			b.Write(value(s))
			b.WriteByte('\n')
		}
	}
	write(samplesFamily, "Samples the source contributed to this merged scrape.", func(s *source) []byte {
		return strconv.AppendInt(m.num[:0], int64(s.samples), 10)
	})
	write(durationFamily, "How long the source took to scrape for this merged scrape.", func(s *source) []byte {
		return strconv.AppendFloat(m.num[:0], s.in.Duration.Seconds(), 'g', -1, 64)
	})
	write(upFamily, "1 if the source was scraped and its exposition was valid, else 0.", func(s *source) []byte {
		if s.err != nil {
			return append(m.num[:0], '0')
		}
		return append(m.num[:0], '1')
	})
	m.synth.in = &Input{Name: ""}
	m.synth.injected, m.synth.closing = m.synth.injected[:0], append(m.synth.closing[:0], "} "...)
	if err := m.synth.sc.scan(b.Bytes(), false, nil); err != nil {
		panic(fmt.Sprintf("exposition: synthetic families invalid: %v", err)) // a bug here, never input
	}
	for fi := range m.synth.sc.fams {
		f := &m.synth.sc.fams[fi]
		if f.n == 0 {
			continue // no source at all: nothing to say about them
		}
		m.fams = slices.Grow(m.fams, 1)[:len(m.fams)+1]
		mf := &m.fams[len(m.fams)-1]
		mf.name, mf.typ = f.name, Gauge
		mf.help = m.synth.sc.body[f.help.lo:f.help.hi]
		mf.parts = append(mf.parts, part{&m.synth, int32(fi)})
	}
}

func (m *merger) finish(inputs []Input) Report {
	r := m.report
	r.Sources = make([]SourceReport, len(inputs))
	for _, s := range m.srcs {
		r.Sources[s.idx] = SourceReport{Name: s.in.Name, Up: s.err == nil, Err: s.err, Samples: s.samples, Duplicates: s.dups}
	}
	return r
}

func (m *merger) writeFamily(mf *mfam) {
	if len(mf.parts) == 0 {
		return
	}
	out := m.out
	if len(mf.help) > 0 {
		out = append(out, "# HELP "...)
		out = m.appendName(out, mf.name, mf.quoted)
		out = append(out, ' ')
		if bytes.Contains(mf.help, []byte(`\"`)) {
			out = append(out, bytes.ReplaceAll(mf.help, []byte(`\"`), []byte(`"`))...)
		} else {
			out = append(out, mf.help...)
		}
		out = append(out, '\n')
	}
	out = append(out, "# TYPE "...)
	out = m.appendName(out, mf.name, mf.quoted)
	out = append(out, ' ')
	out = append(out, mf.typ.String()...)
	out = append(out, '\n')
	for _, p := range mf.parts {
		s := p.src
		f := &s.sc.fams[p.fam]
		if f.n == 0 {
			continue
		}
		body := s.sc.body
		injected := s.injected
		fast := !mf.quoted && bytes.Equal(f.name, mf.name)
		for k := f.first; k <= f.last; k++ {
			smp := &s.sc.samples[k]
			if smp.fam != p.fam || smp.flags&flagDrop != 0 {
				continue
			}
			if smp.flags&(flagQuoted|flagReserved|flagOMTime) != 0 || !fast && (mf.quoted || smp.member != memberTotal && smp.member != memberInfo) {
				m.out = out
				m.writeSlow(s, mf, smp)
				out = m.out
				continue
			}
			if len(out) >= flushSize {
				m.out = out
				m.flush()
				out = m.out
			}
			switch {
			case smp.labels.empty():
				out = append(out, body[smp.name.lo:smp.name.hi]...)
				if len(injected) > 0 {
					out = append(out, '{')
					out = append(out, s.closing[1:]...)
				} else {
					out = append(out, ' ')
				}
			case smp.name.hi+1 == smp.labels.lo && body[smp.name.hi] == '{':
				// name{labels: contiguous in the body, as almost always.
				out = append(out, body[smp.name.lo:smp.labels.hi]...)
				out = append(out, s.closing...)
			default:
				out = append(out, body[smp.name.lo:smp.name.hi]...)
				out = append(out, '{')
				out = append(out, body[smp.labels.lo:smp.labels.hi]...)
				out = append(out, s.closing...)
			}
			if smp.ts.empty() && int(smp.value.hi) < len(body) && body[smp.value.hi] == '\n' {
				out = append(out, body[smp.value.lo:smp.value.hi+1]...) // with its newline
				continue
			}
			out = append(out, body[smp.value.lo:smp.value.hi]...)
			if !smp.ts.empty() {
				out = append(out, ' ')
				out = append(out, body[smp.ts.lo:smp.ts.hi]...)
			}
			out = append(out, '\n')
		}
	}
	m.out = out
	if len(m.out) >= flushSize {
		m.flush()
	}
}

func (m *merger) appendName(out, name []byte, quoted bool) []byte {
	if !quoted {
		return append(out, name...)
	}
	out = append(out, '"')
	out = appendEscaped(out, string(name))
	return append(out, '"')
}

// writeSlow writes a sample whose names must be escaped or renamed, or whose
// timestamp must be converted.
func (m *merger) writeSlow(s *source, mf *mfam, smp *sample) {
	out := m.out
	body := s.sc.body
	name := append(m.famName[:0], mf.name...)
	switch smp.member {
	case memberExact, memberTotal, memberInfo:
	default:
		name = append(name, memberSuffixes[smp.member]...)
	}
	m.famName = name
	m.pairs = s.sc.appendLabels(m.pairs[:0], smp.labels)
	if mf.quoted {
		out = append(out, '{')
		out = m.appendName(out, name, true)
		if len(m.pairs) > 0 || len(s.injected) > 0 {
			out = append(out, ',')
		}
	} else {
		out = append(out, name...)
		out = append(out, '{')
	}
	for i, p := range m.pairs {
		if i > 0 {
			out = append(out, ',')
		}
		ln := p.name
		for m.taken(ln, s, i) {
			ln = append([]byte("exported_"), ln...)
		}
		if legacyName(ln) && !bytes.ContainsRune(ln, ':') {
			out = append(out, ln...)
		} else if m.scheme == model.NoEscaping {
			out = m.appendName(out, ln, true)
		} else {
			out = appendEscapedLabel(out, ln, m.scheme)
		}
		out = append(out, `="`...)
		out = append(out, body[p.value.lo:p.value.hi]...)
		out = append(out, '"')
	}
	if len(m.pairs) > 0 && len(s.injected) > 0 {
		out = append(out, ',')
	}
	out = append(out, s.injected...)
	out = append(out, "} "...)
	out = append(out, body[smp.value.lo:smp.value.hi]...)
	if !smp.ts.empty() {
		out = append(out, ' ')
		ts := body[smp.ts.lo:smp.ts.hi]
		if smp.flags&flagOMTime != 0 {
			sec, _ := strconv.ParseFloat(string(ts), 64)
			out = strconv.AppendInt(out, int64(sec*1000), 10)
		} else {
			out = append(out, ts...)
		}
	}
	m.out = append(out, '\n')
}

// taken tells whether label name ln of pair i must be renamed: it is one the
// merge injects, or, once renamed, another label of the series has it.
func (m *merger) taken(ln []byte, s *source, i int) bool {
	for _, r := range s.reserved {
		if bytes.Equal(r, ln) {
			return true
		}
	}
	if bytes.Equal(ln, m.pairs[i].name) {
		return false
	}
	for j, p := range m.pairs {
		if j != i && bytes.Equal(p.name, ln) {
			return true
		}
	}
	return false
}
