package conformance

import (
	"errors"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/corral-metrics/corral/exposition"
)

// The ways the README says a merged output differs from its input, on
// purpose: what an output format cannot carry is left out of it (and, for a
// family, reported as a conflict). The checks hold corral to them: such a
// difference passes only where the input shows the reason, and only the
// series the rule names may be missing.
const (
	// omFloatHistogramRule: OpenMetrics 1.0 has no float histograms.
	omFloatHistogramRule = "om-float-histogram"
	// omCounterNameRule: OpenMetrics names counter X_total as X.
	omCounterNameRule = "om-counter-name"
	// escapedLabelsRule: a series whose label names are the same once
	// escaped cannot be written with names escaped; its family is left out.
	escapedLabelsRule = "escaped-label-names"
	// escapedNamesRule: two families of a source whose names are the
	// same once escaped ("a.b" and "a b", with names escaped) or written
	// (an OpenMetrics counter "c", whose samples are c_total, and
	// "c_total"; an info likewise), of different types, cannot both be
	// written; the first in the body is kept, the other left out for the
	// source. (Of one type, they are one family: its series the same once
	// escaped are duplicates.)
	escapedNamesRule = "escaped-names"
	// partMissingRule: a histogram without its +Inf bucket, _count or _sum,
	// or a summary without _count or _sum, cannot be written in OpenMetrics
	// or protobuf (their encoders would write the part as 0); its family is
	// left out for the source.
	partMissingRule = "part-missing"
	// omExemplarRule: an exemplar whose timestamp is past 2262 (or before
	// 1678), or whose labels hold a NUL byte or are not UTF-8, is left out
	// of OpenMetrics output.
	omExemplarRule = "om-exemplar"
	// utf8NamesRule: with UTF-8 names, a family with a name holding a NUL
	// byte (text, OpenMetrics) or a label name holding ':' (OpenMetrics) is
	// left out for its source.
	utf8NamesRule = "utf8-names"
	// protoZeroTimestampRule: a timestamp of 0 is no timestamp in protobuf
	// (Prometheus reads timestamp_ms 0 as none).
	protoZeroTimestampRule = "proto-zero-timestamp"
	// oneTimestampRule: a histogram (gauge histogram too) or summary has one timestamp in
	// OpenMetrics and protobuf; a text one whose samples have different
	// timestamps is left out for its source.
	oneTimestampRule = "one-timestamp"
	// uncarriedRule: no OpenMetrics or protobuf histogram or summary can
	// carry a text or OpenMetrics plain sample under its TYPE, a bucket
	// without le, or a count or sum with le (or quantile).
	uncarriedRule = "uncarried-sample"
	// exemplarPlaceRule: OpenMetrics and protobuf output carry exemplars
	// on counters and histogram (and gauge histogram) buckets only;
	// protobuf has no exemplar anywhere else, nor has expfmt's
	// OpenMetrics writer.
	exemplarPlaceRule = "exemplar-place"
	// startRangeRule: a start (created) timestamp no nanosecond time holds
	// (past 2262, before 1678, NaN) is left out of OpenMetrics output
	// (expfmt writes it through nanoseconds), one past the milliseconds of
	// an int64 out of protobuf output.
	startRangeRule = "start-range"
	// omUnknownStartRule: a counter whose series' name does not end in
	// _total (a protobuf source's) is written to OpenMetrics as a family
	// of type unknown (an OpenMetrics counter's samples end in _total),
	// which has no start (created) timestamp: its series' are left out of
	// OpenMetrics output, and so are a gauge histogram's, which has none in
	// OpenMetrics either.
	omUnknownStartRule = "om-unknown-start"
	// oneStartRule: a histogram (gauge histogram too) or summary has one
	// start (created) timestamp in OpenMetrics and protobuf; a bucket or
	// quantile that a later protobuf message of a series adds under
	// another start timestamp is written with the first message's.
	oneStartRule = "one-start"
	// protoExemplarRangeRule: an exemplar whose timestamp is past the
	// milliseconds of an int64 (Prometheus' OpenMetrics parser reads the
	// overflow of its conversion, -2^63 on amd64) is left out of protobuf
	// output, whose exemplar timestamp Prometheus reads as milliseconds of
	// an int64.
	protoExemplarRangeRule = "proto-exemplar-range"
	// gaugeHistogramNamesRule: Prometheus reads a protobuf gauge
	// histogram's count and sum as _count and _sum, an OpenMetrics one's
	// as _gcount and _gsum; each output names them its way.
	gaugeHistogramNamesRule = "gauge-histogram-names"
	// gaugeHistogramLeRule: OpenMetrics and protobuf output write a gauge
	// histogram's le as a canonical number (1.0), as the OpenMetrics spec
	// has it and as Prometheus reads a histogram's le from any format; it
	// reads a gauge histogram's le from OpenMetrics as written (1).
	gaugeHistogramLeRule = "gauge-histogram-le"
	// negativeCountRule: a protobuf histogram (gauge histogram too) with
	// a negative float count, bucket or total, as Prometheus reads it
	// classic, is left out for its source of every output: text cannot
	// carry it (expfmt refuses it), OpenMetrics 1.0 has no float counts,
	// and corral merges a protobuf source through text.
	negativeCountRule = "negative-count"
)

