package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/corral-metrics/corral/source"
)

// mergeBenchBody is ~86 bytes per series in families of 100, after the go_*
// families of the node fixture (which collide between sources).
func mergeBenchBody(t testing.TB, series int, prefix string, withGo bool) []byte {
	var b bytes.Buffer
	if withGo {
		for _, line := range bytes.SplitAfter(readTestdata(t, "merge/node.prom"), []byte("\n")) {
			if bytes.Contains(line, []byte(" go_")) || bytes.HasPrefix(line, []byte("go_")) {
				b.Write(line)
			}
		}
	}
	for i := 0; i < series; i++ {
		if i%100 == 0 {
			fmt.Fprintf(&b, "# HELP %s_requests_%03d_total Requests served.\n# TYPE %s_requests_%03d_total counter\n", prefix, i/100, prefix, i/100)
		}
		fmt.Fprintf(&b, "%s_requests_%03d_total{instance=\"host-%04d.example\",path=\"/api/v1/items\"} %d\n", prefix, i/100, i%100, 1000000+i*7)
	}
	return b.Bytes()
}

var sampleValue = regexp.MustCompile(`(?m)^([^#\n][^\n]* )([^ \n]+)$`)

// scrapes is body as n scrapes of a source see it: the same series, every
// value moved on by the scrape's number (integers stay integers), as
// counters and gauges move between scrapes.
func scrapes(body []byte, n int) [][]byte {
	out := make([][]byte, n)
	for k := range out {
		out[k] = sampleValue.ReplaceAllFunc(body, func(line []byte) []byte {
			m := sampleValue.FindSubmatch(line)
			if v, err := strconv.ParseInt(string(m[2]), 10, 64); err == nil {
				return strconv.AppendInt(m[1], v+int64(k)*7, 10)
			}
			if v, err := strconv.ParseFloat(string(m[2]), 64); err == nil && v == v {
				return strconv.AppendFloat(m[1], v+float64(k)*0.25, 'g', -1, 64)
			}
			return line
		})
	}
	return out
}

// benchUpstream is an upstream serving bodies in turn, one per request, as
// text with its Content-Length.
func benchUpstream(b *testing.B, bodies ...[]byte) *httptest.Server {
	var next atomic.Uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		body := bodies[(next.Add(1)-1)%uint64(len(bodies))]
		w.Header().Set("Content-Type", textContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// floorHandler is what a merged scrape cannot do without: the same sources
// fetched in parallel by the gateway's own fetch into its own buffers, and
// their bodies written one after the other, unchecked and unchanged.
func floorHandler(g *Gateway, mods []Module) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, w := g.admit(w, r, "", "", answerHeld(false)+mergedReservation(g, mods, true))
		if t == nil {
			return
		}
		defer t.release()
		bufs := make([]*bytes.Buffer, len(mods))
		var wg sync.WaitGroup
		for i, m := range mods {
			bufs[i] = g.getBuffer(m.Name)
			wg.Go(func() {
				if _, _, err := g.fetch(context.Background(), t, m, source.Request{Accept: mergeAcceptText}, bufs[i], nil); err != nil {
					panic(err)
				}
			})
		}
		wg.Wait()
		w.Header().Set("Content-Type", textContentType)
		for i, buf := range bufs {
			w.Write(buf.Bytes())
			g.putBuffer(mods[i].Name, buf)
		}
	}
}

// BenchmarkMerged is issue 5's figure: the p50 of a merged scrape of /metrics
// against the p50 of scraping each of its sources directly, for (a) three
// ~1,000-series / 90 KB sources with colliding go_* families and (b) one
// 100,000-series / 8.6 MB source plus a small one. Each source's values
// change from one scrape to the next (four scrapes in turn). corral's own
// metrics are left out (merge_self = false) so that both sides scrape the
// same sources. floor is the same fetches with the bodies written out
// unprocessed: what moving the bytes twice costs on its own.
func BenchmarkMerged(b *testing.B) {
	cases := []struct {
		name    string
		sources map[string][]byte
	}{
		{"a", map[string][]byte{
			"api": mergeBenchBody(b, 950, "api", true), "db": mergeBenchBody(b, 950, "db", true), "node": mergeBenchBody(b, 950, "node", true)}},
		{"b", map[string][]byte{"big": mergeBenchBody(b, 100000, "app", false), "small": readTestdata(b, "merge/summary.prom")}},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32, DisableCompression: true}}
	for _, tc := range cases {
		var mods []Module
		for _, name := range slices.Sorted(maps.Keys(tc.sources)) {
			url := benchUpstream(b, scrapes(tc.sources[name], 4)...).URL + "/metrics"
			mods = append(mods, exporterModule(b, name, url, true))
			b.Run(fmt.Sprintf("case=%s/direct=%s", tc.name, name), func(b *testing.B) { p50Get(b, client, url, 0) })
		}
		g, url := mergeGateway(b, Options{MergeSelf: false, MaxBodyBytes: 64 << 20}, mods...)
		b.Run(fmt.Sprintf("case=%s/merged", tc.name), func(b *testing.B) { p50Get(b, client, url, 0) })
		floor := httptest.NewServer(floorHandler(g, mods))
		b.Run(fmt.Sprintf("case=%s/floor", tc.name), func(b *testing.B) { p50Get(b, client, floor.URL, 0) })
		floor.Close()
		if tc.name == "a" {
			// 20 concurrent scrapers of (a): no errors, throughput as ns/op.
			b.Run("case=a/merged_20_concurrent", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism((20 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				var errs atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Get(url)
						if err != nil {
							errs.Add(1)
							continue
						}
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 {
							errs.Add(1)
						}
					}
				})
				b.ReportMetric(float64(errs.Load()), "errors")
				if errs.Load() > 0 {
					b.Errorf("%d failed scrapes", errs.Load())
				}
			})
		}
	}
}

// TestBenchScrapes: the bench sources' scrapes differ in their values only,
// and each is valid.
func TestBenchScrapes(t *testing.T) {
	for _, body := range [][]byte{mergeBenchBody(t, 950, "api", true), readTestdata(t, "merge/summary.prom")} {
		s := scrapes(body, 2)
		if bytes.Equal(s[0], s[1]) || !bytes.Equal(s[0], body) {
			t.Fatalf("scrapes: the first must be body, the second differ")
		}
		if have, want := bytes.Count(s[1], []byte("\n")), bytes.Count(body, []byte("\n")); have != want {
			t.Fatalf("scrapes: %d lines, want %d", have, want)
		}
		for _, b := range s {
			if err := validate(textContentType, b); err != nil {
				t.Fatal(err)
			}
		}
	}
}
