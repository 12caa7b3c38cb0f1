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
	// ExpexpMtime adds exporter_exporter's expexp_file_mtime_timestamp to
	// the file's answer on /proxy (default true).
	ExpexpMtime *bool `toml:"expexp_mtime"`
}

// Defaults fills what the operator left out of the file's own keys.
func (c *Config) Defaults() {
	if c.ExpexpMtime == nil {
		on := true
		c.ExpexpMtime = &on
	}
}

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
	path   string
	mtime  func(time.Time)
	module string // for expexp_file_mtime_timestamp; "": not added
}

// New makes the source of a [file] section; mtime, if not nil, is told the
// file's modification time at every scrape that opens it. It adds no
// expexp_file_mtime_timestamp: see NewModule.
func New(cfg Config, mtime func(time.Time)) *File {
	return &File{path: cfg.Path, mtime: mtime}
}

// NewModule is New for the [file.NAME] section called name: unless
// expexp_mtime = false, its answer on /proxy ends with exporter_exporter's
// expexp_file_mtime_timestamp{module="NAME",path="PATH"}.
func NewModule(name string, cfg Config, mtime func(time.Time)) *File {
	f := New(cfg, mtime)
	if cfg.ExpexpMtime == nil || *cfg.ExpexpMtime {
		f.module = name
	}
	return f
}

// Target is the file's path.
func (f *File) Target() string { return f.path }

// Scrape opens the file. A missing file fails the scrape; so does anything
// but a regular file (a FIFO would block the scrape until a writer came).
func (f *File) Scrape(ctx context.Context, req source.Request) (*source.Response, error) {
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
	if f.module != "" && req.Proxy {
		return &source.Response{ContentType: source.ContentTypeText, Body: withMtime(fd, f.module, f.path, st.ModTime())}, nil
	}
	return &source.Response{ContentType: source.ContentTypeText, Body: fd}, nil
}
