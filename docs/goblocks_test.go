package docs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goSources names, for each page that shows Go code, the test file its Go
// blocks are taken from, which `make test` runs: client.md shows the
// bodies of the Example functions of client/example_test.go (indented
// one tab there), testing.md pieces of the tests of a module of another
// project (integration.TestDownstreamModule runs them).
var goSources = map[string]struct {
	file   string
	indent string
}{
	"client.md":  {"../client/example_test.go", "\t"},
	"testing.md": {"../integration/testdata/downstream/billing_test.go", ""},
}

// TestGoBlocksAreTestedCode keeps every Go block of the README and of
// docs/ a piece of a test file that runs, so that Go code shown in the
// docs compiles and works.
func TestGoBlocksAreTestedCode(t *testing.T) {
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range append([]string{"../README.md"}, pages...) {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		blocks := goBlocks(string(text))
		if len(blocks) == 0 {
			continue
		}
		src, ok := goSources[filepath.Base(page)]
		if !ok {
			t.Errorf("%s shows Go code: make each block an Example function (or a piece of a test) and name its file in goSources", page)
			continue
		}
		code, err := os.ReadFile(src.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if !strings.Contains(string(code), indent(b, src.indent)) {
				t.Errorf("%s shows Go code that is not in %s:\n%s", page, src.file, b)
			}
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

// indent puts prefix before every line of s that is not empty.
func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
