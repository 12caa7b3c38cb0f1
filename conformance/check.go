package conformance

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/corral-metrics/corral/exposition"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// The content types of the three input formats, as upstreams send them.
const (
	TextType        = "text/plain; version=0.0.4; charset=utf-8"
	OpenMetricsType = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	ProtobufType    = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)

// MergeLabel is the merge label the checks use, corral's default.
const MergeLabel = "exporter"

// An Output is one format corral's merge writes, with what it keeps.
type Output struct {
	Name      string
	Format    expfmt.Format
	View      View // how both the input and the output are read to compare them
	Exemplars bool // the format carries exemplars
	// Start: the format carries start (created) timestamps, and both the
	// input and the output are read with them (ParseStart); else both are
	// read as Prometheus does by default (Parse), OpenMetrics _created
	// lines as series.
	Start bool
}

// Outputs are the formats the gateway negotiates for the merged /metrics:
// text and OpenMetrics with names escaped to underscores (the default) and
// with UTF-8 names allowed, and delimited protobuf.
func Outputs() []Output {
	return []Output{
		{Name: "text", Format: expfmt.FmtText.WithEscapingScheme(model.UnderscoreEscaping), View: Classic},
		{Name: "text-utf8", Format: expfmt.FmtText.WithEscapingScheme(model.NoEscaping), View: Classic},
		{Name: "om", Format: expfmt.FmtOpenMetrics_1_0_0.WithEscapingScheme(model.UnderscoreEscaping), View: Classic, Exemplars: true, Start: true},
		{Name: "om-utf8", Format: expfmt.FmtOpenMetrics_1_0_0.WithEscapingScheme(model.NoEscaping), View: Classic, Exemplars: true, Start: true},
		{Name: "proto", Format: expfmt.FmtProtoDelim.WithEscapingScheme(model.NoEscaping), View: Native, Exemplars: true, Start: true},
	}
}

// Verdict compares corral's verdict on body with current Prometheus': ok
// tells whether both accept it, problem (empty when they agree) says how
// they differ, and stricter names the rule (see StricterRules) under which
// corral refuses what Prometheus accepts. For text, expfmt's parser is heard
// too where it agrees with textparse: then corral must agree with both.
func Verdict(contentType string, body []byte) (ok bool, problem, stricter string) {
	corralErr := validate(contentType, body)
	_, promErr := Parse(contentType, body, Native)
	var panicked *corralPanic
	switch {
	case errors.As(corralErr, &panicked):
		return false, panicked.Error(), ""
	case corralErr == nil && promErr != nil:
		return false, "corral accepts, Prometheus rejects: " + promErr.Error(), ""
	case corralErr != nil && promErr == nil:
		for _, r := range StricterRules() {
			if r.Applies(contentType, body) {
				return false, "", r.Name
			}
		}
		return false, "corral rejects, Prometheus accepts: " + corralErr.Error(), ""
	}
	if exposition.FormatOf(contentType) == exposition.Text {
		expErr := ParseExpfmt(body)
		if (expErr == nil) == (promErr == nil) && (expErr == nil) != (corralErr == nil) {
			return false, fmt.Sprintf("expfmt and textparse agree (%v), corral does not (%v)", expErr, corralErr), ""
		}
	}
	return corralErr == nil, "", ""
}

// CheckMerge merges body as one source and as two, in out's format, and
// says how the result fails Prometheus' reading of body: the output must
// parse in Prometheus (and, for text, in expfmt), hold no series twice, and
// hold exactly body's series with the merge label, with their values,
// timestamps, native histograms, and exemplars where out keeps them, less
// what the README says out cannot carry (documented.go). Empty means it
// does not fail.
func CheckMerge(contentType string, body []byte, out Output) string {
	p, _ := checkMerge(contentType, body, out)
	return p
}

