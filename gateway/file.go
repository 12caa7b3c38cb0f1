package gateway

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// File is a textfile source: a [file.NAME] section. The file is read whole on
// every scrape, as node_exporter's textfile collector does. Writers must
// write a temporary file in the same directory and rename it over the real
// one, so that a scrape never sees half a file.
type File struct {
	name    string
	path    string
	metrics *Metrics
}

// NewFile makes the source of a [file] section named name; its mtime is
// reported through m (nil: not reported).
func NewFile(name string, cfg FileConfig, m *Metrics) *File {
	return &File{name: name, path: cfg.Path, metrics: m}
}

// Target is the file's path.
func (f *File) Target() string { return f.path }

// Scrape opens the file. A missing file fails the scrape; so does anything
// but a regular file (a FIFO would block the scrape until a writer came).
func (f *File) Scrape(ctx context.Context, _ Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, Fail(ReasonTimeout, err)
	}
	// O_NONBLOCK: opening a FIFO with no writer must not block.
	fd, err := os.OpenFile(f.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, Fail(ReasonRefused, err)
	}
	st, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil, Fail(ReasonRefused, err)
	}
	if !st.Mode().IsRegular() {
		fd.Close()
		return nil, Fail(ReasonRefused, fmt.Errorf("%s: not a regular file (%s)", f.path, st.Mode().Type()))
	}
	f.metrics.fileMtime(f.name, st.ModTime())
	return &Response{ContentType: textContentType, Body: fd}, nil
}
