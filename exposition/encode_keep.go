package exposition

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// What OpenMetrics and protobuf output keep of an OpenMetrics source that
// the text the plan writes cannot say: each series' _created sample
// becomes its created timestamp, and an exemplar of a counter's _total or
// a histogram's (or gauge histogram's) _bucket becomes the counter's or
// the bucket's exemplar. The family's # UNIT is kept too (decodeFamily).
// Neither format has an exemplar anywhere else: one on another sample (a
// gauge's, a summary's...) is left out, as is a created timestamp no
// nanosecond time holds (NaN, past 2262).
//
// The times are written so that Prometheus reads what it read from the
// source: in OpenMetrics as the same float (expfmt writes nanoseconds
// divided by 1e9), in protobuf as the same milliseconds (Prometheus'
// OpenMetrics parser truncates seconds times 1000).

// omExtras gives the metrics the plan kept of part p of family mf, read
// back from its text (parsed), the created timestamps and exemplars of the
// OpenMetrics source's samples. Metrics are matched by their labels.
//
// A series has the created timestamp Prometheus reads for it: the value
// of the first _created line after each of its samples, when that line is
// the series' own. So a _created line gives its series a created
// timestamp when every sample of the series lies between it and the
// _created line before it; otherwise Prometheus reads its samples with
// different ones or none, and the series gets none.
func (m *merger) omExtras(mf *mfam, p part, parsed []*dto.Metric) {
	s := p.src
	f := &s.sc.fams[p.fam]
	if f.n == 0 || len(parsed) == 0 {
		return
	}
	byKey := make(map[string]*dto.Metric, len(parsed))
	for _, pm := range parsed {
		byKey[m.dtoKey(s, pm)] = pm
	}
	type extent struct{ first, last int32 }
	var spans map[string]extent // of each series' samples but _created
	keys := make([]string, f.last-f.first+1)
	for k := f.first; k <= f.last; k++ {
		smp := &s.sc.samples[k]
		if smp.fam != p.fam {
			continue
		}
		keys[k-f.first] = m.sampleKey(s, smp)
		if smp.flags&flagCreated != 0 || mf.typ == GaugeHistogram {
			continue
		}
		if spans == nil {
			spans = map[string]extent{}
		}
		e, ok := spans[keys[k-f.first]]
		if !ok {
			e.first = k
		}
		e.last = k
		spans[keys[k-f.first]] = e
	}
	body := s.sc.body
	after := f.first // the sample after the last _created line
	for k := f.first; k <= f.last; k++ {
		smp := &s.sc.samples[k]
		if smp.fam != p.fam {
			continue
		}
		key := keys[k-f.first]
		if smp.flags&flagCreated != 0 {
			// Planned out of the text (flagDrop), or a duplicate: a
			// later one does not replace the first.
			e, ok := spans[key]
			window := after
			after = k + 1
			pm := byKey[key]
			if !ok || e.first < window || e.last > k || pm == nil {
				continue
			}
			v, err := strconv.ParseFloat(string(body[smp.value.lo:smp.value.hi]), 64)
			ts := m.timestamp(v)
			if err != nil || ts == nil {
				continue
			}
			switch {
			case pm.Counter != nil && pm.Counter.CreatedTimestamp == nil:
				pm.Counter.CreatedTimestamp = ts
			case pm.Summary != nil && pm.Summary.CreatedTimestamp == nil:
				pm.Summary.CreatedTimestamp = ts
			case pm.Histogram != nil && pm.Histogram.CreatedTimestamp == nil:
				pm.Histogram.CreatedTimestamp = ts
			}
			continue
		}
		if smp.flags&flagDrop != 0 {
			continue // a duplicate: the series kept has its own
		}
		carried := smp.member == memberTotal && f.typ == Counter ||
			smp.member == memberBucket && (f.typ == Histogram || f.typ == GaugeHistogram)
		if !carried {
			continue
		}
		e := m.exemplar(s, smp)
		pm := byKey[key]
		if e == nil || pm == nil {
			continue
		}
		if pm.Counter != nil {
			pm.Counter.Exemplar = e
			continue
		}
		le, _ := s.sc.labelValueOf(smp, "le")
		bound, err := strconv.ParseFloat(le, 64)
		if err != nil || pm.Histogram == nil {
			continue
		}
		for _, b := range pm.Histogram.Bucket {
			if b.GetUpperBound() == bound || math.IsInf(bound, 1) && math.IsInf(b.GetUpperBound(), 1) {
				b.Exemplar = e
				break
			}
		}
	}
}

