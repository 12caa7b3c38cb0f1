package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// benchExposition is a text exposition of n series in families of 10,
// ~86 bytes per series: n=1,000 is ~90 KB, n=100,000 ~8.6 MB.
func benchExposition(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if i%10 == 0 {
			fmt.Fprintf(&b, "# HELP bench_requests_%05d_total Requests served, by handler.\n# TYPE bench_requests_%05d_total counter\n", i/10, i/10)
		}
		fmt.Fprintf(&b, "bench_requests_%05d_total{handler=\"/api/v1/item/%d\",instance=\"h1\"} %d\n", i/10, i%10, 1000000+i*7)
	}
	return b.Bytes()
}

// BenchmarkScrape compares, for a small and a large upstream, a direct scrape
// with /proxy streaming (verify=false) and /proxy validating (verify=true).
// p50-ns is the median scrape; B/op counts the whole process (upstream,
// gateway and client), so the gateway's own share is the difference with
// direct.
func BenchmarkScrape(b *testing.B) {
	for _, size := range []struct {
		name   string
		series int
	}{{"90KB", 1000}, {"8.6MB", 100000}} {
		body := benchExposition(size.series)
		up := benchUpstream(b, body)
		_, gw := newTestGateway(b, Options{},
			exporterModule(b, "stream", up.URL, false),
			exporterModule(b, "verify", up.URL, true),
		)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
		for _, path := range []struct{ name, url string }{
			{"direct", up.URL + "/metrics"},
			{"proxy_stream", gw.URL + "/proxy?module=stream"},
			{"proxy_verify", gw.URL + "/proxy?module=verify"},
		} {
			b.Run(fmt.Sprintf("size=%s/%s", size.name, path.name), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				p50Get(b, client, path.url, int64(len(body)))
			})
		}
	}
}

// p50Get scrapes url until the benchmark ends and reports the median request
// time as p50-ns and the size of the last answer as resp-B. Every answer
// must be a 200 of wantBytes bytes (0: any size).
func p50Get(b *testing.B, client *http.Client, url string, wantBytes int64) {
	b.ReportAllocs()
	durations := make([]time.Duration, 0, 1024)
	var n int64
	for b.Loop() {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || (wantBytes > 0 && n != wantBytes) {
			b.Fatalf("status %d, %d of %d bytes, %v", resp.StatusCode, n, wantBytes, err)
		}
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(n), "resp-B")
}
