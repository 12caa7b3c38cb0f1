package exposition

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

const (
	ctText  = "text/plain; version=0.0.4; charset=utf-8"
	ctOM    = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	ctProto = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidateFixtures(t *testing.T) {
	for _, tc := range []struct{ file, contentType string }{
		{"node_exporter.prom", ctText},
		{"node_exporter.pb", ctProto},
		{"histograms.prom", ctText},
		{"summary.prom", ctText},
		{"exemplars.om.txt", ctOM},
		{"native_histograms.pb", ctProto},
		{"escapes.prom", ctText},
	} {
		if err := Validate(tc.contentType, readFixture(t, tc.file)); err != nil {
			t.Errorf("%s: want valid, have %v", tc.file, err)
		}
	}
}

// TestValidateBad is the table of hand-made bad input: what goes in and the
// exact error that comes out.
func TestValidateBad(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body, want string
	}{
		{"garbage", ctText, "<html>oops</html>\n", `line 1: invalid metric name at "<html>oops</html>"`},
		{"truncated", ctText, "# TYPE a gauge\na 1\na{b=\"c\"} ", `line 3: missing newline at end of input (truncated body?)`},
		{"truncated label", ctText, "a{b=\"c\n", `line 1: unterminated label value`},
		{"second HELP", ctText, "# HELP a x\n# HELP a y\na 1\n", `line 2: second HELP line for metric name "a"`},
		{"second TYPE", ctText, "# TYPE a gauge\n# TYPE a counter\na 1\n", `line 2: second TYPE line for metric name "a"`},
		{"TYPE after samples", ctText, "a 1\n# TYPE a gauge\n", `line 2: TYPE line for "a" after its samples`},
		{"unknown type", ctText, "# TYPE a meter\na 1\n", `line 1: unknown metric type "meter" for "a"`},
		{"upper-case type", ctText, "# TYPE a GAUGE\na 1\n", `line 1: unknown metric type "GAUGE" for "a"`},
		{"TYPE without type", ctText, "# TYPE a\n", `line 1: TYPE line for "a" without a type`},
		{"bad value", ctText, "a one\n", `line 1: invalid value "one" for "a"`},
		{"hex float", ctText, "a 0x1p3\n", `line 1: invalid value "0x1p3" for "a"`},
		{"missing value", ctText, "a{b=\"c\"}\n", `line 1: missing value for "a"`},
		{"trailing space", ctText, "a 1 \n", `line 1: trailing whitespace after value of "a"`},
		{"bad timestamp", ctText, "a 1 1.5\n", `line 1: invalid timestamp "1.5" for "a"`},
		{"text after timestamp", ctText, "a 1 15 x\n", `line 1: unexpected text after timestamp of "a"`},
		{"bad escape", ctText, "a{b=\"\\t\"} 1\n", `line 1: invalid escape sequence in label value`},
		{"bad help escape", ctText, "# HELP a x\\y\na 1\n", `line 1: invalid escape sequence in HELP text`},
		{"__name__", ctText, "a{__name__=\"b\"} 1\n", `line 1: label name "__name__" is reserved`},
		{"duplicate label", ctText, "a{b=\"1\",b=\"2\"} 1\n", `line 1: duplicate label name "b" in "a"`},
		{"bad label name", ctText, "a{0b=\"1\"} 1\n", `line 1: invalid label name at "0b=\"1\"} 1"`},
		{"missing equals", ctText, "a{b \"1\"} 1\n", `line 1: expected '=' after label name "b"`},
		{"unquoted value", ctText, "a{b=1} 1\n", `line 1: expected '"' at start of value of label "b"`},
		{"bad metric char", ctText, "a-b 1\n", `line 1: invalid value "-b" for "a"`},
		{"invalid utf8", ctText, "a 1\nb{c=\"\xff\"} 1\n", `line 2: invalid UTF-8`},
		{"negative timestamp", ctText, "a 1 -1000\n", `line 1: invalid timestamp "-1000" for "a"`},
		{"timestamp past int64", ctText, "a 1 9223372036854775808\n", `line 1: invalid timestamp "9223372036854775808" for "a"`},
		{"signed timestamp", ctText, "a 1 +1000\n", `line 1: invalid timestamp "+1000" for "a"`},
		{"om unit not a suffix", ctOM, "# TYPE a gauge\n# UNIT a seconds\na 1\n# EOF\n", `line 2: unit "seconds" not a suffix of metric "a"`},
		{"om unit without its underscore", ctOM, "# TYPE as gauge\n# UNIT as s\nas 1\n# EOF\n", `line 2: unit "s" not a suffix of metric "as"`},
		{"om NaN timestamp", ctOM, "a 1 NaN\n# EOF\n", `line 1: invalid timestamp "NaN" for "a"`},
		{"om negative timestamp", ctOM, "a 1 -1.5\n# EOF\n", `line 1: timestamp "-1.5" for "a" out of the text format's range`},
		{"om Inf exemplar timestamp", ctOM, "# TYPE a counter\na_total 1 # {x=\"y\"} 1 +Inf\n# EOF\n", `line 2: invalid exemplar timestamp "+Inf" for "a_total"`},
		{"bad le", ctText, "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", `line 2: invalid le label value "x"`},
		{"om histogram bare sample", ctOM, "# TYPE h histogram\nh 1\n# EOF\n", `line 2: histogram "h": sample "h" must end in _bucket, _sum or _count`},
		{"negative bucket", ctText, "# TYPE h histogram\nh_bucket{le=\"1\"} -1\n", `line 2: negative count "-1" in histogram "h"`},
		{"second HELP", ctText, "# HELP a x\n# HELP a y\na 1\n", `line 2: second HELP line for metric name "a"`},
		{"bad quantile", ctText, "# TYPE s summary\ns{quantile=\"high\"} 1\n", `line 2: invalid quantile label value "high"`},
		{"metadata of a member", ctText, "# TYPE foo summary\nfoo{quantile=\"0.5\"} 1\n# TYPE foo_count gauge\n", `line 3: TYPE line for "foo_count", a member of summary "foo"`},
		{"name only in braces", ctText, "{a=\"b\"} 1\n", `line 1: metric name missing in label set`},
		{"om without EOF", ctOM, "# TYPE a gauge\na 1\n", `line 2: missing # EOF at end of OpenMetrics input (truncated body?)`},
		{"om after EOF", ctOM, "a 1\n# EOF\na 2\n", `line 3: content after # EOF`},
		{"om counter name", ctOM, "# TYPE a counter\na 1\n# EOF\n", `line 2: counter "a": sample must end in _total or _created`},
		{"om interleaved", ctOM, "a 1\nb 1\na 2\n# EOF\n", `line 3: samples of "a" are not in one block`},
		{"om bad exemplar", ctOM, "# TYPE a counter\na_total 1 # {x=\"y\"}\n# EOF\n", `line 2: invalid exemplar value for "a_total"`},
		{"om NUL in an exemplar label value", ctOM, "# TYPE a counter\na_total 1 # {x=\"y\x00\"} 1\n# EOF\n", `line 2: NUL byte in an exemplar label value for "a_total"`},
		{"om blank line", ctOM, "a 1\n\n# EOF\n", `line 2: empty line in OpenMetrics input`},
		{"om comment", ctOM, "# hello\n# EOF\n", `line 1: unexpected OpenMetrics comment "hello"`},
		{"protobuf garbage", ctProto, "\x05garbage", `protobuf message 1: proto: illegal wire type 7`},
		{"unknown content type", "text/html", "<html>", `unsupported content type "text/html"`},
	} {
		err := Validate(tc.contentType, []byte(tc.body))
		have := "<nil>"
		if err != nil {
			have = strings.ReplaceAll(err.Error(), "\u00a0", " ") // protobuf's errors randomise spaces
		}
		if have != tc.want {
			t.Errorf("%s:\nwant %s\nhave %s", tc.name, tc.want, have)
		}
	}
}

