package exposition

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// protoToText writes a delimited protobuf body as text 0.0.4, UTF-8 names
// quoted, for the text path.
func protoToText(dst *bytes.Buffer, body []byte) error {
	return decodeProto(body, func(mf *dto.MetricFamily) error {
		_, err := expfmt.MetricFamilyToText(dst, mf)
		return err
	})
}

// toText writes one text or OpenMetrics input as text 0.0.4, validated,
// without labels added: OpenMetrics counters get their _total name, _created
// lines go, UTF-8 names stay quoted.
func toText(dst *bytes.Buffer, in Input) error {
	m := mergers.Get().(*merger)
	defer m.release()
	m.opts = Options{Format: expfmt.FmtText.WithEscapingScheme(model.NoEscaping)}
	m.scheme = model.NoEscaping
	m.prepare([]Input{in}, true)
	if err := m.srcs[0].err; err != nil {
		return err
	}
	m.collect()
	m.plan()
	return m.write(dst)
}

// mergeDecoded is the merge for OpenMetrics and protobuf output: every
// source decoded into dto.MetricFamily (protobuf input as it is, so native
// histograms and exemplars survive), relabelled, joined and encoded by
// expfmt.
func mergeDecoded(w io.Writer, opts Options, inputs []Input) (Report, error) {
	scheme := opts.Format.ToEscapingScheme()
	report := Report{Sources: make([]SourceReport, len(inputs))}
	order := make([]int, len(inputs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return inputs[order[a]].Name < inputs[order[b]].Name })

	byName := map[string]*dto.MetricFamily{}
	var names []string
	seen := map[string]map[string]bool{}
	from := map[string][]string{} // family: the sources that have series in it
	// dropped leaves out family name, of every source that had it.
	dropped := func(name, reason string) {
		for _, src := range from[name] {
			report.Conflicts = append(report.Conflicts, Conflict{src, name, reason})
		}
		delete(byName, name)
	}
	for _, i := range order {
		in := &inputs[i]
		rep := &report.Sources[i]
		rep.Name = in.Name
		if in.Err != nil {
			rep.Err = in.Err
			continue
		}
		fams, err := decodeInput(in)
		if err != nil {
			rep.Err = fmt.Errorf("invalid exposition: %w", err)
			continue
		}
		rep.Up = true
		for _, mf := range fams {
			name := model.EscapeName(mf.GetName(), scheme)
			switch {
			case Synthetic(name):
				report.Conflicts = append(report.Conflicts, Conflict{in.Name, name, "name reserved for corral's per-source metrics"})
				continue
			}
			have, ok := byName[name]
			if !ok {
				have = &dto.MetricFamily{Name: proto.String(name), Help: mf.Help, Type: mf.Type, Unit: mf.Unit}
				byName[name] = have
				names = append(names, name)
				seen[name] = map[string]bool{}
			} else if have.GetType() != mf.GetType() {
				report.Conflicts = append(report.Conflicts, Conflict{in.Name, name,
					fmt.Sprintf("type %s conflicts with type %s of an earlier source", typeOf(mf.GetType()), typeOf(have.GetType()))})
				continue
			}
			if have.Help == nil {
				have.Help = mf.Help
			}
			if f := from[name]; len(f) == 0 || f[len(f)-1] != in.Name {
				from[name] = append(f, in.Name)
			}
			for _, metric := range mf.Metric {
				relabel(metric, opts.Label, in)
				key := signature(metric)
				if seen[name][key] {
					rep.Duplicates++
					continue
				}
				seen[name][key] = true
				have.Metric = append(have.Metric, metric)
				rep.Samples += samplesOf(have.GetType(), metric)
			}
		}
	}
	// A family named like a member of a summary or histogram leaves.
	for _, name := range names {
		mem := memberOf([]byte(name))
		if mem != memberSum && mem != memberCount && mem != memberBucket {
			continue
		}
		base, ok := byName[name[:len(name)-len(memberSuffixes[mem])]]
		if !ok || !allowed(typeFromDTO(base.GetType()), mem, false) {
			continue
		}
		dropped(name, fmt.Sprintf("collides with the series of %s %q", typeOf(base.GetType()), base.GetName()))
	}
	if opts.Format.FormatType() == expfmt.TypeOpenMetrics {
		// OpenMetrics names counter X_total as X: it must not meet a family X.
		for _, name := range names {
			mf, ok := byName[name]
			base, found := strings.CutSuffix(name, "_total")
			if !ok || !found || mf.GetType() != dto.MetricType_COUNTER {
				continue
			}
			if _, clash := byName[base]; clash {
				dropped(name, fmt.Sprintf("its OpenMetrics name collides with family %q", base))
			}
		}
	}
	for _, mf := range synthetic(opts.Label, inputs, report.Sources) {
		byName[mf.GetName()] = mf
	}
	names = names[:0]
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	enc := expfmt.NewEncoder(w, opts.Format)
	for _, name := range names {
		if len(byName[name].Metric) == 0 {
			continue
		}
		if err := enc.Encode(byName[name]); err != nil {
			return report, err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			return report, err
		}
	}
	return report, nil
}

