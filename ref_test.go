package gatehouse_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// TestParseRelationship_X3 covers zed's notation and every way it can be wrong.
func TestParseRelationship_X3(t *testing.T) {
	good := []string{
		"organisation:acme#administrator@user:bob",
		"contractor:c1#organisation@organisation:acme",
		"organisation:acme#member@organisation:other#member",
		"change_kind:acme/public_facing#exception@user:pat[expiration:2030-01-01T00:00:00Z]",
		"user_x:a-b_c|d=e+f/g#rel_x@user:z",
	}
	for _, s := range good {
		r, err := gatehouse.ParseRelationship("r", s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if r.String() != s {
			t.Errorf("round trip %q -> %q", s, r.String())
		}
	}
	bad := []string{
		"", "organisation:acme", "organisation:acme#administrator", "organisation:acme@user:bob",
		"organisation#administrator@user:bob", "organisation:#administrator@user:bob",
		"organisation:acme#administrator@user:*", "organisation:*#administrator@user:bob",
		"Organisation:acme#administrator@user:bob", "organisation:acme#Admin@user:bob",
		"organisation:ac.me#administrator@user:bob", "organisation:acme#administrator@user:bob#",
		"organisation:acme#administrator@user:bob[expiration:soon]", "organisation:acme#administrator@user:bob[caveat:x]",
		"organisation:acme#administrator@user:bob[expiration:2030-01-01T00:00:00Z",
		"organisation:" + strings.Repeat("a", 1025) + "#administrator@user:bob",
	}
	for _, s := range bad {
		_, err := gatehouse.ParseRelationship("touch[0]", s)
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("%q: got %v, want invalid_argument", s, err)
			continue
		}
		if f := err.(*gatehouse.Error).Field; f != "touch[0]" { //nolint:errorlint // the parser returns *Error itself
			t.Errorf("%q: field %q", s, f)
		}
	}
}

// FuzzParseRelationship holds the parser to its contract on any input: it
// never panics, refuses with EINVALID naming the field, never accepts a
// wildcard, and what it accepts prints back to an equal relationship.
func FuzzParseRelationship(f *testing.F) {
	for _, s := range []string{
		"organisation:acme#administrator@user:bob",
		"organisation:acme#member@organisation:o#member",
		"change_kind:acme/x#exception@user:p[expiration:2030-01-01T00:00:00Z]",
		"a:b#c@d:*", "::##@@", "[expiration:]", "x:y#zz@u:v[",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := gatehouse.ParseRelationship("f", s)
		if err != nil {
			var ge *gatehouse.Error
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("%q: %v is not invalid_argument", s, err)
			}
			if ge = err.(*gatehouse.Error); ge.Field != "f" { //nolint:errorlint // the parser returns *Error itself
				t.Fatalf("%q: field %q", s, ge.Field)
			}
			return
		}
		if r.Resource.ID == "*" || r.Subject.ID == "*" {
			t.Fatalf("%q: accepted a wildcard", s)
		}
		again, err := gatehouse.ParseRelationship("f", r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("%q: printed %q does not parse back (%v)", s, r.String(), err)
		}
	})
}

// FuzzParseSubject holds ParseSubject to the same contract.
func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"user:bob", "organisation:acme#member", "user:*", "a:", ":b", "x:y#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sub, err := gatehouse.ParseSubject("subject", s)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if sub.ID == "*" || sub.String() != s {
			t.Fatalf("%q parsed to %q", s, sub.String())
		}
	})
}

// SpiceDB's identifier patterns, which ValidType, ValidID and
// ValidRelation match by hand.
var (
	typeRE     = regexp.MustCompile(`^([a-z][a-z0-9_]{1,61}[a-z0-9]/)?[a-z][a-z0-9_]{1,62}[a-z0-9]$`)
	idRE       = regexp.MustCompile(`^[a-zA-Z0-9/_|\-=+]+$`)
	relationRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}[a-z0-9]$`)
)

// sameAsPatterns fails t when a validator and SpiceDB's pattern disagree on s.
func sameAsPatterns(t *testing.T, s string) {
	t.Helper()
	if got, want := gatehouse.ValidType(s), typeRE.MatchString(s); got != want {
		t.Errorf("ValidType(%q) = %v, the pattern says %v", s, got, want)
	}
	if got, want := gatehouse.ValidID(s), len(s) <= 1024 && idRE.MatchString(s); got != want {
		t.Errorf("ValidID(%q) = %v, the pattern says %v", s, got, want)
	}
	if got, want := gatehouse.ValidRelation(s), relationRE.MatchString(s); got != want {
		t.Errorf("ValidRelation(%q) = %v, the pattern says %v", s, got, want)
	}
}

// TestValidNames (X3): the hand-written validators accept exactly what
// SpiceDB's patterns do, at every edge of length and alphabet, and for
// many random strings over the characters that matter.
func TestValidNames(t *testing.T) {
	long := func(n int) string { return "a" + strings.Repeat("b", n-2) + "c" }
	for _, s := range []string{
		"", "a", "ab", "abc", "a_c", "a_", "_ab", "ab_", "1ab", "aB1", "abc/def", "ab/def", "abc/de", "abc/def/ghi", "/abc", "abc/",
		long(63), long(64), long(65), long(63) + "/" + long(64), long(64) + "/" + long(64), long(63) + "/" + long(65),
		"user", "organisation", "change_kind", "x:y", "a-b", "a*b", "*", "é", "abé",
		strings.Repeat("a", 1024), strings.Repeat("a", 1025), "a|b=c+d-e/f_G9",
	} {
		sameAsPatterns(t, s)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	const alphabet = "abz09_/AZ|-=+*:# é"
	for range 200_000 {
		b := make([]byte, rng.IntN(70))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		sameAsPatterns(t, string(b))
	}
}

func FuzzValidNames(f *testing.F) {
	f.Add("organisation")
	f.Add("ns/contractor")
	f.Add("a|b=c")
	f.Fuzz(sameAsPatterns)
}
