package gateway

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"
)

// gzipBenchBody is a merged /metrics of about 10.9 MB: the node exporter
// fixture as 120 sources (each series labelled by its source) and 40,000
// series of a synthetic application.
func gzipBenchBody(b *testing.B) []byte {
	node := readTestdata(b, "node_exporter.prom")
	var out bytes.Buffer
	for i := 0; out.Len() < 7400<<10; i++ {
		for _, line := range bytes.SplitAfter(node, []byte("\n")) {
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			name, rest, labels := bytes.Cut(line, []byte("{"))
			if labels {
				fmt.Fprintf(&out, "%s{exporter=\"node-%03d\",%s", name, i, rest)
				continue
			}
			name, rest, _ = bytes.Cut(line, []byte(" "))
			fmt.Fprintf(&out, "%s{exporter=\"node-%03d\"} %s", name, i, rest)
		}
	}
	out.Write(mergeBenchBody(b, 40000, "app", false))
	return out.Bytes()
}

// BenchmarkGzipLevel compresses a 10.9 MB merged body at each level:
// out-bytes is the compressed size, ns/op the CPU it costs. client_golang
// (and so reverse_exporter and a direct scrape) uses gzip.DefaultCompression.
func BenchmarkGzipLevel(b *testing.B) {
	body := gzipBenchBody(b)
	for _, level := range []int{gzip.BestSpeed, 2, 3, 4, 5, gzip.DefaultCompression} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			zw, _ := gzip.NewWriterLevel(io.Discard, level)
			var n countWriter
			for b.Loop() {
				n = 0
				zw.Reset(&n)
				zw.Write(body)
				zw.Close()
			}
			b.ReportMetric(float64(n), "out-bytes")
			b.ReportMetric(float64(len(body)), "in-bytes")
		})
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
