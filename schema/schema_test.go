package schema

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/authzed/spicedb/pkg/development"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	dispatch "github.com/authzed/spicedb/pkg/proto/dispatch/v1"
	"github.com/authzed/spicedb/pkg/tuple"
	"github.com/authzed/spicedb/pkg/validationfile"
)

// validationFile is the zed validation file that proves the rules a
// permission matrix cannot show.
const validationFile = "validation.yaml"

// updateEnv names the environment variable that makes
// TestValidationFileSchema rewrite the schema copy in validationFile.
const updateEnv = "GATEHOUSE_UPDATE_VALIDATION"

// TestSchemaCompilesWithoutWarnings proves that Text compiles and that
// SpiceDB's development warnings (the playground's and zed's) are empty.
func TestSchemaCompilesWithoutWarnings(t *testing.T) {
	dc := mustDevContext(t)

	warnings, err := development.GetWarnings(t.Context(), dc)
	if err != nil {
		t.Fatalf("GetWarnings: %v", err)
	}
	for _, w := range warnings {
		t.Errorf("schema.zed:%d:%d: %s\n\t%s", w.GetLine(), w.GetColumn(), w.GetMessage(), w.GetSourceCode())
	}
}

// TestValidationFileSchema proves that the schema in validationFile is Text,
// byte for byte, so the playground and `zed validate` prove the schema
// Gatehouse writes. With GATEHOUSE_UPDATE_VALIDATION=1 it rewrites the copy.
func TestValidationFileSchema(t *testing.T) {
	contents, err := os.ReadFile(validationFile)
	if err != nil {
		t.Fatal(err)
	}

	if os.Getenv(updateEnv) != "" {
		updated, err := replaceSchemaBlock(string(contents), Text)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(validationFile, []byte(updated), 0o644); err != nil { //nolint:gosec // a source file, world-readable like its neighbours
			t.Fatal(err)
		}
		contents = []byte(updated)
	}

	vf, err := validationfile.DecodeValidationFile(contents)
	if err != nil {
		t.Fatalf("decode %s: %v", validationFile, err)
	}
	if vf.Schema.Schema != Text {
		t.Fatalf("the schema in %s differs from schema.zed; run %s=1 go test ./schema/ -run TestValidationFileSchema", validationFile, updateEnv)
	}
}

// TestValidationFile runs validationFile in-process, as `zed validate` does:
// every assertTrue and assertFalse must hold, and every permission under
// validation must have exactly the subjects listed.
func TestValidationFile(t *testing.T) {
	contents, err := os.ReadFile(validationFile)
	if err != nil {
		t.Fatal(err)
	}

	ydc, devErrs, err := development.NewDevContextForYAML(t.Context(), contents)
	if err != nil {
		t.Fatalf("load %s: %v", validationFile, err)
	}
	if devErrs != nil {
		reportDevErrors(t, validationFile, devErrs.GetInputErrors())
		t.FailNow()
	}
	t.Cleanup(ydc.DevContext.Dispose)

	if n := len(ydc.Assertions.AssertTrue) + len(ydc.Assertions.AssertFalse); n == 0 {
		t.Fatalf("%s holds no assertions", validationFile)
	}
	failures, err := development.RunAllAssertions(ydc.DevContext, &ydc.Assertions)
	if err != nil {
		t.Fatalf("assertions: %v", err)
	}
	reportDevErrors(t, validationFile, failures)

	if len(ydc.ExpectedRelations.ValidationMap) == 0 {
		t.Fatalf("%s holds no validation block", validationFile)
	}
	_, failures, err = development.RunValidation(ydc.DevContext, &ydc.ExpectedRelations)
	if err != nil {
		t.Fatalf("validation: %v", err)
	}
	reportDevErrors(t, validationFile, failures)
}

// ruleID matches a rule ID of domain.md, such as O3, C10 or X1.
var ruleID = regexp.MustCompile(`\b[OSRTKCX][0-9]{1,2}\b`)