// checkMerge is CheckMerge that also names the documented rules under which
// the output left something out.
func checkMerge(contentType string, body []byte, out Output) (problem string, rules []string) {
	read := Parse
	if out.Start {
		read = ParseStart
	}
	in, err := read(contentType, body, out.View)
	if err != nil {
		return "input rejected by Prometheus: " + err.Error(), nil
	}
	types := Types(contentType, body)
	negative := negativeCounts(contentType, body)
	if c := carried(in, contentType, types, out); len(c) != len(in) {
		in, rules = c, append(rules, uncarriedRule)
	}
	for _, sources := range [][]string{{"a"}, {"a", "b"}} {
		var inputs []exposition.Input
		for _, name := range sources {
			inputs = append(inputs, exposition.Input{Name: name, ContentType: contentType, Body: body})
		}
		var buf bytes.Buffer
		rep, err := merge(&buf, out.Format, inputs)
		if err != nil {
			return fmt.Sprintf("%d source(s): merge: %v", len(sources), err), rules
		}
		om := exposition.FormatOf(contentType) == exposition.OpenMetrics
		p, r := checkOutput(in, types, negative, om, Units(contentType, body), sources, rep, buf.Bytes(), out)
		rules = append(rules, r...)
		if p != "" {
			return fmt.Sprintf("%d source(s): %s", len(sources), p), rules
		}
	}
	slices.Sort(rules)
	return "", slices.Compact(rules)
}

// CheckAnswer merges body, which corral accepts (and Prometheus may not),
// as one source beside a good one, in out's format, and says how the
// answer fails to parse in Prometheus (and, for text, in expfmt): a source
// must never make the whole merged answer one Prometheus refuses. Empty
// means it parses.
func CheckAnswer(contentType string, body []byte, out Output) string {
	var buf bytes.Buffer
	inputs := []exposition.Input{
		{Name: "a", ContentType: contentType, Body: body},
		{Name: "good", ContentType: TextType, Body: []byte("# TYPE good gauge\ngood 1\n")},
	}
	if _, err := merge(&buf, out.Format, inputs); err != nil {
		return "merge: " + err.Error()
	}
	if out.Format.FormatType() == expfmt.TypeOpenMetrics && nulInExemplar(buf.Bytes()) {
		return "answer rejected by Prometheus: an exemplar's label name holds a NUL byte (\\x00), on which its OpenMetrics parser hangs"
	}
	if _, err := Parse(string(out.Format), buf.Bytes(), out.View); err != nil {
		return "answer rejected by Prometheus: " + err.Error()
	}
	if out.Format.FormatType() == expfmt.TypeTextPlain {
		if err := ParseExpfmt(buf.Bytes()); err != nil {
			return "answer rejected by expfmt: " + err.Error()
		}
	}
	return ""
}

func checkOutput(in []Series, types map[string]model.MetricType, negative map[string]bool, om bool, inUnits map[string]string, sources []string, rep exposition.Report, body []byte, out Output) (string, []string) {
	for _, s := range rep.Sources {
		if !s.Up {
			return fmt.Sprintf("source %s left out: %v", s.Name, s.Err), nil
		}
	}
	leftOut := map[[2]string]bool{}
	var rules, undocumented []string
	first := firstOfEach(in) // as Prometheus keeps them
	for _, c := range rep.Conflicts {
		rule, family := documentedConflict(c, first, types, negative, om, out)
		if rule == "" {
			undocumented = append(undocumented, fmt.Sprint(c))
			continue
		}
		rules = append(rules, rule)
		leftOut[[2]string{c.Source, family}] = true
	}
	if len(undocumented) > 0 {
		return fmt.Sprintf("conflicts: [%s]", strings.Join(undocumented, " ")), rules
	}
	if out.Format.FormatType() == expfmt.TypeOpenMetrics && nulInExemplar(body) {
		// Prometheus v0.316.0's OpenMetrics parser loops forever on it.
		return "output rejected by Prometheus: an exemplar's label name holds a NUL byte (\\x00), on which its OpenMetrics parser hangs", rules
	}
	read := Parse
	if out.Start {
		read = ParseStart
	}
	have, err := read(string(out.Format), body, out.View)
	if err != nil {
		return "output rejected by Prometheus: " + err.Error(), rules
	}
	if out.Format.FormatType() == expfmt.TypeTextPlain {
		if err := ParseExpfmt(body); err != nil {
			return "output rejected by expfmt: " + err.Error(), rules
		}
	}
	have = dropSynthetic(have)
	if dups := Duplicates(have); len(dups) > 0 {
		return fmt.Sprintf("output has series twice: %s", strings.Join(dups, ", ")), rules
	}
	// What a source leaves out goes before its series are escaped: of
	// two series the same once escaped, the one kept may be the second.
	var want []Series
	for _, src := range sources {
		want = append(want, Merged(leftOutOf(in, src, leftOut), []string{src}, MergeLabel, out.Format.ToEscapingScheme(), out.Exemplars)...)
	}
	if w, left := withoutOMExemplars(want, out); left {
		want, rules = w, append(rules, omExemplarRule)
	}
	if w, left := withoutUncarriedExemplars(want, types, out); left {
		want, rules = w, append(rules, exemplarPlaceRule)
	}
	if w, left := withoutFarStarts(want, out); left {
		want, rules = w, append(rules, startRangeRule)
	}
	if w, left := withoutUnknownStarts(want, types, out); left {
		want, rules = w, append(rules, omUnknownStartRule)
	}
	if w, changed := oneStartOfSeries(want, types, out); changed {
		want, rules = w, append(rules, oneStartRule)
	}
	if w, left := withoutFarExemplars(want, out); left {
		want, rules = w, append(rules, protoExemplarRangeRule)
	}
	if w, changed := canonicalGaugeHistogramLe(want, types, out); changed {
		// Two buckets of one bound ("Inf", "+Inf") are one series here:
		// the merge keeps the first.
		want, rules = firstOfEach(w), append(rules, gaugeHistogramLeRule)
	}
	if w, renamed := gaugeHistogramNames(want, types, out); renamed {
		want, rules = w, append(rules, gaugeHistogramNamesRule)
	}
	if w, had := withoutZeroTimestamps(want, out); had {
		want, rules = w, append(rules, protoZeroTimestampRule)
	}
	if p := diffUnits(in, types, inUnits, Units(string(out.Format), body), leftOut, out); p != "" {
		return p, rules
	}
	if diffs := Diff(want, have); len(diffs) > 0 {
		const most = 3
		more := ""
		if len(diffs) > most {
			more = fmt.Sprintf(" (and %d more)", len(diffs)-most)
			diffs = diffs[:most]
		}
		return strings.Join(diffs, "; ") + more, rules
	}
	return "", rules
}

