package integration_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// downstream is a module of another project that tests against Gatehouse,
// set up as docs/testing.md says (a replace stands for the version).
const downstream = "testdata/downstream"

// TestDownstreamModule runs the tests of the downstream module with go
// test in its own directory, as its owners would: the harness, Build
// included, works from outside this module. Its container test needs the
// images of `make images`, as this package's do. docs/testing.md shows
// its code (docs.TestGoBlocksAreTestedCode).
func TestDownstreamModule(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the downstream module's tests build Gatehouse and a test binary of their own")
	}
	start := time.Now()
	cmd := exec.CommandContext(t.Context(), "go", "test", "-count=1", "./...")
	cmd.Dir = downstream
	// GOWORK=off: the module stands alone, as it would elsewhere.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		hint := ""
		if strings.Contains(string(out), "go.sum") || strings.Contains(string(out), "go mod tidy") {
			hint = "\n(Gatehouse's dependencies changed: run `go mod tidy` in integration/" + downstream + ", as its users would after an upgrade)"
		}
		t.Fatalf("go test in %s: %v\n%s%s", downstream, err, out, hint)
	}
	t.Logf("go test in %s passed in %v:\n%s", downstream, time.Since(start).Round(100*time.Millisecond), out)
}
