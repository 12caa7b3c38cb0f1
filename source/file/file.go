// Package file is the textfile source: a [file.NAME] section, a file read
// whole on every scrape, as node_exporter's textfile collector reads one.
package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/corral-metrics/corral/source"
)

// Kind is the kind of source this package makes: [file.NAME].
const Kind source.Kind = "file"

// Config is a [file.NAME] section.
type Config struct {
	source.Settings
	Path string `toml:"path"`
}

// Defaults fills what the operator left out of the file's own keys: none
// has a default.
func (c *Config) Defaults() {}

// Validate reports every problem of the file's own keys, each prefixed
// with its key.
func (c *Config) Validate() error {
	if c.Path == "" {
		return errors.New("path: missing")
	}
	return nil
}

// File is a textfile source. Writers must write a temporary file in the
// same directory and rename it over the real one, so that a scrape never
// sees half a file.
type File struct {
	path  string
	mtime func(time.Time)
}

// New makes the source of a [file] section; mtime, if not nil, is told the
// file's modification time at every scrape that opens it.
func New(cfg Config, mtime func(time.Time)) *File {
	return &File{path: cfg.Path, mtime: mtime}
}

// Target is the file's path.
func (f *File) Target() string { return f.path }

// Scrape opens the file. A missing file fails the scrape; so does anything
// but a regular file (a FIFO would block the scrape until a writer came).
func (f *File) Scrape(ctx context.Context, _ source.Request) (*source.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, source.Fail(source.ReasonTimeout, err)
	}
	// O_NONBLOCK: opening a FIFO with no writer must not block.
	fd, err := os.OpenFile(f.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, source.Fail(source.ReasonRefused, err)
	}
	st, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil, source.Fail(source.ReasonRefused, err)
	}
	if !st.Mode().IsRegular() {
		fd.Close()
		return nil, source.Fail(source.ReasonRefused, fmt.Errorf("%s: not a regular file (%s)", f.path, st.Mode().Type()))
	}
	if f.mtime != nil {
		f.mtime(st.ModTime())
	}
	return &source.Response{ContentType: source.ContentTypeText, Body: fd}, nil
}