// negativeCounts gives the histograms of a protobuf body that have a
// negative count (a bucket's or the total) as Prometheus reads them
// classic, as corral's text of the body writes them.
func negativeCounts(contentType string, body []byte) map[string]bool {
	negative := map[string]bool{}
	if exposition.FormatOf(contentType) != exposition.Protobuf {
		return negative
	}
	in, err := Parse(contentType, body, Classic)
	if err != nil {
		return negative
	}
	types := Types(contentType, body)
	for _, s := range in {
		n := s.Labels.Get(model.MetricNameLabel)
		if t := types[s.Family]; (t == model.MetricTypeHistogram || t == model.MetricTypeGaugeHistogram) &&
			(n == s.Family+"_bucket" || n == s.Family+"_count") && s.Value < 0 {
			negative[s.Family] = true
		}
	}
	return negative
}

// Types gives the TYPE Prometheus reads for each family of body.
func Types(contentType string, body []byte) map[string]model.MetricType {
	types := map[string]model.MetricType{}
	p, err := textparse.New(body, contentType, labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil || p == nil {
		return types
	}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) || err != nil {
			return types
		}
		if et == textparse.EntryType {
			name, typ := p.Type()
			types[string(name)] = typ
		}
	}
}

// Units gives the unit Prometheus reads for each family of body that has
// one.
func Units(contentType string, body []byte) map[string]string {
	units := map[string]string{}
	p, err := textparse.New(body, contentType, labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil || p == nil {
		return units
	}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) || err != nil {
			return units
		}
		if et == textparse.EntryUnit {
			if name, unit := p.Unit(); len(unit) > 0 {
				units[string(name)] = string(unit)
			}
		}
	}
}