// TestValidateGood lists inputs that must pass, each also accepted by expfmt.
func TestValidateGood(t *testing.T) {
	for _, body := range []string{
		"",
		"\n\n",
		"# just a comment\n",
		"a 1\n",
		"  {\"a\"} 1\n",
		"a{} 1\n",
		"a{b=\"c\",} 1\n",
		"a { b = \"c\" , d=\"e\" } 1\n",
		"a{b=\"c\"}1\n",
		"a NaN\na{x=\"1\"} +Inf\na{x=\"2\"} -Inf\na{x=\"3\"} 1e-3 1700000000000\n",
		"a 1 0\na{x=\"1\"} 1 9223372036854775807\n",
		"# TYPE h histogram\nh 1\n",
		"# TYPE h histogram\nh_bucket 1\nh_bucket{a=\"x\"} 1\nh_count{a=\"x\"} 1\n",
		"# TYPE s summary\ns 1\ns{a=\"1\"} 1\ns_count{a=\"1\"} 1\n",
		"# HELP m\n# HELP m text\nm 1\n",
		"# HELP m \n# HELP m text\nm 1\n",
		"# HELP m text\n# HELP m\nm 1\n",
		"a{b=\"q\\\"uote\\\\back\\nnewline ünïcødé\"} 1\n",
		"# HELP a with \\\\ and \\n escapes\n# TYPE a counter\na 1\n",
		"# HELP a\na 1\n",
		"#HELPa tight\na 1\n",
		"# TYPE foo_count gauge\nfoo_count 4\n# TYPE foo summary\nfoo{quantile=\"0.5\"} 1\nfoo_sum 2\nfoo_count 3\n",
		"a 1\nb 2\na{x=\"y\"} 3\n",
		"{\"my.metric\",\"my.label\"=\"v\"} 1\n",
		"{\"quoted\\\"name\"} 1\n",
	} {
		if err := Validate(ctText, []byte(body)); err != nil {
			t.Errorf("%q: want valid, have %v", body, err)
			continue
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := p.TextToMetricFamilies(strings.NewReader(body)); err != nil {
			t.Errorf("%q: passes Validate but expfmt says %v", body, err)
		}
	}
}

// FuzzValidate checks that whatever Validate accepts as text, expfmt's text
// parser accepts too.
func FuzzValidate(f *testing.F) {
	for _, name := range []string{"node_exporter.prom", "histograms.prom", "summary.prom", "escapes.prom"} {
		f.Add(readFixture(f, name))
	}
	for _, name := range mergeSeeds(f) {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if Validate(ctText, body) != nil {
			return
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := p.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
			t.Fatalf("Validate accepted %q, expfmt says %v", body, err)
		}
	})
}

