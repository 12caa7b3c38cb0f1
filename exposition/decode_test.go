package exposition

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// parsedPart is what buildPart must equal: part p of family mf written as
// the plan writes text, read back by expfmt's text parser (the decoded
// encoder's way before decode.go), with histogram buckets in the order of
// their bounds (as protobuf output must write them).
func parsedPart(m *merger, mf *mfam, p part) ([]*dto.Metric, *string, error) {
	var text bytes.Buffer
	m.ghClassic = mf.typ == GaugeHistogram
	defer func() { m.ghClassic = false }()
	m.w, m.out, m.werr = &text, m.out[:0], nil
	m.writeHeader(mf)
	m.writePart(mf, p)
	m.flush()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(&text)
	if err != nil {
		return nil, nil, err
	}
	pf := parsed[string(mf.name)]
	if pf == nil {
		return nil, nil, nil
	}
	for _, metric := range pf.Metric {
		sortBuckets(metric.Histogram)
	}
	return pf.Metric, pf.Help, nil
}

// checkBuilt holds buildPart's metrics against parsedPart's for every
// part of every family the merge of inputs in format plans.
func checkBuilt(t *testing.T, format expfmt.Format, inputs []Input) {
	t.Helper()
	m := newMerger()
	defer m.release()
	m.opts, m.scheme = Options{Label: "exporter", Format: format}, format.ToEscapingScheme()
	m.decoded = true
	m.prepare(inputs, true)
	m.collect()
	m.plan()
	m.synthesize()
	m.sortFamilies()
	for i := range m.fams {
		mf := &m.fams[i]
		m.slabs.reset()
		help, herr := m.helpText(mf)
		for _, p := range mf.parts {
			want, wantHelp, werr := parsedPart(m, mf, p)
			m.ghClassic = mf.typ == GaugeHistogram
			have, err := m.buildPart(mf, p, nil)
			m.ghClassic = false
			if (err != nil) != (werr != nil) {
				t.Fatalf("family %s of %s: error %v, want %v", mf.name, p.src.in.Name, err, werr)
			}
			if err != nil {
				continue
			}
			if h, w := (&dto.MetricFamily{Help: help}), (&dto.MetricFamily{Help: wantHelp}); len(want) > 0 && (herr != nil || !proto.Equal(h, w)) {
				t.Errorf("family %s: help %v (%v), want %v", mf.name, h, herr, w)
			}
			if len(have) != len(want) {
				t.Fatalf("family %s of %s: %d metrics, want %d:\nhave %v\nwant %v", mf.name, p.src.in.Name, len(have), len(want), have, want)
			}
			for j := range want {
				if !proto.Equal(have[j], want[j]) {
					t.Errorf("family %s of %s, metric %d:\nhave %v\nwant %v", mf.name, p.src.in.Name, j, have[j], want[j])
				}
			}
		}
	}
}

var buildFormats = []expfmt.Format{fmtOM, fmtProto, expfmt.FmtOpenMetrics_1_0_0, expfmt.FmtProtoDelim.WithEscapingScheme(model.DotsEscaping)}

