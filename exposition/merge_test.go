package exposition

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata/golden")

const (
	fmtText  = expfmt.FmtText + "; escaping=underscores"
	fmtUTF8  = expfmt.FmtText + "; escaping=allow-utf-8"
	fmtOM    = expfmt.FmtOpenMetrics_1_0_0 + "; escaping=underscores"
	fmtProto = expfmt.FmtProtoDelim + "; escaping=underscores"
)

// in builds an input from a fixture; a file name starting with "!" is a
// failed scrape with that error.
func in(t testing.TB, name, file string, labels ...string) Input {
	t.Helper()
	i := Input{Name: name, Duration: 25 * time.Millisecond}
	for k := 0; k+1 < len(labels); k += 2 {
		if i.Labels == nil {
			i.Labels = map[string]string{}
		}
		i.Labels[labels[k]] = labels[k+1]
	}
	if rest, ok := strings.CutPrefix(file, "!"); ok {
		i.Err = errors.New(rest)
		return i
	}
	i.Body = readFixture(t, file)
	switch {
	case strings.HasSuffix(file, ".pb"):
		i.ContentType = ctProto
	case strings.HasSuffix(file, ".om.txt"):
		i.ContentType = ctOM
	default:
		i.ContentType = ctText
	}
	return i
}

func TestMergeGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format expfmt.Format
		inputs func(t testing.TB) []Input
		// wantDown lists the sources reported down, wantConflicts the families dropped.
		wantDown      []string
		wantConflicts []string
	}{
		{"node_histograms_summary", fmtText, func(t testing.TB) []Input {
			return []Input{in(t, "node", "node_exporter.prom"), in(t, "app", "histograms.prom", "role", "web"), in(t, "rpc", "summary.prom")}
		}, nil, nil},
		{"type_conflict", fmtText, func(t testing.TB) []Input {
			return []Input{in(t, "b", "inputs/conflict_b.prom"), in(t, "a", "inputs/conflict_a.prom")}
		}, nil, []string{"b/shared_metric"}},
		{"bad_inputs", fmtText, func(t testing.TB) []Input {
			return []Input{
				in(t, "garbage", "inputs/garbage.prom"), in(t, "truncated", "inputs/truncated.prom"),
				in(t, "empty", "inputs/empty.prom"), in(t, "duphelp", "inputs/duplicate_help.prom"),
				in(t, "latetype", "inputs/type_after_samples.prom"), in(t, "hangs", "!context deadline exceeded"),
				in(t, "good", "summary.prom"),
			}
		}, []string{"duphelp", "garbage", "hangs", "latetype", "truncated"}, nil},
		{"tricky_inputs", fmtText, func(t testing.TB) []Input {
			return []Input{
				in(t, "suffix", "inputs/suffix_families.prom"), in(t, "labelled", "inputs/exporter_label.prom", "role", "db", "instance", "static"),
				in(t, "dupes", "inputs/duplicate_series.prom"), in(t, "split", "inputs/split_family.prom"),
				in(t, "values", "inputs/values.prom"), in(t, "escapes", "escapes.prom"),
			}
		}, nil, nil},
		{"suffix_collision", fmtText, func(t testing.TB) []Input {
			return []Input{in(t, "a", "summary.prom"), in(t, "b", "inputs/suffix_families.prom")}
		}, nil, nil},
		{"utf8_underscores", fmtText, func(t testing.TB) []Input {
			return []Input{in(t, "utf8", "inputs/utf8_names.prom"), in(t, "node", "node_exporter.prom")}
		}, nil, nil},
		{"utf8_allowed", fmtUTF8, func(t testing.TB) []Input {
			return []Input{in(t, "utf8", "inputs/utf8_names.prom")}
		}, nil, nil},
		{"openmetrics_input", fmtText, func(t testing.TB) []Input {
			return []Input{in(t, "om", "exemplars.om.txt"), in(t, "pb", "native_histograms.pb")}
		}, nil, nil},
		{"all_down", fmtText, func(t testing.TB) []Input {
			return []Input{in(t, "a", "!connection refused"), in(t, "b", "!context deadline exceeded")}
		}, []string{"a", "b"}, nil},
		{"openmetrics_output", fmtOM, func(t testing.TB) []Input {
			return []Input{in(t, "om", "exemplars.om.txt"), in(t, "pb", "native_histograms.pb"), in(t, "rpc", "summary.prom"),
				in(t, "b", "inputs/conflict_b.prom"), in(t, "a", "inputs/conflict_a.prom"), in(t, "x", "inputs/garbage.prom")}
		}, []string{"x"}, []string{"b/shared_metric"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inputs := tc.inputs(t)
			var out bytes.Buffer
			rep, err := Merge(&out, Options{Label: "exporter", Format: tc.format}, inputs)
			if err != nil {
				t.Fatal(err)
			}
			var down, conflicts []string
			for _, s := range rep.Sources {
				if !s.Up {
					down = append(down, s.Name)
				}
			}
			for _, c := range rep.Conflicts {
				if !strings.Contains(c.Reason, "collides") {
					conflicts = append(conflicts, c.Source+"/"+c.Family)
				}
			}
			slicesSort(down)
			if fmt.Sprint(down) != fmt.Sprint(tc.wantDown) {
				t.Errorf("down: want %v, have %v (%+v)", tc.wantDown, down, rep.Sources)
			}
			if fmt.Sprint(conflicts) != fmt.Sprint(tc.wantConflicts) {
				t.Errorf("conflicts: want %v, have %v", tc.wantConflicts, conflicts)
			}
			checkParses(t, tc.format, out.Bytes())
			ext := ".prom"
			if tc.format == fmtOM {
				ext = ".om.txt"
			}
			golden := filepath.Join("testdata", "golden", tc.name+ext+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(want, out.Bytes()) {
				t.Errorf("output differs from %s (run with -update to accept):\n%s", golden, firstDiff(want, out.Bytes()))
			}
			if ext == ".prom" && tc.format != fmtUTF8 { // Debian's promtool 2.42 predates UTF-8 names
				promtool(t, golden)
			}
		})
	}
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func firstDiff(want, have []byte) string {
	wl, hl := strings.Split(string(want), "\n"), strings.Split(string(have), "\n")
	for i := 0; i < len(wl) || i < len(hl); i++ {
		var w, h string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(hl) {
			h = hl[i]
		}
		if w != h {
			return fmt.Sprintf("line %d:\nwant %q\nhave %q", i+1, w, h)
		}
	}
	return "same lines"
}

// checkParses parses a merged output with expfmt: text strictly, and the
// others with the decoder or the scanner.
func checkParses(t testing.TB, format expfmt.Format, out []byte) {
	t.Helper()
	switch format.FormatType() {
	case expfmt.TypeTextPlain:
		scheme := model.LegacyValidation
		if format.ToEscapingScheme() == model.NoEscaping {
			scheme = model.UTF8Validation
		}
		p := expfmt.NewTextParser(scheme)
		if _, err := p.TextToMetricFamilies(bytes.NewReader(out)); err != nil {
			t.Fatalf("merged output does not parse: %v\n%s", err, out)
		}
		if err := Validate(ctText, out); err != nil {
			t.Fatalf("merged output fails Validate: %v", err)
		}
	case expfmt.TypeOpenMetrics:
		if err := Validate(ctOM, out); err != nil {
			t.Fatalf("merged OpenMetrics output fails Validate: %v\n%s", err, out)
		}
	case expfmt.TypeProtoDelim:
		if err := Validate(ctProto, out); err != nil {
			t.Fatalf("merged protobuf output fails Validate: %v", err)
		}
	}
}

// promtool runs Debian's promtool check metrics on a golden output: parse
// errors fail the test, lint warnings are logged.
func promtool(t *testing.T, file string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Logf("promtool not on PATH: %s not checked (CI installs it)", file)
		return
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = f
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		t.Logf("promtool lint warnings for %s: %d lines", file, bytes.Count(out, []byte("\n")))
	default:
		t.Errorf("promtool check metrics %s: %v\n%s", file, err, out)
	}
}

