package gateway

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/corral-metrics/corral/supervisor/tail"
)

// The landing page's figures of a process, as a person reads them.

// UptimeText is how long the process has run: "3d 4h", "2h 5m", "42s"; "" when not running.
func (p ProcessStatus) UptimeText() string {
	if p.PID == 0 || p.Started.IsZero() {
		return ""
	}
	d := max(time.Since(p.Started), 0)
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm %ds", d/time.Minute, d%time.Minute/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// CPUText is the CPU time used, in seconds.
func (p ProcessStatus) CPUText() string {
	if p.Usage == nil {
		return ""
	}
	return fmt.Sprintf("%.2f s", p.Usage.CPUSeconds)
}

// MemoryText is the resident memory in binary units.
func (p ProcessStatus) MemoryText() string {
	if p.Usage == nil {
		return ""
	}
	return byteText(p.Usage.ResidentBytes)
}

func byteText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

//go:embed templates/output.html
var outputFS embed.FS

type outputPage struct {
	Name  string
	Lines []tail.Line
}

// serveOutputPage shows a process's recent output to a browser.
func (g *Gateway) serveOutputPage(w http.ResponseWriter, name string, lines []tail.Line) {
	t := template.Must(template.ParseFS(outputFS, "templates/output.html"))
	var buf bytes.Buffer
	if err := t.Execute(&buf, outputPage{Name: name, Lines: lines}); err != nil {
		g.logger.Error("output page", "err", err)
		http.Error(w, "output page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