// firstOfEach gives the first series of in with each label set: the one
// Prometheus keeps of a series a body holds twice.
func firstOfEach(in []Series) []Series {
	seen := map[string]bool{}
	var out []Series
	for _, s := range in {
		if k := key(s.Labels); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// nulInExemplar tells whether a line of an OpenMetrics body has a NUL byte
// after its exemplar's start.
func nulInExemplar(body []byte) bool {
	for line := range bytes.Lines(body) {
		if i := bytes.Index(line, []byte(" # {")); i >= 0 && bytes.IndexByte(line[i:], 0) >= 0 {
			return true
		}
	}
	return false
}

// A corralPanic is a panic in corral's exposition package, which the
// checks report as a problem rather than crash on.
type corralPanic struct{ value any }

func (p *corralPanic) Error() string { return fmt.Sprintf("corral panics: %v", p.value) }

// validate is exposition.Validate with a panic turned into an error.
func validate(contentType string, body []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &corralPanic{v}
		}
	}()
	return exposition.Validate(contentType, body)
}

// merge is exposition.Merge with a panic turned into an error.
func merge(w io.Writer, format expfmt.Format, inputs []exposition.Input) (rep exposition.Report, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &corralPanic{v}
		}
	}()
	return exposition.Merge(w, exposition.Options{Label: MergeLabel, Format: format}, inputs)
}

// dropSynthetic leaves out the families the merge adds itself.
func dropSynthetic(have []Series) []Series {
	out := have[:0:0]
	for _, s := range have {
		if !exposition.Synthetic(s.Labels.Get(labels.MetricName)) {
			out = append(out, s)
		}
	}
	return out
}

// diffUnits says how the units of output out (have, by the names it
// writes) differ from those of its input (want, by family): OpenMetrics
// and protobuf output carry the unit of every family written whose name
// still ends in it; text output none.
func diffUnits(in []Series, types map[string]model.MetricType, want, have map[string]string, leftOut map[[2]string]bool, out Output) string {
	if out.Format.FormatType() == expfmt.TypeTextPlain {
		if len(have) > 0 {
			return fmt.Sprintf("units in text output: %v", have)
		}
		return ""
	}
	scheme := out.Format.ToEscapingScheme()
	for fam, unit := range want {
		written := false
		for _, s := range in {
			written = written || s.Family == fam && !leftOut[[2]string{"a", fam}]
		}
		name := model.EscapeName(fam, scheme)
		u := model.EscapeName(unit, scheme)
		if !written || !strings.HasSuffix(name, "_"+u) {
			continue // not written, or its unit no longer its name's suffix
		}
		if h := cmp.Or(have[name], have[name+"_total"]); h != u {
			return fmt.Sprintf("unit of %s: want %q, have %q", fam, u, h)
		}
	}
	return ""
}