// mergeSeeds lists the hand-made bad and tricky inputs in testdata/inputs.
func mergeSeeds(t testing.TB) []string {
	entries, err := os.ReadDir(filepath.Join("testdata", "inputs"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, filepath.Join("inputs", e.Name()))
	}
	return names
}

func TestValidateSynthetic(t *testing.T) {
	body := syntheticBody(100000, "app")
	t.Logf("synthetic body: %d bytes", len(body))
	if err := Validate(ctText, body); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
}

// TestVerdicts holds corral's verdict on inputs where it once differed
// from Prometheus' parsers (model/textparse): each is now accepted or
// refused as Prometheus does, and what is accepted merges into valid
// output in every format.
func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		want                    string // Validate's error, or <nil>
		misshapen               int    // samples the decoded formats leave out
	}{
		{"negative text timestamp", ctText, "m 1 -1000\n", `line 1: invalid timestamp "-1000" for "m"`, 0},
		{"unit not a suffix", ctOM, "# TYPE m gauge\n# UNIT m seconds\nm 1\n# EOF\n", `line 2: unit "seconds" not a suffix of metric "m"`, 0},
		{"unit a suffix", ctOM, "# TYPE m_seconds gauge\n# UNIT m_seconds seconds\nm_seconds 1\n# EOF\n", "<nil>", 0},
		{"empty unit", ctOM, "# TYPE m gauge\n# UNIT m \nm 1\n# EOF\n", "<nil>", 0},
		{"exemplar on a gauge", ctOM, "# TYPE m gauge\nm 1 # {trace_id=\"a\"} 1\n# EOF\n", "<nil>", 0},
		{"plain sample of a histogram", ctText, "# TYPE h histogram\nh 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "<nil>", 1},
		{"plain sample of a summary", ctText, "# TYPE s summary\ns 1\ns_sum 1\ns_count 1\n", "<nil>", 1},
		{"bucket without le", ctText, "# TYPE h histogram\nh_bucket 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "<nil>", 1},
		{"empty HELP, then another", ctText, "# HELP m\n# HELP m text\nm 1\n", "<nil>", 0},
		{"HELP, then an empty one", ctText, "# HELP m text\n# HELP m\nm 1\n", "<nil>", 0},
	} {
		err := fmt.Sprint(Validate(tc.contentType, []byte(tc.body)))
		if err != tc.want {
			t.Errorf("%s: want %s, have %s", tc.name, tc.want, err)
			continue
		}
		if tc.want != "<nil>" {
			// Refused: the source is down, the rest of the merge stands.
			var out bytes.Buffer
			rep, _ := Merge(&out, Options{Label: "exporter", Format: expfmt.NewFormat(expfmt.TypeTextPlain)}, []Input{{Name: "s", ContentType: tc.contentType, Body: []byte(tc.body)}})
			if rep.Sources[0].Up || !strings.Contains(out.String(), `corral_source_up{exporter="s"} 0`) {
				t.Errorf("%s: want the source down in the merge, have %v\n%s", tc.name, rep.Sources[0], out.Bytes())
			}
			continue
		}
		for _, format := range []expfmt.Format{fmtText, fmtOM, fmtProto} {
			var out bytes.Buffer
			rep, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{{Name: "s", ContentType: tc.contentType, Body: []byte(tc.body)}})
			if err != nil {
				t.Fatal(err)
			}
			want := tc.misshapen
			if format.FormatType() == expfmt.TypeTextPlain {
				want = 0 // text carries them
			}
			if src := rep.Sources[0]; !src.Up || src.Misshapen != want {
				t.Errorf("%s, %s: want up with %d misshapen samples, have up %v, %d (%v)", tc.name, format, want, src.Up, src.Misshapen, src.Err)
			}
			checkParses(t, format, out.Bytes())
		}
	}
}

