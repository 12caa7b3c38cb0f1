package exposition

import (
	"bytes"
	"fmt"
	"testing"
)

// syntheticBody writes an exposition of series samples in families of 100 gauges
// and counters plus, every tenth family, a histogram: about 86 bytes per
// series, like a big application exporter.
func syntheticBody(series int, prefix string) []byte {
	var b bytes.Buffer
	for f := 0; series > 0; f++ {
		name := fmt.Sprintf("%s_metric_%d", prefix, f)
		typ := "gauge"
		if f%2 == 1 {
			typ, name = "counter", name+"_total"
		}
		if f%10 == 9 {
			fmt.Fprintf(&b, "# HELP %s_seconds A synthetic histogram.\n# TYPE %s_seconds histogram\n", name, name)
			for i := 0; i < 10 && series > 0; i++ {
				for _, le := range []string{"0.1", "1", "10", "+Inf"} {
					fmt.Fprintf(&b, "%s_seconds_bucket{instance=\"host-%04d.example\",le=\"%s\"} %d\n", name, i, le, i*7)
				}
				fmt.Fprintf(&b, "%s_seconds_sum{instance=\"host-%04d.example\"} %d.25\n", name, i, i*3)
				fmt.Fprintf(&b, "%s_seconds_count{instance=\"host-%04d.example\"} %d\n", name, i, i*7)
				series -= 6
			}
			continue
		}
		fmt.Fprintf(&b, "# HELP %s A synthetic %s.\n# TYPE %s %s\n", name, typ, name, typ)
		for i := 0; i < 100 && series > 0; i++ {
			fmt.Fprintf(&b, "%s{instance=\"host-%04d.example\",path=\"/api/v1/items\",code=\"%d\"} %d.5\n", name, i, 200+i%5, i*1013)
			series--
		}
	}
	return b.Bytes()
}

// BenchmarkValidate is issue 2's verify figure: a validating scan of an
// 8.6 MB, 100,000-series text body against copying that body once
// (BenchmarkReadBody), which a direct scrape costs at least.
func BenchmarkValidate(b *testing.B) {
	body := syntheticBody(100000, "app")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(ctText, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateProto is BenchmarkValidate's body as delimited
// protobuf, which /proxy with verify = true validates.
func BenchmarkValidateProto(b *testing.B) {
	body := protoBody(b, syntheticBody(100000, "app"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(ctProto, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadBody(b *testing.B) {
	body := syntheticBody(100000, "app")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}

// goFamilies is what every client_golang exporter exposes: the families
// that collide when several exporters are merged.
func goFamilies(t testing.TB) []byte {
	body := readFixture(t, "node_exporter.prom")
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		if bytes.Contains(line, []byte(" go_")) || bytes.HasPrefix(line, []byte("go_")) {
			b.Write(line)
		}
	}
	return b.Bytes()
}

// mergeCase is issue 5's benchmark input: (a) three sources of ~1,000
// series / 90 KB with colliding go_* families; (b) one 100,000-series
// 8.6 MB source plus a small one.
func mergeCase(b testing.TB, name string) []Input {
	switch name {
	case "a":
		var ins []Input
		for _, n := range []string{"api", "db", "node"} {
			body := append(goFamilies(b), syntheticBody(950, n)...)
			ins = append(ins, Input{Name: n, ContentType: ctText, Body: body})
		}
		return ins
	default:
		return []Input{
			{Name: "big", ContentType: ctText, Body: syntheticBody(100000, "app")},
			{Name: "small", ContentType: ctText, Body: readFixture(b, "summary.prom")},
		}
	}
}

// BenchmarkMerge measures the merge alone (no HTTP): ns/op and B/op, with
// the output size as out-B so that B/op can be held against 2x the output.
func BenchmarkMerge(b *testing.B) {
	for _, name := range []string{"a", "b"} {
		b.Run(name, func(b *testing.B) {
			ins := mergeCase(b, name)
			var in int
			for _, i := range ins {
				in += len(i.Body)
			}
			var out bytes.Buffer
			if _, err := Merge(&out, Options{Label: "exporter"}, ins); err != nil {
				b.Fatal(err)
			}
			size := out.Len()
			b.ReportAllocs()
			b.SetBytes(int64(in))
			b.ResetTimer()
			for b.Loop() {
				out.Reset()
				if _, err := Merge(&out, Options{Label: "exporter"}, ins); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "out-B")
		})
	}
}

func TestMergeCaseSizes(t *testing.T) {
	for _, name := range []string{"a", "b"} {
		for _, in := range mergeCase(t, name) {
			n := bytes.Count(in.Body, []byte("\n")) - bytes.Count(in.Body, []byte("\n#"))
			t.Logf("case %s: %s: %d bytes, ~%d series", name, in.Name, len(in.Body), n)
			if err := Validate(in.ContentType, in.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// BenchmarkMergeReceived is the merge as the gateway runs it, without HTTP:
// each source has its own Source, scans its body as received (here: at
// once) and replays it from the memo of its last body, which had other
// values; then the merge, then the Receivers are released.
func BenchmarkMergeReceived(b *testing.B) {
	for _, name := range []string{"a", "b"} {
		b.Run(name, func(b *testing.B) {
			ins := mergeCase(b, name)
			scanners := make([]*Source, len(ins))
			var versions [][2][]byte
			var in int
			for i := range ins {
				scanners[i] = NewSource()
				versions = append(versions, [2][]byte{revalue(ins[i].Body, "17"), revalue(ins[i].Body, "1.25e-05")})
				in += len(ins[i].Body)
			}
			var out bytes.Buffer
			b.ReportAllocs()
			b.SetBytes(int64(in))
			n := 0
			for b.Loop() {
				out.Reset()
				for i := range ins {
					ins[i].Body = versions[i][n%2]
					ins[i].Received = scanners[i].Receive(ctText, "exporter", &ins[i])
					if err := ins[i].Received.Finish(ins[i].Body); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := Merge(&out, Options{Label: "exporter"}, ins); err != nil {
					b.Fatal(err)
				}
				for i := range ins {
					ins[i].Received.Release()
				}
				n++
			}
			b.ReportMetric(float64(out.Len()), "out-B")
		})
	}
}
