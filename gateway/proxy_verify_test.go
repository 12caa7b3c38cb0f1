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
