//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

// A minimal client of Chromium's DevTools protocol over a hand-written
// WebSocket (RFC 6455, client side: masked text frames out, unmasked frames
// in), so the landing page's buttons can be pressed as a person presses
// them, with the standard library only.

// wsConn is one WebSocket connection.
type wsConn struct {
	c net.Conn
	r *bufio.Reader
}

func wsDial(ctx context.Context, rawURL string) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	keyb := make([]byte, 16)
	rand.Read(keyb)
	key := base64.StdEncoding.EncodeToString(keyb)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, key)
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %s", resp.Status)
	}
	return &wsConn{c: c, r: r}, nil
}

// send writes one masked text frame.
func (w *wsConn) send(msg []byte) error {
	hdr := []byte{0x81} // FIN, text
	switch n := len(msg); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	hdr = append(hdr, mask...)
	body := make([]byte, len(msg))
	for i, b := range msg {
		body[i] = b ^ mask[i%4]
	}
	_, err := w.c.Write(append(hdr, body...))
	return err
}

// recv reads one whole message (joining continuation frames); control
// frames are skipped (a ping is not answered: the browser does not ping).
func (w *wsConn) recv() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.r, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(w.r, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(w.r, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 64<<20 {
			return nil, errors.New("websocket: frame too large")
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(w.r, payload); err != nil {
			return nil, err
		}
		switch op {
		case 0x8:
			return nil, io.EOF
		case 0x9, 0xA:
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

// cdp is a DevTools session on one page: calls wait for their answer;
// events are kept for waitEvent.
type cdp struct {
	ws     *wsConn
	mu     sync.Mutex
	id     int
	calls  map[int]chan cdpMessage
	events chan cdpMessage
}

type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func newCDP(ws *wsConn) *cdp {
	c := &cdp{ws: ws, calls: make(map[int]chan cdpMessage), events: make(chan cdpMessage, 1024)}
	go func() {
		for {
			b, err := ws.recv()
			if err != nil {
				close(c.events)
				return
			}
			var m cdpMessage
			if json.Unmarshal(b, &m) != nil {
				continue
			}
			if m.ID != 0 {
				c.mu.Lock()
				ch := c.calls[m.ID]
				delete(c.calls, m.ID)
				c.mu.Unlock()
				if ch != nil {
					ch <- m
				}
				continue
			}
			select {
			case c.events <- m:
			default: // nobody waits for so many events
			}
		}
	}()
	return c
}

func (c *cdp) call(t *testing.T, method string, params any, result any) {
	t.Helper()
	c.mu.Lock()
	c.id++
	id := c.id
	ch := make(chan cdpMessage, 1)
	c.calls[id] = ch
	c.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := c.ws.send(b); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			t.Fatalf("%s: %s", method, m.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				t.Fatalf("%s: %v: %s", method, err, m.Result)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no answer within 30s", method)
	}
}

// waitEvent waits for the next event named method.
func (c *cdp) waitEvent(t *testing.T, method string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-c.events:
			if !ok {
				t.Fatalf("waiting for %s: the connection closed", method)
			}
			if m.Method == method {
				return
			}
		case <-deadline:
			t.Fatalf("no %s within 30s", method)
		}
	}
}

// eval runs expr in the page and returns its value, decoded into out.
func (c *cdp) eval(t *testing.T, expr string, out any) {
	t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	c.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		t.Fatalf("%s: %s", expr, res.ExceptionDetails.Text)
	}
	if err := json.Unmarshal(res.Result.Value, out); err != nil {
		t.Fatalf("%s: %v: %s", expr, err, res.Result.Value)
	}
}

var devtoolsLine = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// startChromium runs a headless Chromium with the DevTools protocol on a
// free port and returns a session on its one page.
func startChromium(t *testing.T) *cdp {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still write there
	// while they die, which would fail the test in its cleanup.
	profile, err := os.MkdirTemp("", "corral-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
		"--user-data-dir="+profile, "--window-size=1280,900", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so its helpers go with it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		for range 50 { // until the last helper has stopped writing
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var browser string
	select {
	case browser = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("chromium did not start its DevTools server within 60s")
	}
	u, _ := url.Parse(browser)
	// The page targets are listed over plain HTTP on the same port.
	var targets []struct {
		Type string `json:"type"`
		WS   string `json:"webSocketDebuggerUrl"`
	}
	testkit.Within(t, 30*time.Second, "a page target", func() (bool, string) {
		resp, err := http.Get("http://" + u.Host + "/json/list")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		targets = nil
		json.NewDecoder(resp.Body).Decode(&targets)
		for _, tg := range targets {
			if tg.Type == "page" {
				return true, ""
			}
		}
		return false, fmt.Sprint(targets)
	})
	for _, tg := range targets {
		if tg.Type == "page" {
			ws, err := wsDial(context.Background(), tg.WS)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ws.c.Close() })
			return newCDP(ws)
		}
	}
	t.Fatal("no page target")
	return nil
}

// click presses the mouse on the middle of the element selector names, as
// a person would.
func (c *cdp) click(t *testing.T, selector string) {
	t.Helper()
	var box struct{ X, Y float64 }
	c.eval(t, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.scrollIntoView(); const r = e.getBoundingClientRect(); return {X: r.x + r.width/2, Y: r.y + r.height/2}; })()`, selector), &box)
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		c.call(t, "Input.dispatchMouseEvent", map[string]any{"type": typ, "x": box.X, "y": box.Y, "button": "left", "clickCount": 1}, nil)
	}
}

// text is the visible text of the element selector names.
func (c *cdp) text(t *testing.T, selector string) string {
	t.Helper()
	var s string
	c.eval(t, fmt.Sprintf(`document.querySelector(%q).innerText`, selector), &s)
	return strings.Join(strings.Fields(s), " ")
}
