package conformance

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/corral-metrics/corral/exposition"
)

func TestX(t *testing.T) {
	files, _ := filepath.Glob("/tmp/cf/*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		ct := contentTypes[filepath.Ext(f)]
		if ct == "" {
			continue
		}
		_, perr := Parse(ct, b, Native)
		t.Logf("%s %q\n  prom: %v\n  corral: %v\n  expfmt: %v", filepath.Base(f), b, perr, exposition.Validate(ct, b), ParseExpfmt(b))
	}
}
