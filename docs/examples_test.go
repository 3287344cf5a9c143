// Package docs_test runs the shell examples of the README and of docs/
// against a fresh demo server and compares each answer with the one shown
// (issue 23). The convention is in docs/README.md, "How the examples are
// tested".
package docs_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/gatehouse-authz/gatehouse/integration"
)

// example is one command of a console block and the answer shown under it.
type example struct {
	line     int // of the command, in its file
	command  string
	expected string
}

// commandTimeout bounds one example; the slowest, a dry run, takes about
// 80 ms on the demo data.
const commandTimeout = time.Minute

func TestExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "the examples need %s: %v", tool, err)
		}
	}
	bin, err := integration.Build(t.Context(), t.TempDir())
	if err != nil {
		skipOrFail(t, "cannot build gatehouse: %v", err)
	}
	// The README first, then every page of docs/, each on a server of
	// its own.
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{"../README.md"}, pages...)
	ran := 0
	for _, page := range pages {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		examples := parse(string(text))
		if len(examples) == 0 {
			continue
		}
		ran += len(examples)
		t.Run(strings.TrimPrefix(page, "../"), func(t *testing.T) {
			runPage(t, bin, page, examples)
		})
	}
	if ran == 0 {
		t.Fatal("no examples found: the convention in docs/README.md changed?")
	}
	t.Logf("%d examples", ran)
}

// runPage starts a fresh demo server and runs a page's examples in order,
// in one bash session.
func runPage(t *testing.T, bin, page string, examples []example) {
	key := "gh_" + randomHex(t)
	gh, err := integration.RunProcess(t.Context(), bin,
		integration.WithAPIKey(key),
		testcontainers.WithEnv(map[string]string{"GATEHOUSE_SEED": "true"}),
	)
	if err != nil {
		skipOrFail(t, "cannot start the demo server: %v", err)
	}
	t.Cleanup(func() { _ = gh.Terminate(context.WithoutCancel(t.Context())) })
	u, err := url.Parse(gh.URL())
	if err != nil {
		t.Fatal(err)
	}

	sh := startShell(t, []string{
		"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"LANG=C.UTF-8",
		"GATEHOUSE_URL=" + gh.URL(),
		"GATEHOUSE_API_KEY=" + key,
	})
	for _, ex := range examples {
		cmd := strings.NewReplacer("localhost:8080", u.Host, "127.0.0.1:8080", u.Host).Replace(ex.command)
		got, err := sh.run(cmd)
		if err != nil {
			t.Fatalf("%s:%d: %s\n%v", page, ex.line, ex.command, err)
		}
		if !matches(ex.expected, got) {
			t.Errorf("%s:%d: %s\nshown:\n%s\nanswered:\n%s", page, ex.line, ex.command, ex.expected, got)
		}
	}
}

// parse returns the examples of the console blocks of a Markdown text.
func parse(text string) []example {
	var (
		out     []example
		inBlock bool
		run     bool // the block is tagged console
		cur     *example
		cont    bool // the command goes on on the next line
		open    bool // lines still belong to cur's answer
	)
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			if inBlock {
				flush()
				inBlock, run = false, false
				continue
			}
			inBlock = true
			run = strings.TrimSpace(strings.TrimPrefix(line, "```")) == "console"
			continue
		}
		if !inBlock || !run {
			continue
		}
		switch {
		case cont:
			cur.command += "\n" + line
			cont = strings.HasSuffix(line, `\`)
		case strings.HasPrefix(line, "$ "):
			flush()
			cur = &example{line: i + 1, command: line[2:]}
			cont = strings.HasSuffix(line, `\`)
			open = true
		case line == "#" || strings.HasPrefix(line, "# "):
			open = false
		case cur != nil && open:
			cur.expected += line + "\n"
		}
	}
	flush()
	return out
}

// matches says whether got is the answer shown: line breaks and the
// spaces at either end of a line do not count, and "..." stands for any
// text.
func matches(shown, got string) bool {
	var pattern strings.Builder
	pattern.WriteString(`(?s)\A`)
	for line := range strings.Lines(shown) {
		// Line by line, so that a line of "..." after a sentence's full
		// stop is the wildcard, not the stop and two dots.
		parts := strings.Split(strings.TrimSpace(line), "...")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		pattern.WriteString(strings.Join(parts, ".*"))
	}
	pattern.WriteString(`\z`)
	re, err := regexp.Compile(pattern.String())
	if err != nil {
		return false
	}
	var flat strings.Builder
	for line := range strings.Lines(got) {
		flat.WriteString(strings.TrimSpace(line))
	}
	return re.MatchString(flat.String())
}

// shell is one bash session the examples of a page share.
type shell struct {
	stdin  io.Writer
	lines  chan string
	marker string
}

func startShell(t *testing.T, env []string) *shell {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "bash", "--noprofile", "--norc")
	cmd.Env = env
	cmd.Dir = t.TempDir()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		skipOrFail(t, "cannot start bash: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	sh := &shell{stdin: stdin, lines: make(chan string), marker: "--- example done " + randomHex(t) + " ---"}
	go func() {
		defer close(sh.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			sh.lines <- sc.Text()
		}
	}()
	// Standard error reads as a terminal shows it: among the output.
	if _, err := sh.run("exec 2>&1"); err != nil {
		t.Fatal(err)
	}
	return sh
}

// run runs one command and returns what it printed.
func (sh *shell) run(command string) (string, error) {
	// The marker starts a line of its own even after output with no
	// final newline, as curl's JSON answers are.
	if _, err := fmt.Fprintf(sh.stdin, "%s\nprintf '\\n%%s\\n' '%s'\n", command, sh.marker); err != nil {
		return "", fmt.Errorf("write to bash: %w", err)
	}
	var out strings.Builder
	timeout := time.After(commandTimeout)
	for {
		select {
		case line, ok := <-sh.lines:
			if !ok {
				return out.String(), fmt.Errorf("bash ended; it printed:\n%s", out.String())
			}
			if line == sh.marker {
				return out.String(), nil
			}
			out.WriteString(line + "\n")
		case <-timeout:
			return out.String(), fmt.Errorf("no answer in %s; so far:\n%s", commandTimeout, out.String())
		}
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// skipOrFail skips the test with the reason, or fails it under CI=true,
// where nothing may skip.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("docs examples: %s (CI=true: not skipping)", msg)
	}
	t.Skipf("docs examples: skipping: %s (set CI=true to fail instead)", msg)
}
