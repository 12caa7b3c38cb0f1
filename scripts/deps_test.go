package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/corral-metrics/corral/internal/testkit"
)

// TestDependencies: the package that runs programs does not pull in the
// gateway nor the HTTP client and server stacks of the other kinds.
func TestDependencies(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	_, err := os.Stat(goBin)
	testkit.Need(t, "the dependency check needs the go command", err)
	out, err := exec.Command(goBin, "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, banned := range []string{
		"github.com/corral-metrics/corral/gateway",
		"github.com/corral-metrics/corral/source/exporter",
		"github.com/prometheus/exporter-toolkit",
		"github.com/prometheus/common/config",
		"golang.org/x/oauth2",
		"github.com/golang-jwt/jwt",
	} {
		for _, d := range deps {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("scripts depends on %s: want none of %s", d, banned)
			}
		}
	}
}
