package file

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corral-metrics/corral/source"
)

// TestScrape: a regular file is served whole with its mtime reported;
// anything else fails the scrape at once, a FIFO with no writer included.
func TestScrape(t *testing.T) {
	dir := t.TempDir()
	good, fifo := filepath.Join(dir, "good.prom"), filepath.Join(dir, "fifo")
	if err := os.WriteFile(good, []byte("up 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(good, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, body, err string
		mtime           time.Time
	}{
		{good, "up 1\n", "", mtime},
		{fifo, "", fifo + ": not a regular file (p---------)", time.Time{}},
		{dir, "", dir + ": not a regular file (d---------)", time.Time{}},
		{filepath.Join(dir, "nope"), "", "open " + filepath.Join(dir, "nope") + ": no such file or directory", time.Time{}},
	} {
		var seen time.Time
		f := New(Config{Path: tc.path}, func(t time.Time) { seen = t })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := f.Scrape(ctx, source.Request{})
		cancel()
		body, have := "", ""
		if err != nil {
			have = err.Error()
			if r := source.ReasonOf(err); r != source.ReasonRefused {
				t.Errorf("%s: want reason refused, have %s", tc.path, r)
			}
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if resp.ContentType != source.ContentTypeText {
				t.Errorf("%s: want %s, have %s", tc.path, source.ContentTypeText, resp.ContentType)
			}
		}
		if body != tc.body || have != tc.err || !seen.Equal(tc.mtime) {
			t.Errorf("%s: want %q %q %v, have %q %q %v", tc.path, tc.body, tc.err, tc.mtime, body, have, seen)
		}
	}
}

// TestScrapeDeadlinePassed: a scrape whose deadline passed opens nothing.
func TestScrapeDeadlinePassed(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := New(Config{Path: "/dev/null"}, nil).Scrape(ctx, source.Request{})
	if source.ReasonOf(err) != source.ReasonTimeout || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("want a timeout, have %v", err)
	}
}
