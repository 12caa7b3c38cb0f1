package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseSample(t *testing.T) {
	for _, tc := range []struct {
		line, name, labels string
		v                  float64
		ok                 bool
	}{
		{`go_goroutines{exporter="corral"} 24`, "go_goroutines", `exporter="corral"`, 24, true},
		{`up 1 1700000000000`, "up", "", 1, true},
		{`a{b="}"} 2`, "a", `b="}"`, 2, true},
		{`# HELP go_goroutines x`, "", "", 0, false},
		{``, "", "", 0, false},
		{`broken{`, "", "", 0, false},
		{`x NaN`, "x", "", 0, true},
	} {
		name, labels, v, ok := parseSample(tc.line)
		if name != tc.name || labels != tc.labels || ok != tc.ok || (ok && v == v && v != tc.v) {
			t.Errorf("%q: want %q %q %v %v, have %q %q %v %v", tc.line, tc.name, tc.labels, tc.v, tc.ok, name, labels, v, ok)
		}
	}
}

// TestReadMetrics checks that only corral's own go_goroutines counts, not
// another source's series of the same family.
func TestReadMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Join([]string{
			`# TYPE go_goroutines gauge`,
			`go_goroutines{exporter="node"} 7`,
			`go_goroutines{exporter="corral"} 24`,
			`corral_process_restarts_total{process="node",exporter="corral"} 3`,
			`corral_process_restarts_total{process="writer",exporter="corral"} 2`,
			`corral_script_runs_total{script="probe",result="ok",exporter="corral"} 10`,
			`corral_script_runs_total{script="probe",result="error",exporter="corral"} 1`,
			`corral_source_up{exporter="node"} 0`,
			`corral_source_up{exporter="textfile"} 1`,
			``,
		}, "\n"))
	}))
	defer srv.Close()
	r, err := readMetrics(srv.Client(), options{base: srv.URL, label: "exporter", self: "corral"})
	if err != nil {
		t.Fatal(err)
	}
	have := fmt.Sprintf("goroutines %v restarts %v runs %v node %v textfile %v", r.Goroutines, r.Restarts, r.ScriptRuns, r.SourceUp["node"], r.SourceUp["textfile"])
	if want := "goroutines 24 restarts 5 runs 11 node 0 textfile 1"; have != want {
		t.Errorf("want %s, have %s", want, have)
	}
}

func TestReportProblems(t *testing.T) {
	idle := Reading{Goroutines: 20, OpenFDs: 10, RSSBytes: 100}
	warm := Reading{Goroutines: 80, OpenFDs: 60, RSSBytes: 1000}
	o := options{maxRSSGrowth: 0.10, restartWithin: 10 * time.Second}
	kill := &Kill{Process: "node", PID: 9, RestartedAfter: "1s"}
	for _, tc := range []struct {
		name    string
		samples []sample
		kills   []*Kill
		end     Reading
		want    string // a problem expected; "" none
	}{
		{"clean", []sample{{path: "/metrics", status: 200}}, nil, Reading{Goroutines: 21, OpenFDs: 10, RSSBytes: 1050}, ""},
		{"metrics 503", []sample{{path: "/metrics", status: 503}}, nil, idle, "/metrics answered 503"},
		{"metrics no answer", []sample{{path: "/metrics", status: 0}}, nil, idle, "/metrics answered no answer"},
		{"proxy 502 with kills", []sample{{path: "/proxy?module=node", status: 502}}, []*Kill{kill}, idle, ""},
		{"proxy 502 without kills", []sample{{path: "/proxy?module=node", status: 502}}, nil, idle, "/proxy?module=node answered 502"},
		{"proxy 503", []sample{{path: "/proxy?module=node", status: 503}}, []*Kill{kill}, idle, "answered 503"},
		{"RSS over the warm baseline", nil, nil, Reading{Goroutines: 20, OpenFDs: 10, RSSBytes: 1200}, "RSS grew"},
		{"RSS over cold start only", nil, nil, Reading{Goroutines: 20, OpenFDs: 10, RSSBytes: 1000}, ""},
		{"goroutines", nil, nil, Reading{Goroutines: 23, OpenFDs: 10}, "goroutines not back"},
		{"fds", nil, nil, Reading{Goroutines: 20, OpenFDs: 11}, "open fds not back"},
		{"zombie", nil, nil, Reading{Goroutines: 20, OpenFDs: 10, Zombies: 1}, "zombie"},
		{"pidfds awaiting GC", nil, nil, Reading{Goroutines: 20, OpenFDs: 10, PidFDs: 40, Children: 2}, ""},
		{"pidfds kept", nil, nil, Reading{Goroutines: 20, OpenFDs: 10, PidFDs: 400, Children: 2}, "pidfds not released"},
		{"not restarted", nil, []*Kill{{Process: "node", PID: 9}}, idle, "not running again"},
		{"gap failed", nil, []*Kill{{Process: "node", PID: 9, RestartedAfter: "1s", GapFailed: 1}}, idle, "scrapes failed"},
	} {
		r := report(o, tc.samples, time.Second, tc.kills, idle, warm, warm, tc.end)
		have := strings.Join(r.Problems, "; ")
		if (tc.want == "") != (have == "") || !strings.Contains(have, tc.want) {
			t.Errorf("%s: want problem %q, have %q", tc.name, tc.want, have)
		}
	}
}

// TestPeakRSS: the warm-up baseline is the most RSS seen while it ran, at
// least what the process held before it; without a pid, nothing.
func TestPeakRSS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	before := rss(os.Getpid())
	grown := make([]byte, 64<<20)
	for i := range grown {
		grown[i] = 1 // touched: resident
	}
	peak := peakRSS(ctx, os.Getpid())
	runtime.KeepAlive(grown)
	if before <= 0 || peak < before+32<<20 {
		t.Errorf("peak RSS %d, before %d: want the 64 MiB touched meanwhile", peak, before)
	}
	if p := peakRSS(ctx, 0); p != 0 {
		t.Errorf("no pid: want 0, have %d", p)
	}
}