// documentedConflict tells whether conflict c is one the README documents
// for out and the input (its series in, its families' types) shows its
// reason; then it gives the rule and the family (as in the input, as
// Series.Family names it) left out.
func documentedConflict(c exposition.Conflict, in []Series, types map[string]model.MetricType, negative map[string]bool, om bool, out Output) (rule, family string) {
	scheme := out.Format.ToEscapingScheme()
	if strings.HasPrefix(c.Reason, "a count is negative, which text cannot carry") {
		if fam := unescapedFamily(c.Family, types, scheme); negative[fam] {
			return negativeCountRule, fam
		}
		return "", ""
	}
	if strings.HasSuffix(c.Reason, "are the same once escaped") && scheme != model.NoEscaping {
		for _, s := range in {
			if s.Family == c.Family && escapedTwice(s, scheme) {
				return escapedLabelsRule, c.Family
			}
		}
		return "", ""
	}
	if m := escapedNames.FindStringSubmatch(c.Reason); m != nil {
		left, err1 := strconv.Unquote(m[1])
		kept, err2 := strconv.Unquote(m[2])
		if err1 != nil || err2 != nil || left == kept ||
			written(types, om, left, scheme) != c.Family || written(types, om, kept, scheme) != c.Family ||
			!named(in, types, left) && left != kept+"_total" && left != kept+"_info" || !named(in, types, kept) {
			// (A family named as a counter's samples may have no series
			// but duplicates of the counter's.)
			return "", ""
		}
		return escapedNamesRule, left
	}
	if m := partMissing.FindStringSubmatch(c.Reason); m != nil && out.Format.FormatType() != expfmt.TypeTextPlain {
		fam := unescapedFamily(c.Family, types, scheme)
		if lacks(in, types, fam, m[1], scheme) {
			return partMissingRule, fam
		}
		return "", ""
	}
	if strings.HasPrefix(c.Reason, "the samples of a series have different timestamps, which ") && out.Format.FormatType() != expfmt.TypeTextPlain {
		fam := unescapedFamily(c.Family, types, scheme)
		if mixedTimestamps(in, types, fam, scheme) {
			return oneTimestampRule, fam
		}
		return "", ""
	}
	if scheme == model.NoEscaping && out.Format.FormatType() != expfmt.TypeProtoDelim {
		nul := strings.HasSuffix(c.Reason, "holds a NUL byte, which a text format with UTF-8 names cannot carry")
		colon := strings.HasSuffix(c.Reason, "holds ':', which OpenMetrics output with UTF-8 names cannot carry") && out.Format.FormatType() == expfmt.TypeOpenMetrics
		for _, s := range in {
			if s.Family != c.Family {
				continue
			}
			found := false
			s.Labels.Range(func(l labels.Label) {
				found = found || nul && strings.ContainsRune(l.Name, 0) || nul && l.Name == model.MetricNameLabel && strings.ContainsRune(l.Value, 0) ||
					colon && l.Name != model.MetricNameLabel && strings.ContainsRune(l.Name, ':')
			})
			if found {
				return utf8NamesRule, c.Family
			}
		}
	}
	if out.Format.FormatType() != expfmt.TypeOpenMetrics {
		return "", ""
	}
	switch {
	case strings.HasSuffix(c.Reason, "OpenMetrics 1.0 has no float histograms"),
		strings.Contains(c.Reason, "OpenMetrics v1.0 does not support float histogram"): // expfmt's, of a protobuf one
		fam := unescapedFamily(c.Family, types, scheme)
		if types[fam] != model.MetricTypeHistogram && types[fam] != model.MetricTypeGaugeHistogram {
			return "", ""
		}
		for _, s := range in {
			n := s.Labels.Get(model.MetricNameLabel)
			if (n == fam+"_bucket" || n == fam+"_count") && (s.Value != math.Trunc(s.Value) || s.Value >= 1<<63) { // NaN and +Inf too
				return omFloatHistogramRule, fam
			}
		}
	case strings.Contains(c.Reason, "its OpenMetrics name collides with family"),
		strings.Contains(c.Reason, "its OpenMetrics samples collide with family"):
		// The counter as the input names it: c.Family is its output name,
		// escaped, with _total for an OpenMetrics source's.
		fam := c.Family
		if types[fam] != model.MetricTypeCounter {
			fam = ""
			for _, name := range slices.Sorted(maps.Keys(types)) {
				if types[name] == model.MetricTypeCounter && (model.EscapeName(name, scheme) == c.Family || model.EscapeName(name+"_total", scheme) == c.Family) {
					fam = name
					break
				}
			}
		}
		other := c.Family + "_total"
		if base, ok := strings.CutSuffix(c.Family, "_total"); ok {
			other = base
		}
		if fam == "" || !slices.ContainsFunc(in, func(s Series) bool { return model.EscapeName(s.Family, scheme) == other }) {
			return "", ""
		}
		return omCounterNameRule, fam
	}
	return "", ""
}