func TestMergeThreeNodeExporters(t *testing.T) {
	one := readFixture(t, "node_exporter.prom")
	var direct int
	for _, line := range bytes.Split(one, []byte("\n")) {
		if len(line) > 0 && line[0] != '#' {
			direct++
		}
	}
	inputs := []Input{in(t, "node1", "node_exporter.prom"), in(t, "node2", "node_exporter.prom"), in(t, "node3", "node_exporter.prom")}
	var out bytes.Buffer
	rep, err := Merge(&out, Options{Label: "exporter", Format: fmtText}, inputs)
	if err != nil {
		t.Fatal(err)
	}
	var have int
	for _, line := range bytes.Split(out.Bytes(), []byte("\n")) {
		if len(line) > 0 && line[0] != '#' {
			have++
		}
	}
	want := 3*direct + 3*3 // three copies and three synthetic families of three sources
	if have != want {
		t.Errorf("series: want %d, have %d", want, have)
	}
	for _, s := range rep.Sources {
		if s.Samples != direct || !s.Up {
			t.Errorf("%s: want up with %d samples, have %+v", s.Name, direct, s)
		}
	}
	if n := bytes.Count(out.Bytes(), []byte("# TYPE go_goroutines ")); n != 1 {
		t.Errorf("TYPE go_goroutines: want 1, have %d", n)
	}
	checkParses(t, fmtText, out.Bytes())
}

