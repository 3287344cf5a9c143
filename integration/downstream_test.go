package integration_test

import (
	"os"
	"os/exec"
	"path/filepath"
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
// images of `make images`, as this package's do.
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

// TestDocsShowTheDownstreamModule keeps every Go block of docs/testing.md
// a piece of the downstream module's tests, which TestDownstreamModule
// runs.
func TestDocsShowTheDownstreamModule(t *testing.T) {
	doc, err := os.ReadFile("../docs/testing.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(downstream, "billing_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(doc))
	if len(blocks) == 0 {
		t.Fatal("docs/testing.md shows no Go block")
	}
	for _, b := range blocks {
		if !strings.Contains(string(src), b) {
			t.Errorf("docs/testing.md shows Go code that is not in %s/billing_test.go:\n%s", downstream, b)
		}
	}
}

// goBlocks returns the text of the fenced blocks tagged go of a Markdown
// text.
func goBlocks(md string) []string {
	var out []string
	for rest := md; ; {
		i := strings.Index(rest, "```go\n")
		if i < 0 {
			return out
		}
		rest = rest[i+len("```go\n"):]
		j := strings.Index(rest, "```")
		if j < 0 {
			return out
		}
		out = append(out, rest[:j])
		rest = rest[j+3:]
	}
}
