package conformance

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

// Merged is what a merge of one body from each of sources should give, in
// an output format that escapes names per scheme: each source's series
// once (the first of those the same once escaped, as the README says), a
// label the series had under the merge label's name kept as
// exported_<label>, the merge label added. Exemplars stay only where the
// output format keeps them.
func Merged(in []Series, sources []string, label string, scheme model.EscapingScheme, exemplars bool) []Series {
	var out []Series
	for _, src := range sources {
		seen := map[string]bool{}
		for _, s := range in {
			b := labels.NewScratchBuilder(s.Labels.Len() + 1)
			s.Labels.Range(func(l labels.Label) {
				name := l.Name
				if name == label {
					name = "exported_" + name
				}
				if name == model.MetricNameLabel {
					b.Add(name, model.EscapeName(l.Value, scheme))
					return
				}
				b.Add(escapeLabelName(name, scheme), l.Value)
			})
			b.Sort()
			escaped := b.Labels()
			k := key(escaped)
			if seen[k] {
				continue
			}
			seen[k] = true
			withSource := labels.NewScratchBuilder(escaped.Len() + 1)
			escaped.Range(func(l labels.Label) { withSource.Add(l.Name, l.Value) })
			withSource.Add(label, src)
			withSource.Sort()
			s.Labels = withSource.Labels()
			if !exemplars {
				s.Exemplars = nil
			}
			out = append(out, s)
		}
	}
	return out
}

// escapeLabelName escapes a label name as model.EscapeName escapes a metric
// name, except that ':' is not a legacy label name character.
func escapeLabelName(name string, scheme model.EscapingScheme) string {
	if scheme == model.NoEscaping || model.LegacyValidation.IsValidLabelName(name) {
		return name
	}
	if scheme != model.UnderscoreEscaping {
		return model.EscapeName(name, scheme)
	}
	var b strings.Builder
	for i, r := range name {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' && i > 0 {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Duplicates lists the series that occur more than once in have.
func Duplicates(have []Series) []string {
	seen := map[string]bool{}
	var dups []string
	for _, s := range have {
		k := key(s.Labels)
		if seen[k] {
			dups = append(dups, s.Labels.String())
		}
		seen[k] = true
	}
	return dups
}

// Diff lists how have differs from want, series compared by label set,
// regardless of order: missing and unexpected series, and series whose
// value, native histogram, timestamp, exemplars or start timestamp differ.
// Values are compared as numbers (-0 equals 0: formats need not keep the
// sign of zero), and any two NaNs are equal unless one is Prometheus' stale
// marker.
func Diff(want, have []Series) []string {
	byKey := map[string]Series{}
	for _, s := range have {
		byKey[key(s.Labels)] = s
	}
	var diffs []string
	for _, w := range want {
		k := key(w.Labels)
		h, ok := byKey[k]
		if !ok {
			diffs = append(diffs, "missing "+w.Labels.String())
			continue
		}
		delete(byKey, k)
		if d := diffSeries(w, h); d != "" {
			diffs = append(diffs, w.Labels.String()+": "+d)
		}
	}
	var unexpected []string
	for _, h := range byKey {
		unexpected = append(unexpected, "unexpected "+h.Labels.String())
	}
	slices.Sort(unexpected)
	return append(diffs, unexpected...)
}

// key is a label set as a map key: labels.Labels.String quotes every
// value, which on bodies of thousands of series took a fifth of a fuzz
// input's time.
func key(ls labels.Labels) string {
	return string(ls.Bytes(nil))
}

func diffSeries(w, h Series) string {
	switch {
	case (w.Histogram == nil) != (h.Histogram == nil):
		return fmt.Sprintf("native histogram: want %v, have %v", w.Histogram != nil, h.Histogram != nil)
	case w.Histogram != nil && !sameHistogram(w.Histogram, h.Histogram):
		return fmt.Sprintf("native histogram: want %v, have %v", w.Histogram, h.Histogram)
	case w.Histogram == nil && !sameFloat(w.Value, h.Value):
		return fmt.Sprintf("value: want %v, have %v", w.Value, h.Value)
	case !sameTimestamp(w.Timestamp, h.Timestamp):
		return fmt.Sprintf("timestamp: want %s, have %s", showTimestamp(w.Timestamp), showTimestamp(h.Timestamp))
	case !slices.EqualFunc(w.Exemplars, h.Exemplars, sameExemplar):
		return fmt.Sprintf("exemplars: want %v, have %v", w.Exemplars, h.Exemplars)
	case w.Start != h.Start:
		return fmt.Sprintf("start timestamp: want %d, have %d", w.Start, h.Start)
	}
	return ""
}

// sameHistogram is Prometheus' FloatHistogram.Equals, but for a zero
// threshold of NaN, which it finds unequal to itself (it compares the
// threshold as a number, the counts and sum by their bits).
func sameHistogram(a, b *histogram.FloatHistogram) bool {
	if math.IsNaN(a.ZeroThreshold) && math.IsNaN(b.ZeroThreshold) {
		a, b = a.Copy(), b.Copy()
		a.ZeroThreshold, b.ZeroThreshold = 0, 0
	}
	return a.Equals(b)
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b) && value.IsStaleNaN(a) == value.IsStaleNaN(b)
	}
	return a == b
}

func sameTimestamp(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func showTimestamp(t *int64) string {
	if t == nil {
		return "none"
	}
	return fmt.Sprint(*t)
}

func sameExemplar(a, b exemplar.Exemplar) bool {
	return labels.Equal(a.Labels, b.Labels) && sameFloat(a.Value, b.Value) && a.HasTs == b.HasTs && (!a.HasTs || a.Ts == b.Ts)
}