// TestMergeProtobuf checks that native histograms and exemplars of protobuf
// input survive protobuf output, and that labels are injected.
func TestMergeProtobuf(t *testing.T) {
	inputs := []Input{in(t, "native", "native_histograms.pb", "role", "api"), in(t, "rpc", "summary.prom"), in(t, "down", "!refused")}
	var out bytes.Buffer
	if _, err := Merge(&out, Options{Label: "exporter", Format: fmtProto}, inputs); err != nil {
		t.Fatal(err)
	}
	fams := map[string]*dto.MetricFamily{}
	var names []string
	if err := decodeProto(out.Bytes(), func(mf *dto.MetricFamily) error {
		fams[mf.GetName()] = mf
		names = append(names, mf.GetName())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := "[corral_source_samples corral_source_scrape_duration_seconds corral_source_up native_latency_seconds rpc_duration_seconds]"
	if fmt.Sprint(names) != want {
		t.Errorf("families: want %s, have %v", want, names)
	}
	h := fams["native_latency_seconds"].GetMetric()[0]
	if len(h.GetHistogram().GetPositiveSpan()) == 0 || h.GetHistogram().GetSchema() == 0 && len(h.GetHistogram().GetPositiveDelta()) == 0 {
		t.Errorf("native histogram lost: %v", h.GetHistogram())
	}
	var exemplars int
	for _, b := range h.GetHistogram().GetBucket() {
		if b.GetExemplar() != nil {
			exemplars++
		}
	}
	if exemplars+len(h.GetHistogram().GetExemplars()) == 0 {
		t.Error("exemplars lost")
	}
	labels := fmt.Sprint(h.GetLabel())
	if !strings.Contains(labels, `"exporter"`) || !strings.Contains(labels, `"api"`) {
		t.Errorf("labels not injected: %s", labels)
	}
	up := fams["corral_source_up"].GetMetric()
	if len(up) != 3 || up[0].GetGauge().GetValue() != 0 || up[1].GetGauge().GetValue() != 1 {
		t.Errorf("corral_source_up: %v", up)
	}
}

// FuzzMerge: for any bytes a source returns, the merged text output parses
// with expfmt, the good source stays up and, when it comes first by name
// (so that its types win), keeps every one of its series.
func FuzzMerge(f *testing.F) {
	for _, name := range append([]string{"node_exporter.prom", "histograms.prom", "summary.prom", "escapes.prom"}, mergeSeeds(f)...) {
		f.Add(readFixture(f, name))
	}
	good := readFixture(f, "summary.prom")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, fuzzName := range []string{"z-fuzz", "a-fuzz"} { // after and before "good"
			inputs := []Input{
				{Name: "good", ContentType: ctText, Body: good},
				{Name: fuzzName, ContentType: ctText, Body: body, Labels: map[string]string{"role": "x"}},
			}
			var out bytes.Buffer
			rep, err := Merge(&out, Options{Label: "exporter", Format: fmtText}, inputs)
			if err != nil {
				t.Fatal(err)
			}
			p := expfmt.NewTextParser(model.LegacyValidation)
			fams, err := p.TextToMetricFamilies(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatalf("merged output does not parse: %v\ninput %q\noutput:\n%s", err, body, out.Bytes())
			}
			var goodRep SourceReport
			for _, s := range rep.Sources {
				if s.Name == "good" {
					goodRep = s
				}
			}
			if !goodRep.Up {
				t.Fatalf("good source down: %+v", goodRep)
			}
			if fuzzName == "a-fuzz" {
				continue // its types come first: good's families may be dropped
			}
			var goodSeries int
			for _, m := range fams["rpc_duration_seconds"].GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "exporter" && l.GetValue() == "good" {
						goodSeries++
					}
				}
			}
			if goodRep.Samples == 0 || goodSeries != 2 {
				t.Fatalf("good source's rpc_duration_seconds: want 2 series, have %d (%+v)\n%s", goodSeries, goodRep, out.Bytes())
			}
		}
	})
}