// escapedNames is the reason of a conflict between two families of a
// source whose names are the same once escaped: the one left out, then
// the one kept.
var escapedNames = regexp.MustCompile(`^[a-z]+ ("(?:[^"\\]|\\.)*") has the name of [a-z]+ ("(?:[^"\\]|\\.)*") once (?:escaped|written \(an OpenMetrics counter's or info's name takes its suffix\))$`)

// written is the name family fam of an input (OpenMetrics: om) is merged
// under: escaped, and for an OpenMetrics counter or info, whose samples
// are fam_total or fam_info, that name.
func written(types map[string]model.MetricType, om bool, fam string, scheme model.EscapingScheme) string {
	switch {
	case om && types[fam] == model.MetricTypeCounter:
		fam += "_total"
	case om && types[fam] == model.MetricTypeInfo:
		fam += "_info"
	}
	return model.EscapeName(fam, scheme)
}

// partMissing is the reason of a conflict over a part of a histogram or
// summary that is missing.
var partMissing = regexp.MustCompile(`^a series has no (\+Inf bucket|_g?count|_g?sum), which [a-z]+ cannot leave out$`)

// unescapedFamily gives the family of types that family, as a conflict
// names it (escaped per scheme), is.
func unescapedFamily(family string, types map[string]model.MetricType, scheme model.EscapingScheme) string {
	for name := range types {
		if model.EscapeName(name, scheme) == family {
			return name
		}
	}
	return family
}

// lacks tells whether a series of histogram or summary fam in in (its
// samples grouped by their labels other than le and quantile) has no
// sample of part: "+Inf bucket", "_count" or "_sum".
func lacks(in []Series, types map[string]model.MetricType, fam, part string, scheme model.EscapingScheme) bool {
	typ := types[fam]
	if typ != model.MetricTypeHistogram && typ != model.MetricTypeSummary && typ != model.MetricTypeGaugeHistogram {
		return false
	}
	has := map[string]bool{} // a series' labels, and with part when it has it
	for _, s := range in {
		n := s.Labels.Get(model.MetricNameLabel)
		if s.Family != fam {
			continue
		}
		key := seriesOf(s.Labels, types[fam], scheme)
		if _, ok := has[key]; !ok {
			has[key] = false
		}
		switch {
		case part == "+Inf bucket" && n == fam+"_bucket" && s.Labels.Get(model.BucketLabel) != "" && isInf(s.Labels.Get(model.BucketLabel)),
			part == "_count" && n == fam+"_count", part == "_gcount" && n == fam+"_gcount",
			part == "_sum" && n == fam+"_sum", part == "_gsum" && n == fam+"_gsum":
			has[key] = true
		}
	}
	for _, ok := range has {
		if !ok {
			return true
		}
	}
	return false
}

// mixedTimestamps tells whether a series of histogram or summary fam in in
// (its samples grouped by their labels other than le and quantile) has
// samples with different timestamps, or with and without one.
func mixedTimestamps(in []Series, types map[string]model.MetricType, fam string, scheme model.EscapingScheme) bool {
	if typ := types[fam]; typ != model.MetricTypeHistogram && typ != model.MetricTypeGaugeHistogram && typ != model.MetricTypeSummary {
		return false
	}
	seen := map[string]string{}
	for _, s := range in {
		if s.Family != fam {
			continue
		}
		key := seriesOf(s.Labels, types[fam], scheme)
		ts := showTimestamp(s.Timestamp)
		if prev, ok := seen[key]; ok && prev != ts {
			return true
		}
		seen[key] = ts
	}
	return false
}