// TestBuildMatchesParse: the decoded encoder's families are the ones the
// text parser read from the planned text, for the fixtures and the
// conformance suite's vectors, each merged alone and beside a second
// source with labels to escape.
func TestBuildMatchesParse(t *testing.T) {
	files, err := filepath.Glob("../conformance/testdata/vectors/*")
	if err != nil {
		t.Fatal(err)
	}
	fixtures, _ := filepath.Glob("testdata/*.*")
	inputs, _ := filepath.Glob("testdata/inputs/*")
	files = append(append(files, fixtures...), inputs...)
	cts := map[string]string{".prom": ctText, ".om": ctOM, ".txt": ctOM, ".pb": ctProto}
	n := 0
	for _, f := range files {
		ct, ok := cts[filepath.Ext(f)]
		if !ok {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, format := range buildFormats {
			checkBuilt(t, format, []Input{{Name: "a", ContentType: ct, Body: body, Labels: map[string]string{"x": "q\"\\\nz"}}})
			checkBuilt(t, format, []Input{{Name: "a", ContentType: ct, Body: body}, {Name: "b", ContentType: ct, Body: body}})
		}
	}
	if n < 300 {
		t.Fatalf("%d bodies read, want the conformance vectors and fixtures", n)
	}
}

func FuzzBuild(f *testing.F) {
	for _, name := range append([]string{"histograms.prom", "summary.prom", "escapes.prom", "exemplars.om.txt"}, mergeSeeds(f)...) {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 0.5\nh_bucket{le=\"+Inf\"} 1.5\nh_sum 1\nh_count 1.5\nh 3\n"))
	f.Add([]byte("# TYPE q summary\nq{b=\"1\",a=\"2\",quantile=\"0.5\"} 1\nq_count{a=\"2\",b=\"1\"} 2\nq_sum{b=\"1\",a=\"2\"} 3 17\n"))
	f.Add([]byte(goodOM))
	f.Add([]byte("m{a=\"\xff\"} 1\nm{\"\xfe\"=\"1\"} 2\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{ctText, ctOM} {
			for _, format := range buildFormats {
				checkBuilt(t, format, []Input{{Name: "a", ContentType: ct, Body: body, Labels: map[string]string{"role": "x"}}, {Name: "b", ContentType: ctOM, Body: []byte(goodOM)}})
			}
		}
	})
}

// TestDecodedOutputAllocates: an OpenMetrics or protobuf merge of a text
// source allocates a small multiple of the body, as text output does
// (issue 15: building each family by parsing its text back allocated
// 12-15 times the body).
func TestDecodedOutputAllocates(t *testing.T) {
	const series = 20000
	body := syntheticBody(series, "app")
	ins := []Input{{Name: "big", ContentType: ctText, Body: body}}
	for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
		// One merger of its own, as the pool gives a busy gateway (under
		// the race detector the pool drops what it is given at random).
		var out bytes.Buffer
		m := newMerger()
		merge := func() {
			out.Reset()
			if _, err := m.merge(&out, Options{Label: "exporter", Format: format}, ins); err != nil {
				t.Fatal(err)
			}
		}
		merge() // the pool's merger grows its tables
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		allocs := testing.AllocsPerRun(3, merge)
		runtime.ReadMemStats(&after)
		perBody := float64(after.TotalAlloc-before.TotalAlloc) / 4 / float64(len(body)) // AllocsPerRun runs once more
		t.Logf("%s: %.2fx the body, %.0f allocations", format, perBody, allocs)
		// The race detector's instrumentation about doubles the count;
		// .ci/run also runs this test without it, where the bound is one.
		perSeries := 1
		if raceEnabled {
			perSeries = 2
		}
		if perBody > 3 || allocs > float64(perSeries*series) {
			t.Errorf("%s: a merge of %d bytes allocates %.2fx the body in %.0f allocations, want at most 3x in %d a series", format, len(body), perBody, allocs, perSeries)
		}
	}
}

// TestSlab: values come zeroed, handed-out ones are not handed out again
// before reset, and release leaves nothing pointing anywhere.
func TestSlab(t *testing.T) {
	var s slab[*int]
	x := 1
	var all [][]*int
	for n := 1; n < 600; n += 97 {
		b := s.take(n)
		for i := range b {
			if b[i] != nil {
				t.Fatalf("take(%d)[%d] = %v, want nil", n, i, b[i])
			}
			b[i] = &x
		}
		all = append(all, b)
	}
	for _, b := range all {
		for i := range b {
			if b[i] != &x {
				t.Fatal("a value handed out was handed out again")
			}
		}
	}
	chunks := s.chunks[:cap(s.chunks)]
	s.release(1)
	if len(s.chunks) != 1 {
		t.Errorf("%d chunks kept, want 1", len(s.chunks))
	}
	for i, c := range chunks {
		if c != nil && i >= 1 {
			t.Errorf("chunk %d still held", i)
		}
		for _, p := range c {
			if i < 1 && p != nil {
				t.Errorf("chunk %d kept with a pointer", i)
			}
		}
	}
}
