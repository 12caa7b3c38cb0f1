package exposition

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// BenchmarkScanPaths compares, in one run, the scan of the 8.6 MB body by
// the general path alone, with fastSample, split in two halves, and
// replayed from the memo of the body before (new values, same series).
func BenchmarkScanPaths(b *testing.B) {
	body := syntheticBody(100000, "app")
	// The memo replays the last body: a source's next scrape, with new values.
	next := [2][]byte{revalue(body, "1027"), revalue(body, "1028.5")}
	for _, path := range []string{"general", "fast", "split", "memo"} {
		b.Run(path, func(b *testing.B) {
			s := newScanner()
			if path == "memo" {
				s = newSourceScanner(NewSource())
			}
			s.general = path == "general"
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				var err error
				if path == "memo" {
					err = s.scan(next[n%2], false, nil)
					n++
				} else if path == "split" {
					err = s.scan(body, false, nil)
				} else {
					err = s.scanRange(body, false, nil, 0, len(body))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScanNode is a real exporter's output (Debian's node exporter,
// 60 KB, half of its lines HELP and TYPE): scanned as new, and replayed
// from the memo of the scrape before.
func BenchmarkScanNode(b *testing.B) {
	body := readFixture(b, "node_exporter.prom")
	next := [2][]byte{revalue(body, "1027"), revalue(body, "1028.5")}
	for _, path := range []string{"fast", "memo"} {
		b.Run(path, func(b *testing.B) {
			s := newScanner()
			if path == "memo" {
				s = newSourceScanner(NewSource())
			}
			s.hashing = true
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := s.scan(next[n%2], false, nil); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}

// TestScanPathsAgree scans bodies that take the fast path, the general path
// and the split scan in every combination, and holds each result (samples,
// families, error) against the serial general scan's.
func TestScanPathsAgree(t *testing.T) {
	big := syntheticBody(30000, "app") // > splitScan
	var shared, members, late, dups bytes.Buffer
	// A family in both halves: text allows it (samples regrouped).
	shared.WriteString("split_family{a=\"1\"} 1\n")
	shared.Write(big)
	shared.WriteString("split_family{a=\"2\"} 2\n")
	// A summary in the first half, a family named like its member in the
	// second.
	members.WriteString("# TYPE sum summary\nsum_count 1\n")
	members.Write(big)
	members.WriteString("# HELP sum_count Not the summary's.\nsum_count{x=\"y\"} 1\n")
	// An error in the second half, and one in the first.
	late.Write(big)
	late.WriteString("# HELP late x\nlate{a=\"1\",a=\"2\"} 1\n")
	first := append([]byte("bad{le=\"x\"} 1\n# TYPE h histogram\nh_bucket{le=\"x\"} 1\n"), big...)
	// Duplicates, unsorted labels, escapes, timestamps, reserved labels.
	dups.WriteString("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} -1\nh_count 1\n")
	dups.WriteString("u{b=\"1\",a=\"2\"} 1\nu{b=\"1\",a=\"2\",b=\"3\"} 1\ne{a=\"x\\\"y\"} 1\nts{a=\"1\"} 1 123\nr{exporter=\"x\"} NaN\n")
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"synthetic", big},
		{"shared", shared.Bytes()},
		{"members", members.Bytes()},
		{"late error", late.Bytes()},
		{"first error", first},
		{"dups", dups.Bytes()},
		{"fixture", readFixture(t, "node_exporter.prom")},
	} {
		for i := 0; i < 2; i++ {
			var have [4]string
			for k, path := range []string{"general", "fast", "split", "receive"} {
				s := newScanner()
				s.hashing, s.seed = true, 1
				s.general = path == "general"
				var err error
				switch path {
				case "split":
					err = s.scan(tc.body, false, [][]byte{[]byte("exporter")})
				case "receive":
					// Fed in uneven pieces, as reads return them, each
					// piece in a fresh copy of the body so far.
					r := &Receiver{sc: s}
					s.reset(nil, false, [][]byte{[]byte("exporter")})
					fed := len(tc.body) // the second time, a third: the rest is split
					if i == 1 {
						fed /= 3
					}
					for n := 0; n < fed; n += 7919 + n%50000 {
						r.Feed(bytes.Clone(tc.body[:n]))
					}
					err = r.Finish(tc.body)
				default:
					err = s.scanRange(tc.body, false, [][]byte{[]byte("exporter")}, 0, len(tc.body))
				}
				if err != nil {
					have[k] = err.Error()
					continue
				}
				var fams []string
				for _, f := range s.fams {
					fams = append(fams, fmt.Sprintf("%s %v %d-%d/%d %v", f.name, f.typ, f.first, f.last, f.n, f.help))
				}
				have[k] = fmt.Sprint(fams, s.samples)
			}
			if have[1] != have[0] || have[2] != have[0] || have[3] != have[0] {
				t.Errorf("%s: want the general scan's\n%.300s\nhave fast\n%.300s\nsplit\n%.300s\nreceive\n%.300s", tc.name, have[0], have[1], have[2], have[3])
			}
			tc.body = bytes.ReplaceAll(tc.body, []byte("instance"), []byte("zinstance"))
		}
	}
	if !reflect.DeepEqual(splitPoint([]byte("a 1\n"), 0), 0) {
		t.Errorf("splitPoint without a HELP or TYPE line: want 0")
	}
}

// FuzzScanPaths checks that for any text body the fast path changes
// nothing: the same samples, families and error as the general path alone.
func FuzzScanPaths(f *testing.F) {
	for _, name := range []string{"node_exporter.prom", "histograms.prom", "summary.prom", "escapes.prom"} {
		f.Add(readFixture(f, name))
	}
	for _, name := range mergeSeeds(f) {
		f.Add(readFixture(f, name))
	}
	// A count or sum with le (quantile) is flagShape: the fast path leaves it.
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 2\nh_count{le=\"1\"} 1\nh_sum{le=\"1\"} 3\n# TYPE s summary\ns_count{quantile=\"0.5\"} 1\ns_sum{quantile=\"1\"} 3\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var have [2]string
		for k := range have {
			s := newScanner()
			s.hashing, s.seed, s.general = true, 1, k == 0
			if err := s.scan(body, false, [][]byte{[]byte("exporter")}); err != nil {
				have[k] = err.Error()
				continue
			}
			have[k] = fmt.Sprint(s.fams, s.samples)
		}
		if have[0] != have[1] {
			t.Fatalf("%q:\ngeneral path: %.500s\nfast path:    %.500s", body, have[0], have[1])
		}
	})
}
