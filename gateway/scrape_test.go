package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestMergeBudgetHeldWhileRead: a merged scrape admitted on what its
// sources last sent holds the budget as their bodies arrive: a source whose
// body does not fit what another scrape left is down in the merge
// (corral_source_up 0, its reason logged), and the others are merged.
func TestMergeBudgetHeldWhileRead(t *testing.T) {
	const budget = 6 << 20
	big := bigUpstream(t, 4<<20)  // never scraped before: reserved as 64 KiB
	held := bigUpstream(t, 2<<20) // its second /proxy holds 3 MiB meanwhile
	gate := make(chan struct{})
	arrived := make(chan struct{}, 1)
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("held") != "" {
			arrived <- struct{}{}
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		resp, err := http.Get(held.URL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", textContentType)
		io.Copy(w, resp.Body)
	}))
	defer gated.Close()
	var logs testkit.Buffer
	hold := exporterModule(t, "hold", gated.URL, true)
	hold.Merge = false
	g, srv := newTestGateway(t, Options{MaxInflightBytes: budget, ScrapeTimeout: time.Minute, Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		exporterModule(t, "big", big.URL, true), exporterModule(t, "small", upstream(t, "good").URL, true), hold)
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil { // cut short
			return 0, err.Error()
		}
		return resp.StatusCode, string(b)
	}
	if status, body := get("/proxy?module=hold"); status != 200 { // g learns its size
		t.Fatalf("first scrape of hold: want 200, have %d %.200s", status, body)
	}
	g.lim.mu.Lock()
	g.lim.peak = 0 // that scrape was alone: it fits however big
	g.lim.mu.Unlock()
	done := make(chan int, 1)
	go func() { status, _ := get("/proxy?module=hold&held=1"); done <- status }()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the held scrape never reached its source")
	}

	status, body := get("/metrics")
	for _, want := range []string{`corral_source_up{exporter="big"} 0`, `corral_source_up{exporter="small"} 1`, `node_load1{exporter="small"}`} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics with 3 MiB of %d held elsewhere: want 200 with %s, have %d %.300q", budget, want, status, body)
		}
	}
	if strings.Contains(body, `big{exporter="big"`) {
		t.Errorf("/metrics: want none of big's series, have some")
	}
	if want := `source left out of the merged /metrics" component=gateway source=big err="reading body: the memory for answers in flight is taken (max_inflight_bytes = 6MiB) with `; !strings.Contains(logs.String(), want) {
		t.Errorf("logs: want %q, have %s", want, logs.String())
	}
	peak := peakReserved(g)
	if peak > budget {
		t.Errorf("the most reserved at once: want at most the budget %d, have %d", budget, peak)
	}
	close(gate)
	if status := <-done; status != 200 {
		t.Errorf("the held scrape: want 200, have %d", status)
	}
	// With the room back, big fits. A client has its answer before the
	// handler gives its memory back.
	testkit.Eventually(t, "the held scrape's memory given back", func() bool { _, bytes, _ := g.lim.held(); return bytes == 0 })
	if status, body := get("/metrics"); status != 200 || !strings.Contains(body, `corral_source_up{exporter="big"} 1`) {
		t.Errorf("/metrics alone: want 200 with big up, have %d %.300q", status, body)
	}
}
