package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// TestReadMemstats: corral's own go_memstats_* figures are read from
// /proxy?module=corral, and this process's RSS from /proc.
func TestReadMemstats(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("module") != "corral" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "# HELP go_memstats_heap_inuse_bytes x\n# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes 2.097152e+06\ngo_goroutines 17\ngo_gc_duration_seconds_count 3\nother 1\n")
	}))
	defer srv.Close()
	m := readMemstats(srv.URL)
	want := memstats{"go_memstats_heap_inuse_bytes": 2 << 20, "go_goroutines": 17, "go_gc_duration_seconds_count": 3}
	if len(m) != len(want) {
		t.Errorf("want %v, have %v", want, m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: want %v, have %v", k, v, m[k])
		}
	}
	if have, want := m.String(), "heap MiB: inuse 2.0 idle ? released ? next_gc ? sys ? gcs 3 goroutines 17"; have != want {
		t.Errorf("want %q, have %q", want, have)
	}
	if rss := vmRSS(os.Getpid()); rss < 1<<20 {
		t.Errorf("this process's RSS: want at least 1 MiB, have %d", rss)
	}
}