// exemplar reads the exemplar written after sample smp's value (and
// timestamp), if any.
func (m *merger) exemplar(s *origin, smp *sample) *dto.Exemplar {
	sc := s.sc
	b := sc.body
	i := int(smp.value.hi)
	if !smp.ts.empty() {
		i = int(smp.ts.hi)
	}
	if !bytes.HasPrefix(b[i:], []byte(" # {")) {
		return nil
	}
	end := len(b)
	if n := bytes.IndexByte(b[i:], '\n'); n >= 0 {
		end = i + n
	}
	e := &dto.Exemplar{}
	j := i + 4
	for j < end && b[j] != '}' {
		name, _, next, err := sc.name(j, end, false)
		if err != nil || next+2 > end {
			return nil
		}
		ve, err := sc.labelValue(next+2, end)
		if err != nil {
			return nil
		}
		e.Label = append(e.Label, &dto.LabelPair{Name: new(string(name)), Value: new(unescapeValue(b[next+2 : ve]))})
		j = ve + 1
		if j < end && b[j] == ',' {
			j++
		}
	}
	parts := strings.Split(string(b[min(j+1, end):end]), " ")
	if len(parts) < 2 || len(parts) > 3 {
		return nil
	}
	v, err := strconv.ParseFloat(parts[1], 64)
	if err != nil {
		return nil
	}
	e.Value = &v
	if len(parts) == 3 {
		t, err := strconv.ParseFloat(parts[2], 64)
		if err != nil {
			return nil
		}
		if e.Timestamp = m.timestamp(t); e.Timestamp == nil {
			return nil // OpenMetrics output cannot carry it (omExemplar)
		}
	}
	return e
}

// timestamp is an OpenMetrics time (seconds) as the output format's
// encoder should be given it for Prometheus to read the same from it, or
// nil when no nanosecond time holds it.
func (m *merger) timestamp(sec float64) *timestamppb.Timestamp {
	if m.opts.Format.FormatType() == expfmt.TypeProtoDelim {
		const most = float64(math.MaxInt64) / 1e3
		if !(sec > -most && sec < most) {
			return nil
		}
		return timestamppb.New(time.UnixMilli(int64(sec * 1000))) // as Prometheus reads it
	}
	const most = float64(math.MaxInt64 / int64(1e9)) // whole seconds, as omExemplar
	if !(sec > -most && sec < most) {
		return nil
	}
	return timestamppb.New(time.Unix(0, exactNanos(sec)))
}

// exactNanos is a number of nanoseconds n for which expfmt's
// float64(n)/1e9 is sec, when there is one; else one for which it is as
// many milliseconds to Prometheus (which truncates seconds times 1000);
// else the nearest. float64(n) holds 53 bits: near 2026 a step of 256 ns,
// more than sec's own, so not every sec has such an n.
func exactNanos(sec float64) int64 {
	n0 := int64(math.Round(sec * 1e9))
	step := int64(math.Nextafter(math.Abs(float64(n0)), math.Inf(1))-math.Abs(float64(n0))) / 2
	step = max(step, 1)
	ms := int64(sec * 1000)
	for _, same := range []func(float64) bool{
		func(v float64) bool { return v == sec },
		func(v float64) bool { return int64(v*1000) == ms },
	} {
		for k := int64(0); k <= 8; k++ {
			for _, n := range [2]int64{n0 + k*step, n0 - k*step} {
				if same(float64(n) / 1e9) {
					return n
				}
			}
		}
	}
	return n0
}

// sampleKey identifies the series of sample smp among the metrics of its
// part as expfmt reads them back: its labels as written, le aside.
func (m *merger) sampleKey(s *origin, smp *sample) string {
	var pairs []string
	b := s.sc.body
	m.pairs, _ = m.outLabels(m.pairs[:0], s, smp)
	for _, p := range m.pairs {
		if string(p.name) == model.BucketLabel && smp.member == memberBucket {
			continue
		}
		pairs = append(pairs, string(p.out)+"\xff"+unescapeValue(b[p.value.lo:p.value.hi]))
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "\xfe")
}

