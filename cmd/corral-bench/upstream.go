package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
)

// goFamilies are the go_* families every small source shares, as Go
// exporters do: they collide in the merge.
const goFamilies = `# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.4e-05
go_gc_duration_seconds{quantile="0.25"} 3.1e-05
go_gc_duration_seconds{quantile="0.5"} 4.2e-05
go_gc_duration_seconds{quantile="0.75"} 6.3e-05
go_gc_duration_seconds{quantile="1"} 0.000912
go_gc_duration_seconds_sum %d.25
go_gc_duration_seconds_count %d
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines %d
# HELP go_info Information about the Go environment.
# TYPE go_info gauge
go_info{version="go1.25.0"} 1
# HELP go_memstats_alloc_bytes Number of bytes allocated in heap and currently in use.
# TYPE go_memstats_alloc_bytes gauge
go_memstats_alloc_bytes %d
# HELP go_memstats_alloc_bytes_total Total number of bytes allocated in heap until now, even if released already.
# TYPE go_memstats_alloc_bytes_total counter
go_memstats_alloc_bytes_total %d
# HELP go_memstats_heap_objects Number of currently allocated objects.
# TYPE go_memstats_heap_objects gauge
go_memstats_heap_objects %d
# HELP go_threads Number of OS threads created.
# TYPE go_threads gauge
go_threads 9
`

// body renders a source's body: with withGo the shared go_* families
// first, then series samples in families of 100, ~86 bytes a line. round
// moves every value on, as between two scrapes of a real exporter.
func body(series int, prefix string, withGo bool, round int) []byte {
	var b bytes.Buffer
	if withGo {
		r := 1000 + round
		fmt.Fprintf(&b, goFamilies, r, r*3, 40+round%5, 5000000+r*91, 900000000+r*4096, 30000+r)
	}
	for i := range series {
		if i%100 == 0 {
			fmt.Fprintf(&b, "# HELP %s_requests_%03d_total Requests served.\n# TYPE %s_requests_%03d_total counter\n", prefix, i/100, prefix, i/100)
		}
		fmt.Fprintf(&b, "%s_requests_%03d_total{instance=\"host-%04d.example\",path=\"/api/v1/items\"} %d\n", prefix, i/100, i%100, 1000000+i*7+round*13)
	}
	return b.Bytes()
}

// rounds is how many versions of its body an upstream serves in turn.
const rounds = 4

// serveUpstream is `corral-bench upstream`: a fast exporter serving
// pre-rendered bodies, each scrape the next version. It prints its address
// on its first line of output.
func serveUpstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ExitOnError)
	series := fs.Int("series", 1000, "series in the body")
	prefix := fs.String("prefix", "app", "prefix of the series' names")
	withGo := fs.Bool("go", false, "begin the body with the go_* families")
	fs.Parse(args)
	bodies := make([][]byte, rounds)
	for k := range bodies {
		bodies[k] = body(*series, *prefix, *withGo, k)
	}
	var n atomic.Uint64
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "%s %d\n", l.Addr(), len(bodies[0]))
	return http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(bodies[n.Add(1)%rounds])
	}))
}
