package spicedb

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// TestFreshnessSettles: after overlapping writes the newest token is
// unknown and a check goes fully consistent; the token of such a check,
// begun with no write under way, bounds every write again, unless a write
// began while it ran.
func TestFreshnessSettles(t *testing.T) {
	var f freshness
	s1, a1 := f.begin()
	s2, a2 := f.begin()
	f.end(s1, a1, "t1")
	f.end(s2, a2, "t2")
	cons, settle := f.check(gatehouse.Consistency{})
	if !cons.GetFullyConsistent() || settle == nil {
		t.Fatalf("after overlapping writes: %v, settle %v; want fully consistent and a settle", cons, settle != nil)
	}
	s3, a3 := f.begin()
	settle("t-read")
	if c := f.consistency(gatehouse.Consistency{}); !c.GetFullyConsistent() {
		t.Fatalf("a write began during the read, yet its token was taken: %v", c)
	}
	f.end(s3, a3, "t3")
	if c := f.consistency(gatehouse.Consistency{}); c.GetAtLeastAsFresh().GetToken() != "t3" {
		t.Fatalf("a write alone: %v, want at least as fresh as t3", c)
	}
	s4, a4 := f.begin()
	s5, a5 := f.begin()
	f.end(s4, a4, "t4")
	f.end(s5, a5, "t5")
	_, settle = f.check(gatehouse.Consistency{})
	settle("t-read")
	if c := f.consistency(gatehouse.Consistency{}); c.GetAtLeastAsFresh().GetToken() != "t-read" {
		t.Fatalf("after a fully-consistent read: %v, want at least as fresh as its token", c)
	}
	if _, settle := f.check(gatehouse.Consistency{FullyConsistent: true}); settle != nil {
		t.Fatal("a caller's own consistency must not settle")
	}
}