// TestValidationFileNamesRules proves that every assertion in
// validationFile names the rules it proves in a comment on its line.
func TestValidationFileNamesRules(t *testing.T) {
	contents, err := os.ReadFile(validationFile)
	if err != nil {
		t.Fatal(err)
	}

	inAssertions := false
	for i, line := range strings.Split(string(contents), "\n") {
		if line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			inAssertions = strings.HasPrefix(line, "assertions:")
			continue
		}
		item, ok := strings.CutPrefix(strings.TrimSpace(line), "- ")
		if !inAssertions || !ok {
			continue
		}
		_, comment, ok := strings.Cut(item, " #")
		if !ok || !ruleID.MatchString(comment) {
			t.Errorf("%s:%d: assertion names no rule ID in a comment: %s", validationFile, i+1, item)
		}
	}
}

// replaceSchemaBlock returns the validation file contents with its
// top-level `schema: |` block replaced by text.
func replaceSchemaBlock(contents, text string) (string, error) {
	lines := strings.Split(contents, "\n")
	start := -1
	for i, line := range lines {
		if line == "schema: |" {
			start = i
			break
		}
	}
	if start < 0 {
		return "", errors.New("no top-level `schema: |` block")
	}
	end := start + 1
	for end < len(lines) && (lines[end] == "" || strings.HasPrefix(lines[end], " ")) {
		end++
	}

	var b bytes.Buffer
	for _, line := range lines[:start] {
		b.WriteString(line + "\n")
	}
	b.WriteString("schema: |\n")
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line != "" {
			b.WriteString("  " + line)
		}
		b.WriteString("\n")
	}
	b.WriteString(strings.Join(lines[end:], "\n"))
	return b.String(), nil
}

// mustDevContext compiles Text into an in-process SpiceDB development
// context holding rels, given in zed's relationship syntax.
func mustDevContext(tb testing.TB, rels ...string) *development.DevContext {
	tb.Helper()

	tuples := make([]*core.RelationTuple, 0, len(rels))
	for _, rel := range rels {
		r, err := tuple.Parse(rel)
		if err != nil {
			tb.Fatalf("relationship %q: %v", rel, err)
		}
		tuples = append(tuples, r.ToCoreTuple())
	}

	dc, devErrs, err := development.NewDevContext(tb.Context(), &devinterface.RequestContext{
		Schema:        Text,
		Relationships: tuples,
	})
	if err != nil {
		tb.Fatalf("dev context: %v", err)
	}
	if devErrs != nil {
		reportDevErrors(tb, "schema.zed", devErrs.GetInputErrors())
		tb.FailNow()
	}
	tb.Cleanup(dc.Dispose)
	return dc
}

// mustCheck reports whether subject (such as "user:alice") holds permission
// on resource (such as "organisation:acme#delete").
func mustCheck(tb testing.TB, dc *development.DevContext, resource, subject string) bool {
	tb.Helper()

	res, err := development.RunCheck(dc, tuple.MustParseONR(resource), tuple.MustParseSubjectONR(subject), nil)
	if err != nil {
		tb.Fatalf("check %s@%s: %v", resource, subject, err)
	}
	switch res.Permissionship {
	case dispatch.ResourceCheckResult_MEMBER:
		return true
	case dispatch.ResourceCheckResult_NOT_MEMBER:
		return false
	default:
		tb.Fatalf("check %s@%s: unexpected %v (the schema uses no caveats)", resource, subject, res.Permissionship)
		return false
	}
}

// reportDevErrors fails tb once for every developer error, at its line
// and column in file.
func reportDevErrors(tb testing.TB, file string, errs []*devinterface.DeveloperError) {
	tb.Helper()

	for _, e := range errs {
		tb.Errorf("%s:%d:%d: %s: %s", file, e.GetLine(), e.GetColumn(), e.GetKind(), e.GetMessage())
	}
}