// seriesOf keys the series of a sample of a histogram or summary (of type
// typ) by its labels other than __name__ and its bound, le or quantile,
// their names as scheme escapes them (series the same once escaped are
// one in the output), an empty value too (as
// Prometheus' parser gives labels, and corral and expfmt group a
// family's samples; labels.Builder would drop it).
func seriesOf(ls labels.Labels, typ model.MetricType, scheme model.EscapingScheme) string {
	bound := model.BucketLabel // le is a histogram's bound, quantile a summary's; of the other type, a label
	if typ == model.MetricTypeSummary {
		bound = model.QuantileLabel
	}
	b := labels.NewScratchBuilder(ls.Len())
	ls.Range(func(l labels.Label) {
		if l.Name != model.MetricNameLabel && l.Name != bound {
			b.Add(escapeLabelName(l.Name, scheme), l.Value)
		}
	})
	return b.Labels().String()
}

// isInf tells whether le is +Inf as Prometheus reads it.
func isInf(le string) bool {
	f, err := strconv.ParseFloat(le, 64)
	return err == nil && math.IsInf(f, 1)
}

// escapedTwice tells whether two label names of s are the same once
// escaped per scheme.
func escapedTwice(s Series, scheme model.EscapingScheme) bool {
	seen := map[string]bool{}
	twice := false
	s.Labels.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			return
		}
		n := escapeLabelName(l.Name, scheme)
		twice = twice || seen[n]
		seen[n] = true
	})
	return twice
}

// named tells whether the input names family fam: in a TYPE line, or
// in a series.
func named(in []Series, types map[string]model.MetricType, fam string) bool {
	_, ok := types[fam]
	return ok || hasFamily(in, types, fam)
}

// hasFamily tells whether in holds a series of family fam.
func hasFamily(in []Series, types map[string]model.MetricType, fam string) bool {
	for _, s := range in {
		if s.Family == fam {
			return true
		}
	}
	return false
}

// A familyReader gives the family each series of a body is grouped in, as
// corral groups them (and Prometheus reads them: a TYPE line types the
// samples after it): a series named like a member of the family of the
// last TYPE line (_bucket, _sum, _count of a histogram...) is of that
// family, even after series of other names, except in text where a family
// of its exact name came before (as expfmt reads it); any other series is
// of the family of its own name.
type familyReader struct {
	om     bool
	proto  bool
	block  string // the family of the last TYPE line
	typ    model.MetricType
	exists map[string]bool // the families named so far
}

func newFamilyReader(contentType string) *familyReader {
	format := exposition.FormatOf(contentType)
	return &familyReader{om: format == exposition.OpenMetrics, proto: format == exposition.Protobuf, exists: map[string]bool{}}
}

// typed reads a TYPE line.
func (r *familyReader) typed(name string, typ model.MetricType) {
	r.block, r.typ, r.exists[name] = name, typ, true
}

// named reads a HELP or UNIT line.
func (r *familyReader) named(name string) { r.exists[name] = true }

// of gives the family of a series named n.
func (r *familyReader) of(n string) string {
	typ := r.typ
	if r.proto && typ == model.MetricTypeGaugeHistogram {
		typ = model.MetricTypeHistogram // Prometheus' protobuf parser names its series as a histogram's
	}
	if suffix, ok := strings.CutPrefix(n, r.block); ok && r.block != "" && member(typ, suffix, r.om) && (r.om || !r.exists[n]) {
		return r.block
	}
	r.exists[n] = true
	return n
}

// member tells whether a family of type t has members with suffix.
func member(t model.MetricType, suffix string, om bool) bool {
	switch t {
	case model.MetricTypeHistogram:
		return suffix == "_bucket" || suffix == "_sum" || suffix == "_count" || om && suffix == "_created"
	case model.MetricTypeSummary:
		return suffix == "_sum" || suffix == "_count" || om && suffix == "_created"
	}
	if !om {
		return false
	}
	switch t {
	case model.MetricTypeCounter:
		return suffix == "_total" || suffix == "_created"
	case model.MetricTypeGaugeHistogram:
		return suffix == "_bucket" || suffix == "_gsum" || suffix == "_gcount"
	case model.MetricTypeInfo:
		return suffix == "_info"
	}
	return false
}