func decodeInput(in *Input) ([]*dto.MetricFamily, error) {
	var fams []*dto.MetricFamily
	switch FormatOf(in.ContentType) {
	case Protobuf:
		err := decodeProto(in.Body, func(mf *dto.MetricFamily) error {
			fams = append(fams, mf)
			return nil
		})
		return fams, err
	case Text, OpenMetrics:
		var buf bytes.Buffer
		if err := toText(&buf, *in); err != nil {
			return nil, err
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		parsed, err := p.TextToMetricFamilies(&buf)
		if err != nil {
			return nil, err
		}
		for _, mf := range parsed {
			fams = append(fams, mf)
		}
		sort.Slice(fams, func(a, b int) bool { return fams[a].GetName() < fams[b].GetName() })
		return fams, nil
	}
	return nil, fmt.Errorf("unsupported content type %q", in.ContentType)
}

// relabel renames the labels the merge injects (exported_*) and adds them.
func relabel(m *dto.Metric, label string, in *Input) {
	reserved := func(n string) bool {
		if n == label {
			return true
		}
		_, ok := in.Labels[n]
		return ok
	}
	has := func(n string, self int) bool {
		for j, l := range m.Label {
			if j != self && l.GetName() == n {
				return true
			}
		}
		return reserved(n)
	}
	for i, l := range m.Label {
		if !reserved(l.GetName()) {
			continue
		}
		n := l.GetName()
		for has(n, i) {
			n = "exported_" + n
		}
		m.Label[i] = &dto.LabelPair{Name: proto.String(n), Value: l.Value}
	}
	m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(label), Value: proto.String(in.Name)})
	keys := make([]string, 0, len(in.Labels))
	for k := range in.Labels {
		if k != label {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(k), Value: proto.String(in.Labels[k])})
	}
}

func signature(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.Label))
	for _, l := range m.Label {
		pairs = append(pairs, l.GetName()+"\xff"+l.GetValue())
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "\xfe")
}

func samplesOf(t dto.MetricType, m *dto.Metric) int {
	switch t {
	case dto.MetricType_SUMMARY:
		return len(m.GetSummary().GetQuantile()) + 2
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return len(m.GetHistogram().GetBucket()) + 2
	}
	return 1
}

func typeFromDTO(t dto.MetricType) Type {
	switch t {
	case dto.MetricType_COUNTER:
		return Counter
	case dto.MetricType_GAUGE:
		return Gauge
	case dto.MetricType_SUMMARY:
		return Summary
	case dto.MetricType_HISTOGRAM:
		return Histogram
	case dto.MetricType_GAUGE_HISTOGRAM:
		return GaugeHistogram
	}
	return Untyped
}

func typeOf(t dto.MetricType) string { return typeFromDTO(t).String() }

// synthetic builds corral_source_samples, _scrape_duration_seconds and _up.
func synthetic(label string, inputs []Input, reps []SourceReport) []*dto.MetricFamily {
	gauge := func(name, help string, value func(i int) float64) *dto.MetricFamily {
		mf := &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum()}
		order := make([]int, len(inputs))
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return inputs[order[a]].Name < inputs[order[b]].Name })
		for _, i := range order {
			mf.Metric = append(mf.Metric, &dto.Metric{
				Label: []*dto.LabelPair{{Name: proto.String(label), Value: proto.String(inputs[i].Name)}},
				Gauge: &dto.Gauge{Value: proto.Float64(value(i))},
			})
		}
		return mf
	}
	return []*dto.MetricFamily{
		gauge(samplesFamily, "Samples the source contributed to this merged scrape.", func(i int) float64 { return float64(reps[i].Samples) }),
		gauge(durationFamily, "How long the source took to scrape for this merged scrape.", func(i int) float64 { return inputs[i].Duration.Seconds() }),
		gauge(upFamily, "1 if the source was scraped and its exposition was valid, else 0.", func(i int) float64 {
			if reps[i].Up {
				return 1
			}
			return 0
		}),
	}
}
