package file

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/corral-metrics/corral/source"
)

// MtimeFamily is the family exporter_exporter appends to the answer of a
// file module, and corral too, on /proxy: the file's modification time.
const MtimeFamily = "expexp_file_mtime_timestamp"

// withMtime is body followed by the MtimeFamily family, after a newline
// when the body does not end with one, so the text stays valid.
func withMtime(body io.ReadCloser, module, path string, mtime time.Time) io.ReadCloser {
	secs := float64(mtime.UnixNano()) / 1e9
	family := "# HELP " + MtimeFamily + " Time of modification of parsed file\n" +
		"# TYPE " + MtimeFamily + " gauge\n" +
		MtimeFamily + `{module="` + escapeLabel(module) + `",path="` + escapeLabel(path) + `"} ` +
		strconv.FormatFloat(secs, 'f', -1, 64) + "\n"
	return &trailer{body: body, family: family}
}

// trailer reads body, then family.
type trailer struct {
	body   io.ReadCloser
	family string
	last   byte // the body's last byte so far; 0 when empty
	done   bool // the body is read: family is being read
}

func (t *trailer) Read(p []byte) (int, error) {
	if !t.done {
		n, err := t.body.Read(p)
		if n > 0 {
			t.last = p[n-1]
		}
		if err != io.EOF {
			return n, err
		}
		t.done = true
		if t.last != 0 && t.last != '\n' {
			t.family = "\n" + t.family
		}
		if n > 0 {
			return n, nil
		}
	}
	if t.family == "" {
		return 0, io.EOF
	}
	n := copy(p, t.family)
	t.family = t.family[n:]
	return n, nil
}

func (t *trailer) Close() error { return t.body.Close() }

// escapeLabel escapes a label value for the text format.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// Expexp is the file as exporter_exporter's listing shows a file module.
func (f *File) Expexp() source.ExpexpModule {
	return source.ExpexpModule{Method: "file", File: source.ExpexpFile{Path: f.path}}
}
