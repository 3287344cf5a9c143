package proxy

import (
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// TestDecisionCacheKnowsWhatTimeChanges: a permission that can reach a
// relationship with an expiration changes as time passes, with no write,
// so its answers are kept only until the next expiration; the rest are
// kept until a write.
func TestDecisionCacheKnowsWhatTimeChanges(t *testing.T) {
	timed, err := expiringRelations(`use expiration
definition user {}

definition team {
	relation member: user with expiration
}

definition doc {
	relation team: team
	relation viewer: user | team#member
	relation owner: user
	permission via_arrow = team->member
	permission via_set = viewer
	permission plain = owner
	permission nested = plain + via_arrow
}`)
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"team#member": true, "doc#via_arrow": true, "doc#via_set": true, "doc#viewer": true, "doc#nested": true,
		"doc#plain": false, "doc#owner": false, "doc#team": false,
	} {
		typ, r, _ := strings.Cut(rel, "#")
		if got := timed[gatehouse.TypeRelation{Type: typ, Relation: r}]; got != want {
			t.Errorf("%s can reach an expiration: %v, want %v", rel, got, want)
		}
	}
	real, err := expiringRelations(schema.Text)
	if err != nil {
		t.Fatalf("Gatehouse's schema: %v", err)
	}
	// T5: every role but owner, SA and ASA may expire, so contractor#view
	// (the IT manager's and cis_processors') changes with time; delete
	// reads the owner alone, which never expires.
	if !real[gatehouse.TypeRelation{Type: "contractor", Relation: "view"}] {
		t.Error("contractor#view reaches an expiring role (T5), yet would be cached")
	}
	if real[gatehouse.TypeRelation{Type: "organisation", Relation: "delete"}] {
		t.Error("organisation#delete reaches no expiration, yet would not be cached")
	}
	if len(real) == 0 {
		t.Error("Gatehouse's schema has expiring relations, none found")
	}
}

// TestReadersOfSchema: a change invalidates what can read it, and only that.
func TestReadersOfSchema(t *testing.T) {
	rd, err := readersOf(schema.Text)
	if err != nil {
		t.Fatal(err)
	}
	reads := func(perm, changed gatehouse.TypeRelation) bool {
		for _, g := range rd.of[changed] {
			if g == rd.gen[perm] {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		perm, changed gatehouse.TypeRelation
		want          bool
	}{
		{gatehouse.TypeRelation{Type: "organisation", Relation: "delete"}, gatehouse.TypeRelation{Type: "organisation", Relation: "owner"}, true},
		{gatehouse.TypeRelation{Type: "contractor", Relation: "view"}, gatehouse.TypeRelation{Type: "organisation", Relation: "cis_processor"}, true},
		{gatehouse.TypeRelation{Type: "contractor", Relation: "view"}, gatehouse.TypeRelation{Type: "contractor", Relation: "organisation"}, true},
		{gatehouse.TypeRelation{Type: "organisation", Relation: "delete"}, gatehouse.TypeRelation{Type: "invoice", Relation: "organisation"}, false},
		{gatehouse.TypeRelation{Type: "organisation", Relation: "owner"}, gatehouse.TypeRelation{Type: "organisation", Relation: "owner"}, true},
	} {
		if got := reads(c.perm, c.changed); got != c.want {
			t.Errorf("%v reads %v: %v, want %v", c.perm, c.changed, got, c.want)
		}
	}
}
