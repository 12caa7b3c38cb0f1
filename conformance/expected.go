package conformance

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/corral-metrics/corral/exposition"
)

// What a merged output is expected to carry of its input: the input's
// series as each documented rule (documented.go) adjusts them for the
// output's format.

// canonicalGaugeHistogramLe gives want with the le of gauge histogram
// buckets as a canonical number, for out in OpenMetrics or protobuf; it
// tells whether one changed.
func canonicalGaugeHistogramLe(want []Series, types map[string]model.MetricType, out Output) ([]Series, bool) {
	if out.Format.FormatType() == expfmt.TypeTextPlain || !hasType(types, model.MetricTypeGaugeHistogram) {
		return want, false
	}
	had := false
	for i, s := range want {
		fam, suffix := familyOfEscaped(s.Labels.Get(model.MetricNameLabel), types, out.Format.ToEscapingScheme())
		if types[fam] != model.MetricTypeGaugeHistogram || suffix != "_bucket" {
			continue
		}
		le := s.Labels.Get(model.BucketLabel)
		f, err := strconv.ParseFloat(le, 64)
		if err != nil || labels.FormatOpenMetricsFloat(f) == le {
			continue
		}
		want[i].Labels = withLabel(s.Labels, model.BucketLabel, labels.FormatOpenMetricsFloat(f))
		had = true
	}
	return want, had
}

// hasType tells whether a family of types is of type t. The checks that
// concern one type look a series' family up (familyOfEscaped, which reads
// every family) only where there is one: on a body of hundreds of families
// and thousands of series, the lookups took most of a fuzz input's time.
func hasType(types map[string]model.MetricType, t model.MetricType) bool {
	for _, typ := range types {
		if typ == t {
			return true
		}
	}
	return false
}

// familyOfEscaped gives the family of types (unescaped) whose series n
// (escaped per scheme) is, and the suffix n has after the family's name;
// n itself when it is of none.
func familyOfEscaped(n string, types map[string]model.MetricType, scheme model.EscapingScheme) (fam, suffix string) {
	if _, ok := types[n]; ok {
		return n, ""
	}
	fam = n // of no family of types, not even one named "" (a TYPE line may name it)
	for t := range types {
		e := model.EscapeName(t, scheme)
		if n == e {
			return t, ""
		}
		if rest, ok := strings.CutPrefix(n, e); ok && slices.Contains([]string{"_bucket", "_count", "_sum", "_created", "_total", "_gcount", "_gsum", "_info"}, rest) {
			fam, suffix = t, rest
		}
	}
	return fam, suffix
}

// withoutUncarriedExemplars gives want without the exemplars of series
// other than a counter's, a histogram's bucket or a native histogram, for
// out in OpenMetrics or protobuf; it tells whether it left one out.
func withoutUncarriedExemplars(want []Series, types map[string]model.MetricType, out Output) ([]Series, bool) {
	if !out.Exemplars {
		return want, false
	}
	left := false
	for i, s := range want {
		if len(s.Exemplars) == 0 {
			continue
		}
		name, scheme := s.Labels.Get(model.MetricNameLabel), out.Format.ToEscapingScheme()
		fam, suffix := familyOfEscaped(name, types, scheme)
		if e := model.EscapeName(s.Family, scheme); s.Family != "" && strings.HasPrefix(name, e) {
			// The family the series is of in the input, not another
			// that escapes to the same name.
			fam, suffix = s.Family, name[len(e):]
		}
		switch typ := types[fam]; {
		case typ == model.MetricTypeCounter && (suffix == "" || suffix == "_total"),
			(typ == model.MetricTypeHistogram || typ == model.MetricTypeGaugeHistogram) && (suffix == "_bucket" || s.Histogram != nil):
			continue
		}
		want[i].Exemplars, left = nil, true
	}
	return want, left
}

// withoutFarStarts gives want with the start timestamps out cannot carry
// as none; it tells whether there was one.
func withoutFarStarts(want []Series, out Output) ([]Series, bool) {
	if !out.Start {
		return want, false
	}
	most := math.MaxInt64 / int64(1e9) * 1000 // the whole seconds of nanoseconds' range, in milliseconds
	if out.Format.FormatType() == expfmt.TypeProtoDelim {
		most = math.MaxInt64 - 1
	}
	had := false
	for i, s := range want {
		if s.Start >= most || s.Start <= -most {
			want[i].Start, had = 0, true
		}
	}
	return want, had
}

