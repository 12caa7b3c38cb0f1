package file

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/corral-metrics/corral/source"
)

// TestMtimeFamily: on /proxy a file module's answer ends with
// expexp_file_mtime_timestamp, as exporter_exporter's does, and stays a
// valid exposition whatever the file ends with; never in the merge, never
// with expexp_mtime = false.
func TestMtimeFamily(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 500_000_000, time.UTC)
	const family = "# HELP expexp_file_mtime_timestamp Time of modification of parsed file\n" +
		"# TYPE expexp_file_mtime_timestamp gauge\n"
	off := false
	for _, tc := range []struct {
		name, file, content string
		proxy               bool
		cfg                 Config
		want                string
	}{
		{"proxy", "a.prom", "up 1\n", true, Config{}, "up 1\n" + family + `expexp_file_mtime_timestamp{module="mod",path="DIR/a.prom"} 1714564800.5` + "\n"},
		{"no final newline", "b.prom", "up 1", true, Config{}, "up 1\n" + family + `expexp_file_mtime_timestamp{module="mod",path="DIR/b.prom"} 1714564800.5` + "\n"},
		{"empty file", "c.prom", "", true, Config{}, family + `expexp_file_mtime_timestamp{module="mod",path="DIR/c.prom"} 1714564800.5` + "\n"},
		{"quote in the path", `q"\.prom`, "up 1\n", true, Config{}, "up 1\n" + family + `expexp_file_mtime_timestamp{module="mod",path="DIR/q\"\\.prom"} 1714564800.5` + "\n"},
		{"merged", "d.prom", "up 1\n", false, Config{}, "up 1\n"},
		{"switched off", "e.prom", "up 1\n", true, Config{ExpexpMtime: &off}, "up 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(path, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			cfg := tc.cfg
			cfg.Path = path
			cfg.Defaults()
			resp, err := NewModule("mod", cfg, nil).Scrape(context.Background(), source.Request{Proxy: tc.proxy})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			if string(b) != want {
				t.Errorf("want:\n%s\nhave:\n%s", want, b)
			}
			p := expfmt.NewTextParser(model.UTF8Validation)
			if _, err := p.TextToMetricFamilies(strings.NewReader(string(b))); err != nil {
				t.Errorf("not a valid exposition: %v", err)
			}
		})
	}
}