// TestEscapedLabel: a label name is escaped as a metric name is, but ':'
// (valid in metric names only) is escaped too, in every scheme.
func TestEscapedLabel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scheme model.EscapingScheme
		want   string
	}{
		{"http.method", model.UnderscoreEscaping, "http_method"},
		{"h:tp.m", model.UnderscoreEscaping, "h_tp_m"},
		{"h:t_p.m", model.DotsEscaping, "h__t__p_dot_m"},
		{"h:t_p.m", model.ValueEncodingEscaping, "U__h_3a_t__p_2e_m"},
		{"a:b", model.ValueEncodingEscaping, "U__a_3a_b"},
		{"ok_name", model.UnderscoreEscaping, "ok_name"},
	} {
		if have := string(appendEscapedLabel(nil, []byte(tc.name), tc.scheme)); have != tc.want {
			t.Errorf("%q, %v: want %q, have %q", tc.name, tc.scheme, tc.want, have)
		}
		// Each must be a valid legacy label name.
		if have := appendEscapedLabel(nil, []byte(tc.name), tc.scheme); !model.LabelName(have).IsValidLegacy() {
			t.Errorf("%q, %v: %q is not a valid label name", tc.name, tc.scheme, have)
		}
	}
}

// TestMergeCollisionSources: a family left out of a decoded merge because
// its name collides (a counter's OpenMetrics name) is counted for each
// source that had series in it, never for "". A family named like a
// histogram's member (h_count beside histogram h) is not left out: no
// series of it collides.
func TestMergeCollisionSources(t *testing.T) {
	ins := []Input{
		{Name: "a", ContentType: ctText, Body: []byte("# TYPE x gauge\nx 2\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")},
		{Name: "b", ContentType: ctText, Body: []byte("# TYPE x_total counter\nx_total 3\n# TYPE h_count gauge\nh_count 4\n")},
		{Name: "c", ContentType: ctText, Body: []byte("# TYPE x_total counter\nx_total 5\n")},
	}
	var out bytes.Buffer
	rep, err := Merge(&out, Options{Label: "exporter", Format: fmtOM}, ins)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, c := range rep.Conflicts {
		have = append(have, c.Source+"/"+c.Family)
	}
	slices.Sort(have)
	if want := []string{"b/x_total", "c/x_total"}; !slices.Equal(have, want) {
		t.Errorf("conflicts: want %v, have %v (%+v)\n%s", want, have, rep.Conflicts, out.Bytes())
	}
}