// withoutUnknownStarts gives want with no start timestamp for the series
// of a counter whose name does not end in _total (OpenMetrics writes such a
// counter as unknown) and of a gauge histogram, for out in OpenMetrics,
// where neither type has one; it tells whether there was one.
func withoutUnknownStarts(want []Series, types map[string]model.MetricType, out Output) ([]Series, bool) {
	if !out.Start || out.Format.FormatType() != expfmt.TypeOpenMetrics {
		return want, false
	}
	had := false
	for i, s := range want {
		unknown := types[s.Family] == model.MetricTypeCounter && !strings.HasSuffix(s.Labels.Get(model.MetricNameLabel), "_total")
		if s.Start != 0 && (unknown || types[s.Family] == model.MetricTypeGaugeHistogram) {
			want[i].Start, had = 0, true
		}
	}
	return want, had
}

// oneStartOfSeries gives want with each classic series of a histogram
// (gauge histogram too) or summary taking the start timestamp of its
// series' first, for out with start timestamps; it tells whether one
// changed. Only a protobuf series given in two messages, the later adding
// a bound under another start timestamp, has two.
func oneStartOfSeries(want []Series, types map[string]model.MetricType, out Output) ([]Series, bool) {
	if !out.Start {
		return want, false
	}
	first := map[string]int64{}
	had := false
	for i, s := range want {
		typ := types[s.Family]
		if s.Histogram != nil || typ != model.MetricTypeHistogram && typ != model.MetricTypeGaugeHistogram && typ != model.MetricTypeSummary {
			continue
		}
		k := s.Family + "\xff" + seriesOf(s.Labels, typ, model.NoEscaping)
		start, seen := first[k]
		if !seen {
			first[k] = s.Start
		} else if s.Start != start {
			want[i].Start, had = start, true
		}
	}
	return want, had
}

// withoutFarExemplars gives want without the exemplars whose timestamp is
// past the milliseconds of an int64 (as Prometheus reads it, the overflow
// of its conversion), for out in protobuf; it tells whether it left one
// out.
func withoutFarExemplars(want []Series, out Output) ([]Series, bool) {
	if !out.Exemplars || out.Format.FormatType() != expfmt.TypeProtoDelim {
		return want, false
	}
	const most = math.MaxInt64 - 1
	left := false
	for i, s := range want {
		kept := slices.DeleteFunc(slices.Clone(s.Exemplars), func(e exemplar.Exemplar) bool { return e.HasTs && (e.Ts >= most || e.Ts <= -most) })
		if len(kept) != len(s.Exemplars) {
			want[i].Exemplars, left = kept, true
		}
	}
	return want, left
}

// gaugeHistogramNames gives want with the count and sum series of gauge
// histograms named as out names them: _count and _sum in protobuf,
// _gcount and _gsum in OpenMetrics; it tells whether one was renamed.
func gaugeHistogramNames(want []Series, types map[string]model.MetricType, out Output) ([]Series, bool) {
	renames := map[string]string{"_gcount": "_count", "_gsum": "_sum"}
	switch out.Format.FormatType() {
	case expfmt.TypeOpenMetrics:
		renames = map[string]string{"_count": "_gcount", "_sum": "_gsum"}
	case expfmt.TypeProtoDelim:
	default:
		return want, false
	}
	if !hasType(types, model.MetricTypeGaugeHistogram) {
		return want, false
	}
	had := false
	for i, s := range want {
		n := s.Labels.Get(model.MetricNameLabel)
		fam, suffix := familyOfEscaped(n, types, out.Format.ToEscapingScheme())
		if to, ok := renames[suffix]; ok && types[fam] == model.MetricTypeGaugeHistogram {
			want[i].Labels = withLabel(s.Labels, model.MetricNameLabel, strings.TrimSuffix(n, suffix)+to)
			had = true
		}
	}
	return want, had
}

