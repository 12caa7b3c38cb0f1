package exposition

import (
	"fmt"
	"slices"
	"strconv"
)

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

// synthesize adds corral_source_samples, _scrape_duration_seconds and _up,
// labelled with every source, as one more scanned body.
func (m *merger) synthesize() {
	b := &m.synthB
	b.Reset()
	label := m.opts.Label
	write := func(name, help string, value func(s *origin) []byte) {
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
	write(samplesFamily, "Samples the source contributed to this merged scrape.", func(s *origin) []byte {
		return strconv.AppendInt(m.num[:0], int64(s.samples), 10)
	})
	write(durationFamily, "How long the source took to scrape for this merged scrape.", func(s *origin) []byte {
		return strconv.AppendFloat(m.num[:0], s.in.Duration.Seconds(), 'g', -1, 64)
	})
	write(upFamily, "1 if the source was scraped and its exposition was valid, else 0.", func(s *origin) []byte {
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
		mf.name, mf.root, mf.typ = f.name, f.name, Gauge
		mf.help = m.synth.sc.body[f.help.lo:f.help.hi]
		mf.parts = append(mf.parts, part{&m.synth, int32(fi)})
	}
}
