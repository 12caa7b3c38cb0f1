package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/corral-metrics/corral/exposition"
)

// TestBodies: every upstream body is a valid exposition of the size the
// table names, and its rounds differ in values only (same lines, same
// series), as a real exporter's scrapes do.
func TestBodies(t *testing.T) {
	for _, tc := range []struct {
		series   int
		withGo   bool
		min, max int // bytes
	}{
		{100000, false, 8_000_000, 9_000_000},
		{980, true, 80_000, 95_000},
		{20, true, 1_000, 5_000},
	} {
		a, b := body(tc.series, "app", tc.withGo, 0), body(tc.series, "app", tc.withGo, 1)
		for i, x := range [][]byte{a, b} {
			if err := exposition.Validate("text/plain; version=0.0.4", x); err != nil {
				t.Errorf("%d series, round %d: want valid, have %v", tc.series, i, err)
			}
		}
		if len(a) < tc.min || len(a) > tc.max {
			t.Errorf("%d series: want %d to %d bytes, have %d", tc.series, tc.min, tc.max, len(a))
		}
		if bytes.Equal(a, b) || bytes.Count(a, []byte("\n")) != bytes.Count(b, []byte("\n")) {
			t.Errorf("%d series: want rounds with the same lines and new values, have equal %v, lines %d and %d",
				tc.series, bytes.Equal(a, b), bytes.Count(a, []byte("\n")), bytes.Count(b, []byte("\n")))
		}
	}
}

// TestRelay: the floor passes one body through as it is, and several one
// after the other.
func TestRelay(t *testing.T) {
	up := func(s string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(s)) }))
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := up("a 1\n"), up("b 2\n")
	floor := httptest.NewServer(http.HandlerFunc(relay))
	t.Cleanup(floor.Close)
	for _, tc := range []struct{ query, want string }{
		{"u=" + a.URL, "a 1\n"},
		{"u=" + a.URL + "&u=" + b.URL, "a 1\nb 2\n"},
	} {
		d, n, err := scrape(floor.URL + "/relay?" + tc.query)
		if err != nil || n != int64(len(tc.want)) || d <= 0 || d > time.Minute {
			t.Errorf("%s: want %d bytes, have %d in %s, err %v", tc.query, len(tc.want), n, d, err)
		}
	}
}