// uncarried tells whether series s of a text or OpenMetrics input is one
// no OpenMetrics or protobuf histogram or summary can carry: a plain sample
// under a histogram or summary TYPE (a summary's without quantile), a
// bucket without le, or a count or sum with le (quantile, of a summary).
func uncarried(s Series, types map[string]model.MetricType) bool {
	n := s.Labels.Get(model.MetricNameLabel)
	fam := s.Family
	switch types[fam] {
	case model.MetricTypeHistogram:
		return n == fam || n == fam+"_bucket" && !s.Labels.Has(model.BucketLabel) ||
			(n == fam+"_sum" || n == fam+"_count") && s.Labels.Has(model.BucketLabel)
	case model.MetricTypeGaugeHistogram:
		return n == fam || n == fam+"_bucket" && !s.Labels.Has(model.BucketLabel) ||
			(n == fam+"_gsum" || n == fam+"_gcount") && s.Labels.Has(model.BucketLabel)
	case model.MetricTypeSummary:
		return n == fam && !s.Labels.Has(model.QuantileLabel) ||
			(n == fam+"_sum" || n == fam+"_count") && s.Labels.Has(model.QuantileLabel)
	}
	return false
}

// carried gives the series of in that out can carry: for a text or
// OpenMetrics input in OpenMetrics and protobuf output, in without its
// uncarried samples.
func carried(in []Series, contentType string, types map[string]model.MetricType, out Output) []Series {
	if exposition.FormatOf(contentType) == exposition.Protobuf || out.Format.FormatType() == expfmt.TypeTextPlain {
		return in
	}
	var kept []Series
	for _, s := range in {
		if !uncarried(s, types) {
			kept = append(kept, s)
		}
	}
	return kept
}

// leftOutOf gives the series of in that source keeps: without those of
// the families left out for it, keyed by source and family (as
// Series.Family names it).
func leftOutOf(in []Series, source string, leftOut map[[2]string]bool) []Series {
	var kept []Series
	for _, s := range in {
		if !leftOut[[2]string{source, s.Family}] {
			kept = append(kept, s)
		}
	}
	return kept
}

// withoutOMExemplars gives want without the exemplars OpenMetrics output
// leaves out, for out in OpenMetrics; it tells whether it left one out.
func withoutOMExemplars(want []Series, out Output) ([]Series, bool) {
	if out.Format.FormatType() != expfmt.TypeOpenMetrics {
		return want, false
	}
	left := false
	for i, s := range want {
		kept := slices.DeleteFunc(slices.Clone(s.Exemplars), func(e exemplar.Exemplar) bool { return !omCarries(e) })
		if len(kept) != len(s.Exemplars) {
			want[i].Exemplars, left = kept, true
		}
	}
	return want, left
}

// omCarries tells whether OpenMetrics output carries exemplar e.
func omCarries(e exemplar.Exemplar) bool {
	const most = math.MaxInt64 / int64(1e6) // milliseconds in nanoseconds' range
	if e.HasTs && (e.Ts >= most || e.Ts <= -most) {
		return false
	}
	ok := true
	e.Labels.Range(func(l labels.Label) {
		for _, s := range []string{l.Name, l.Value} {
			ok = ok && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
		}
	})
	return ok
}

// withoutZeroTimestamps gives want with a timestamp of 0 read as none, for
// out in protobuf; it tells whether there was one.
func withoutZeroTimestamps(want []Series, out Output) ([]Series, bool) {
	if out.Format.FormatType() != expfmt.TypeProtoDelim {
		return want, false
	}
	had := false
	for i, s := range want {
		if s.Timestamp != nil && *s.Timestamp == 0 {
			want[i].Timestamp, had = nil, true
		}
	}
	return want, had
}

// withLabel gives ls with label name set to value, keeping the labels of
// empty value (which labels.Builder would drop: Prometheus' parser gives
// them, and they make another series).
func withLabel(ls labels.Labels, name, value string) labels.Labels {
	b := labels.NewScratchBuilder(ls.Len() + 1)
	ls.Range(func(l labels.Label) {
		if l.Name != name {
			b.Add(l.Name, l.Value)
		}
	})
	b.Add(name, value)
	b.Sort()
	return b.Labels()
}