// TestProtoLengthPrefix: a delimited body whose length prefix runs past
// the bytes that follow is refused, by Validate and by the merge, without
// a panic and without allocating what the prefix claims (expfmt's decoder
// panicked on some such prefixes and allocated gigabytes for others).
func TestProtoLengthPrefix(t *testing.T) {
	good := protowire.AppendBytes(nil, mustMarshal(t, &dto.MetricFamily{
		Name: proto.String("a"), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(1)}}},
	}))
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"huge", append(protowire.AppendVarint(nil, 1<<62), 1, 2, 3), "protobuf message 1: length 4611686018427387904 runs past the end of the body (3 bytes left)"},
		{"a few bytes short", append(protowire.AppendVarint(nil, 40), good...), fmt.Sprintf("protobuf message 1: length 40 runs past the end of the body (%d bytes left)", len(good))},
		{"after a good message", append(slices.Clone(good), append(protowire.AppendVarint(nil, 1<<40), 0)...), "protobuf message 2: length 1099511627776 runs past the end of the body (1 bytes left)"},
		{"prefix cut", append(slices.Clone(good), 0x80), "protobuf message 2: bad length prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := Validate(ctProto, tc.body)
			runtime.ReadMemStats(&after)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Validate: have %v, want %q", err, tc.want)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("Validate allocated %d bytes for a %d-byte body", grew, len(tc.body))
			}
			var out bytes.Buffer
			rep, err := Merge(&out, Options{Label: "exporter", Format: expfmt.NewFormat(expfmt.TypeTextPlain)}, []Input{{Name: "a", ContentType: ctProto, Body: tc.body}})
			if err != nil || len(rep.Sources) != 1 || rep.Sources[0].Err == nil {
				t.Errorf("Merge: have err %v, report %+v; want the source refused", err, rep.Sources)
			}
		})
	}
	if err := Validate(ctProto, good); err != nil {
		t.Errorf("the good message alone: %v", err)
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A protobuf label whose name or value is given twice: protobuf keeps the
// last, but Prometheus' streaming decoder checks each as it reads it, and
// refuses the scrape on one that is not UTF-8 or an empty name
// (FuzzConformance round 80, after 35 minutes).
func TestValidateLabelGivenTwice(t *testing.T) {
	field := func(num protowire.Number, b ...[]byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), bytes.Join(b, nil))
	}
	counter := protowire.AppendFixed64(protowire.AppendTag(nil, 1, protowire.Fixed64Type), math.Float64bits(1))
	for _, tc := range []struct {
		name  string
		label []byte
		err   string
	}{
		{"name, first not UTF-8", append(field(1, []byte("a\x8ab")), field(1, []byte("ab"))...), `invalid label name "a\x8ab"`},
		{"name, first empty", append(field(1, nil), field(1, []byte("ab"))...), `invalid label name ""`},
		{"value, first not UTF-8", append(append(field(1, []byte("ab")), field(2, []byte("x\xffy"))...), field(2, []byte("v"))...), `invalid label value "x\xffy"`},
		{"name, both UTF-8", append(field(1, []byte("zz")), field(1, []byte("ab"))...), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ := protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), uint64(dto.MetricType_COUNTER))
			family := bytes.Join([][]byte{field(1, []byte("c_total")), typ, field(4, field(1, tc.label), field(3, counter))}, nil)
			body := protowire.AppendBytes(nil, family)
			err := Validate(ctProto, body)
			if have := fmt.Sprint(err); tc.err == "" && err != nil || tc.err != "" && !strings.Contains(have, tc.err) {
				t.Errorf("Validate: want %q, have %v", tc.err, err)
			}
			rep, err := Merge(io.Discard, Options{Label: "exporter", Format: fmtProto}, []Input{{Name: "pb", ContentType: ctProto, Body: body}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sources[0].Up != (tc.err == "") {
				t.Errorf("source up: want %v, have %v (%v)", tc.err == "", rep.Sources[0].Up, rep.Sources[0].Err)
			}
		})
	}
}