// dtoKey is sampleKey of metric pm, read back from the text of a part of
// source s: its labels but those the merge injects.
func (m *merger) dtoKey(s *origin, pm *dto.Metric) string {
	var pairs []string
	for _, l := range pm.GetLabel() {
		if slices.ContainsFunc(s.reserved, func(r []byte) bool { return string(r) == l.GetName() }) {
			continue
		}
		pairs = append(pairs, l.GetName()+"\xff"+l.GetValue())
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "\xfe")
}

// labelValueOf is the unescaped value of smp's label named n.
func (sc *scanner) labelValueOf(smp *sample, n string) (string, bool) {
	var pairs [8]labelPair
	for _, p := range sc.appendLabels(pairs[:0], smp.labels) {
		if string(p.name) == n {
			return unescapeValue(sc.body[p.value.lo:p.value.hi]), true
		}
	}
	return "", false
}

// unescapeValue decodes a label value's \\, \" and \n.
func unescapeValue(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
			if raw[i] == 'n' {
				out = append(out, '\n')
				continue
			}
		}
		out = append(out, raw[i])
	}
	return string(out)
}

// omUnit is family mf's unit as its output writes it, or "" when none:
// Prometheus refuses a unit that is not a suffix of the family's name, so
// a unit whose name was escaped (or an info's, written as X_info) goes
// with its name or not at all.
func (m *merger) omUnit(mf *mfam) string {
	if len(mf.unit) == 0 {
		return ""
	}
	u := string(mf.unit)
	if m.scheme != model.NoEscaping {
		u = model.EscapeName(u, m.scheme)
	}
	name := mf.name
	if mf.typ == Counter {
		name = bytes.TrimSuffix(name, []byte("_total"))
	}
	if !bytes.HasSuffix(name, []byte("_"+u)) {
		return ""
	}
	return u
}

// wholeCounts gives the float histograms of ms whose counts are all whole
// numbers integer counts, which OpenMetrics 1.0 carries (expfmt refuses
// every float histogram). The messages may be a source's own (restore),
// so a changed one is a copy.
func wholeCounts(ms []*dto.Metric) {
	whole := func(v float64) bool { return v >= 0 && v == math.Trunc(v) && v < 1<<63 }
	for _, m := range ms {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		float, ok := h.GetSampleCountFloat() > 0, whole(h.GetSampleCountFloat())
		for _, b := range h.GetBucket() {
			float = float || b.GetCumulativeCountFloat() > 0
			ok = ok && whole(b.GetCumulativeCountFloat())
		}
		if !float || !ok {
			continue
		}
		h = proto.Clone(h).(*dto.Histogram)
		if h.SampleCountFloat != nil {
			h.SampleCount, h.SampleCountFloat = new(uint64(h.GetSampleCountFloat())), nil
		}
		for _, b := range h.Bucket {
			if b.CumulativeCountFloat != nil {
				b.CumulativeCount, b.CumulativeCountFloat = new(uint64(b.GetCumulativeCountFloat())), nil
			}
		}
		m.Histogram = h
	}
}

// gaugeHistogramNames renames, in family name's OpenMetrics text, the
// _count and _sum samples expfmt writes for a gauge histogram to _gcount
// and _gsum, as OpenMetrics has them.
func gaugeHistogramNames(text []byte, name []byte, quoted bool) []byte {
	for _, sfx := range [][2]string{{"_count", "_gcount"}, {"_sum", "_gsum"}} {
		if quoted {
			q := appendEscaped([]byte("\n{\""), string(name))
			text = bytes.ReplaceAll(text, append(slices.Clone(q), sfx[0]+"\""...), append(slices.Clone(q), sfx[1]+"\""...))
			continue
		}
		for _, after := range []string{"{", " "} {
			old := "\n" + string(name) + sfx[0] + after
			text = bytes.ReplaceAll(text, []byte(old), []byte("\n"+string(name)+sfx[1]+after))
		}
	}
	return text
}

