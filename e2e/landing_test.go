//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestLandingPageInChromium loads the landing page in Debian's headless
// Chromium as an operator would: what it shows (--dump-dom), how it looks at
// 1280 px and at a phone's 400 px (--screenshot; kept in
// CORRAL_E2E_SCREENSHOTS when set), and a press of web's restart button,
// a real mouse click driven over the DevTools protocol: the form POSTs,
// corral restarts the process (a new pid, one more restart) and the browser
// comes back to the page, which shows it.
func TestLandingPageInChromium(t *testing.T) {
	need(t, "chromium")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "jobs.prom"), []byte("# TYPE jobs gauge\njobs 3\n"), 0o644)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d, _ := startCorral(t, fmt.Sprintf(`[web]
listen_address = %q
control = true

[process.web]
command = ["sh", "-c", "echo web says hello; exec sleep 1000"]

[process.db]
command = ["sh", "-c", "echo db up; exec sleep 1000"]

[file.jobs]
path = %q
`, addr, filepath.Join(dir, "jobs.prom")))
	defer d.stop(t, 20*time.Second)
	base := "http://" + addr + "/"
	status := func() map[string]map[string]any {
		t.Helper()
		code, body, err := get(base+"-/processes", nil)
		var list []map[string]any
		if err == nil {
			err = json.Unmarshal(body, &list)
		}
		if code != 200 || err != nil {
			t.Fatalf("GET /-/processes: %d %v: %s", code, err, body)
		}
		out := map[string]map[string]any{}
		for _, p := range list {
			out[p["name"].(string)] = p
		}
		return out
	}
	testkit.Within(t, 30*time.Second, "web and db running", func() (bool, string) {
		st := status()
		return st["web"]["state"] == "running" && st["db"]["state"] == "running", fmt.Sprint(st)
	})
	get(base+"proxy?module=jobs", nil) // a scrape, so the source shows one

	// What a person sees.
	out, err := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", base).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	dom := string(out)
	for _, want := range []string{
		`<tr data-process="web"><td>web</td><td data-label="state" class="running">running</td>`,
		`<a href="-/processes/web/output">recent output</a>`,
		`<form method="post" action="-/processes/web/restart"><button>restart</button></form>`,
		`<a href="proxy?module=jobs">jobs</a>`,
		" MiB</td>", // memory
		" bytes)",   // the source's last scrape
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("want %q in the page Chromium shows:\n%s", want, dom)
		}
	}

	shots := os.Getenv("CORRAL_E2E_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	for _, width := range []int{1280, 400} {
		path := filepath.Join(shots, fmt.Sprintf("landing-%d.png", width))
		cmd := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			fmt.Sprintf("--window-size=%d,900", width), "--screenshot="+path, base)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chromium --screenshot: %v\n%s", err, out)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() != width {
			t.Errorf("screenshot %s: want a PNG %d px wide, have %v, %v", path, width, img, err)
		}
	}

	// Press restart.
	before := status()["web"]
	page := startChromium(t)
	page.call(t, "Page.enable", nil, nil)
	page.call(t, "Page.navigate", map[string]any{"url": base}, nil)
	page.waitEvent(t, "Page.loadEventFired")
	if have := page.text(t, `tr[data-process="web"]`); !strings.Contains(have, "web running") {
		t.Fatalf("web's row before the press: %q", have)
	}
	page.click(t, `tr[data-process="web"] form[action$="/restart"] button`)
	page.waitEvent(t, "Page.loadEventFired") // POST, 303, the page again
	var where string
	page.eval(t, "location.href", &where)
	if where != base {
		t.Errorf("after the press: want the browser back on %s, have %s", base, where)
	}
	// The page the press lands on may show web still starting; as a person
	// would, reload it until web runs again.
	var after map[string]any
	testkit.Within(t, 30*time.Second, "web running again on the page", func() (bool, string) {
		row := page.text(t, `tr[data-process="web"]`)
		after = status()["web"]
		if want := fmt.Sprintf("web running %v", after["pid"]); !strings.Contains(row, want) {
			page.call(t, "Page.reload", nil, nil)
			page.waitEvent(t, "Page.loadEventFired")
			return false, fmt.Sprintf("want %q in web's row, have %q", want, row)
		}
		return true, ""
	})
	if after["pid"] == before["pid"] || after["restarts"].(float64) != before["restarts"].(float64)+1 || after["state"] != "running" {
		t.Errorf("after the press: want web running with a new pid and one more restart; before %v, after %v", before, after)
	}
	if db := status()["db"]; db["restarts"].(float64) != 0 {
		t.Errorf("db: want untouched, have %v", db)
	}
	if !strings.Contains(d.log.String(), "control action") {
		t.Errorf("corral's log: want the control action logged:\n%s", tail(d.log.String(), 20))
	}
}
