package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestProxyVerifiedStream: a verified /proxy of a source whose last body
// was big and valid streams the next body as it is checked, and cuts it at
// an invalid line (the client sees a failed read, never a short body); the
// scrape after that failure is checked whole again and refused with 502.
func TestProxyVerifiedStream(t *testing.T) {
	var valid bytes.Buffer
	valid.WriteString("# TYPE big gauge\n")
	for i := 0; valid.Len() < 3*streamVerifiedFrom; i++ {
		fmt.Fprintf(&valid, "big{i=\"%08d\",pad=\"%s\"} %d\n", i, strings.Repeat("x", 40), i)
	}
	// The same body with one line broken at two thirds of it.
	invalid := bytes.Clone(valid.Bytes())
	at := bytes.IndexByte(invalid[2*len(invalid)/3:], '\n') + 2*len(invalid)/3 + 1
	copy(invalid[at:], "big{i=oops} 1\n")
	if bytes.IndexByte(invalid[at:at+14], '\n') != 13 {
		t.Fatal("fixture: the broken line is not a line")
	}

	var n atomic.Int32
	bodies := [][]byte{valid.Bytes(), valid.Bytes(), invalid, invalid, valid.Bytes()}
	// The third body's valid first half is sent, and its rest only once the
	// client has the response's first bytes: streamed before the problem.
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textContentType)
		i := min(int(n.Add(1))-1, len(bodies)-1)
		body := bodies[i]
		if i == 2 {
			half := bytes.IndexByte(body[len(body)/2:], '\n') + len(body)/2 + 1
			w.Write(body[:half])
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			body = body[half:]
		}
		w.Write(body)
	}))
	t.Cleanup(up.Close)
	reg := prometheus.NewRegistry()
	g := New(Options{Registry: reg, Metrics: NewMetrics(reg, BuildInfo{})})
	g.SetModules([]Module{exporterModule(t, "big", up.URL, true)})
	_, base := newTestGatewayFor(t, g)

	for i, want := range []struct {
		status  int
		whole   bool   // the body arrives whole, as the upstream's
		readErr bool   // the body's read fails: the response was cut
		reason  string // in a 502's body
	}{
		{status: 200, whole: true},                           // first: checked whole
		{status: 200, whole: true},                           // streamed, valid
		{status: 200, readErr: true},                         // streamed, cut
		{status: 502, reason: `invalid: invalid exposition`}, // after a failure: checked whole
		{status: 200, whole: true},                           // checked whole, valid again
	} {
		resp, err := http.Get(base + "/proxy?module=big")
		if err != nil {
			t.Fatal(err)
		}
		var first []byte
		if i == 2 {
			first = make([]byte, 1)
			if _, err := io.ReadFull(resp.Body, first); err != nil {
				first = nil
			}
			close(release)
		}
		got, rerr := io.ReadAll(resp.Body)
		got = append(first, got...)
		resp.Body.Close()
		have := fmt.Sprintf("status %d, %d bytes, read error %v", resp.StatusCode, len(got), rerr != nil)
		ok := resp.StatusCode == want.status && (rerr != nil) == want.readErr &&
			(!want.whole || bytes.Equal(got, bodies[i])) &&
			(want.reason == "" || strings.Contains(string(got), want.reason))
		if want.readErr && len(got) >= len(invalid) {
			ok = false
		}
		if !ok {
			t.Errorf("scrape %d: want status %d, whole %v, read error %v, reason %q; have %s %.80q", i+1, want.status, want.whole, want.readErr, want.reason, have, got)
		}
	}
	for _, answer := range []string{"cut", "refused"} {
		if have := testutil.ToFloat64(g.opts.Metrics.invalid.WithLabelValues("big", answer)); have != 1 {
			t.Errorf("corral_proxy_invalid_total{answer=%q}: want 1, have %v", answer, have)
		}
	}
	if have := testutil.ToFloat64(g.opts.Metrics.errors.WithLabelValues("big", "invalid")); have != 2 {
		t.Errorf("corral_scrape_errors_total{reason=\"invalid\"}: want 2, have %v", have)
	}
}

// TestProxyBudgetHeldWhileRead: verified /proxy scrapes of a source not
// scraped before are admitted on 64 KiB each, and hold the budget as their
// bodies arrive: with every body half read, those that do not fit are
// answered 503 at once, the others 200 with the whole body, and what is
// reserved never passes max_inflight_bytes.
func TestProxyBudgetHeldWhileRead(t *testing.T) {
	const clients, budget = 16, 16 << 20 // half of it, 8 MiB, for the source
	var b bytes.Buffer
	for i := 0; b.Len() < 2<<20; i++ {
		fmt.Fprintf(&b, "big{i=\"%08d\",pad=\"%s\"} %d\n", i, strings.Repeat("x", 40), i)
	}
	body := b.Bytes()
	first := len(body) * 3 / 4
	arrived := make(chan struct{}, clients)
	start, rest := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-start:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", textContentType)
		w.Write(body[:first])
		w.(http.Flusher).Flush()
		select {
		case <-rest:
		case <-r.Context().Done():
			return
		}
		w.Write(body[first:])
	}))
	defer up.Close()
	g, srv := newTestGateway(t, Options{MaxInflightBytes: budget, ScrapeTimeout: time.Minute}, exporterModule(t, "big", up.URL, true))

	type answer struct {
		status int
		retry  string
		body   string
	}
	answers := make(chan answer, clients)
	for range clients {
		go func() {
			resp, err := http.Get(srv.URL + "/proxy?module=big")
			if err != nil {
				answers <- answer{body: err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(b)}
		}()
	}
	for i := range clients {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatalf("want %d scrapes admitted, have %d", clients, i)
		}
	}
	close(start)
	// Every body stops at three quarters until a scrape was refused: 16
	// of them (1.5 MiB, a buffer of at least that and half of it for its
	// scan) do not fit 8 MiB.
	var have []answer
	select {
	case a := <-answers:
		have = append(have, a)
	case <-time.After(30 * time.Second):
		peak := peakReserved(g)
		t.Fatalf("%d scrapes with 1.5 MiB read each: want some refused, have none (peak reserved %d, budget %d)", clients, peak, budget)
	}
	close(rest)
	for len(have) < clients {
		have = append(have, <-answers)
	}
	var ok, refused int
	for _, a := range have {
		switch {
		case a.status == 200 && a.body == string(body):
			ok++
		case a.status == 503 && a.retry == "1" && strings.Contains(a.body, "max_inflight_bytes = 16MiB, half of it for one source's /proxy scrapes"):
			refused++
		default:
			t.Errorf("want 200 and the body, or 503 for max_inflight_bytes with Retry-After: 1; have %d %q %.200q", a.status, a.retry, a.body)
		}
	}
	if ok == 0 || refused == 0 {
		t.Errorf("want some of %d answered 200 and some 503, have %d × 200 and %d × 503", clients, ok, refused)
	}
	peak := peakReserved(g)
	if peak > budget {
		t.Errorf("the most reserved at once: want at most the budget %d, have %d", budget, peak)
	}
	testkit.Eventually(t, "nothing reserved after the scrapes", func() bool {
		_, bytes, live := g.lim.held()
		return bytes == 0 && live == 0
	})
	t.Logf("%d × 200, %d × 503, peak reserved %.1f MiB of %d MiB", ok, refused, float64(peak)/(1<<20), budget>>20)
}