// omTimes gives the created and exemplar timestamps of a protobuf source's
// metrics ms, for OpenMetrics output, nanoseconds for which Prometheus
// reads from expfmt's float seconds the milliseconds it reads from the
// source's message (expfmt's float64(nanoseconds)/1e9 may fall below
// them). The messages may be the source's own (restore), so a changed one
// is a copy.
func omTimes(ms []*dto.Metric) {
	for _, m := range ms {
		switch {
		case m.Counter != nil && (omStartShift(m.Counter.CreatedTimestamp) || m.Counter.Exemplar != nil && omShift(m.Counter.Exemplar.Timestamp)):
			c := proto.Clone(m.Counter).(*dto.Counter)
			c.CreatedTimestamp = omStart(c.CreatedTimestamp)
			if c.Exemplar != nil {
				c.Exemplar.Timestamp = omTime(c.Exemplar.Timestamp)
			}
			m.Counter = c
		case m.Summary != nil && omStartShift(m.Summary.CreatedTimestamp):
			s := proto.Clone(m.Summary).(*dto.Summary)
			s.CreatedTimestamp = omStart(s.CreatedTimestamp)
			m.Summary = s
		case m.Histogram != nil:
			h := m.Histogram
			shift := omStartShift(h.CreatedTimestamp)
			for _, b := range h.Bucket {
				shift = shift || b.Exemplar != nil && omShift(b.Exemplar.Timestamp)
			}
			if !shift {
				continue
			}
			h = proto.Clone(h).(*dto.Histogram)
			h.CreatedTimestamp = omStart(h.CreatedTimestamp)
			for _, b := range h.Bucket {
				if b.Exemplar != nil {
					b.Exemplar.Timestamp = omTime(b.Exemplar.Timestamp)
				}
			}
			m.Histogram = h
		}
	}
}

// omStart is created timestamp ts as omTimes gives it: none where no
// nanosecond time holds it (past 2262, before 1678: expfmt's encoder
// would write another time), else omTime's.
func omStart(ts *timestamppb.Timestamp) *timestamppb.Timestamp {
	if pastNanos(ts) {
		return nil
	}
	return omTime(ts)
}

// omStartShift tells whether omStart changes ts.
func omStartShift(ts *timestamppb.Timestamp) bool {
	return pastNanos(ts) || omShift(ts)
}

// pastNanos tells whether ts, as Prometheus reads it, lies where no
// nanosecond time does.
func pastNanos(ts *timestamppb.Timestamp) bool {
	const most = math.MaxInt64 / int64(1e9) * 1000
	ms := promMillis(ts)
	return ts != nil && (ms >= most || ms <= -most)
}

// promMillis is protobuf time ts as Prometheus reads it: in milliseconds,
// unchecked (nanos out of range included, overflow wrapping).
func promMillis(ts *timestamppb.Timestamp) int64 {
	return ts.GetSeconds()*1000 + int64(ts.GetNanos())/1e6
}

// omShift tells whether omTime changes ts.
func omShift(ts *timestamppb.Timestamp) bool {
	return ts != nil && omTime(ts) != ts
}

// omTime is ts, or a time within a millisecond of it whose float seconds
// expfmt writes and Prometheus reads as ts's milliseconds (as Prometheus
// reads ts, a time out of protobuf's range included). From protobuf
// Prometheus reads a time before 1970 with a part of a millisecond as the
// millisecond before it (seconds*1000 + nanos/1e6), from OpenMetrics as
// the one after it (the float's milliseconds truncated toward zero): no
// time near ts reads as its milliseconds there, the middle of that
// millisecond's span of floats does.
func omTime(ts *timestamppb.Timestamp) *timestamppb.Timestamp {
	if ts == nil || pastNanos(ts) {
		return ts // past 2262: omExemplar leaves an exemplar out
	}
	ms := promMillis(ts)
	if ts.CheckValid() != nil {
		ts = timestamppb.New(time.UnixMilli(ms))
	}
	n0 := ts.AsTime().UnixNano()
	if int64(float64(n0)/1e9*1000) == ms {
		return ts
	}
	step := int64(math.Nextafter(math.Abs(float64(n0)), math.Inf(1))-math.Abs(float64(n0))) / 2
	step = max(step, 1)
	for k := int64(1); k <= 16; k++ {
		for _, n := range [2]int64{n0 + k*step, n0 - k*step} {
			if int64(float64(n)/1e9*1000) == ms {
				return timestamppb.New(time.Unix(0, n))
			}
		}
	}
	// OpenMetrics reads (ms-1, ms] as ms when ms < 0, [ms, ms+1) else.
	half := int64(time.Millisecond / 2)
	if ms < 0 {
		half = -half
	}
	return timestamppb.New(time.Unix(0, ms*int64(time.Millisecond)+half))
}
