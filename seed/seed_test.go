package seed_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/seed"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// TestLoadTwiceChangesNothing loads the demo data twice and finds the same
// relationships, each organisation with exactly one owner (O2).
func TestLoadTwiceChangesNothing(t *testing.T) {
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	store := spicedb.New(emb.Conn, emb.Options()...)
	if err := store.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	read := func() []string {
		var all []string
		for _, typ := range []string{"organisation", "contractor", "invoice", "platform"} {
			rels, _, err := store.ReadRelationships(t.Context(), gatehouse.Filter{ResourceType: typ}, gatehouse.Consistency{FullyConsistent: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rels {
				all = append(all, r.String())
			}
		}
		slices.Sort(all)
		return all
	}
	if err := seed.Load(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	first := read()
	if err := seed.Load(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	if second := read(); !slices.Equal(first, second) {
		t.Fatalf("a second load changed the data:\n%v\n%v", first, second)
	}
	for _, org := range []string{"brightcis", "acme", "globex"} {
		rels, _, err := store.ReadRelationships(t.Context(), gatehouse.Filter{ResourceType: "organisation", ResourceID: org, Relation: "owner"}, gatehouse.Consistency{FullyConsistent: true})
		if err != nil || len(rels) != 1 {
			t.Errorf("O2: %s has %d owners (%v)", org, len(rels), err)
		}
	}
}

// TestDemoRequestsInEveryStatus reads the demo change requests through
// the workflow: one in each status (C3, C4, C9, C13), the closed ones
// with who closed them, when and why; and the no_financial_access IT
// manager sees no billing (R7).
func TestDemoRequestsInEveryStatus(t *testing.T) {
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	store := spicedb.New(emb.Conn, emb.Options()...)
	if err := store.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	if err := seed.Load(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	svc := workflow.New(store)
	for id, status := range map[string]string{
		"globex-cr-authorised": workflow.StatusAuthorised,
		"globex-cr-pending":    workflow.StatusPending,
		"acme-cr-blocked":      workflow.StatusBlocked,
		"globex-cr-rejected":   workflow.StatusRejected,
		"globex-cr-withdrawn":  workflow.StatusWithdrawn,
	} {
		cr, err := svc.ChangeRequest(t.Context(), gatehouse.User("stella"), id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if cr.Status != status {
			t.Errorf("%s: status %s, want %s", id, cr.Status, status)
		}
		if cr.Closed() && (cr.ClosedBy == nil || cr.ClosedAt == nil || cr.Reason == "") {
			t.Errorf("%s: closed without who, when or why: %+v", id, cr)
		}
	}
	r, err := store.Check(t.Context(), gatehouse.CheckRequest{Resource: gatehouse.OrganisationRef("acme"), Permission: "view_billing", Subject: gatehouse.User("vic"), Consistency: gatehouse.Consistency{FullyConsistent: true}})
	if err != nil || r.Allowed {
		t.Errorf("R7: vic views acme's billing (%v)", err)
	}
}

// TestT4DesignationsHeldByMembers: every designation in the demo data is
// held by a member of its organisation, someone holding a role there (T4),
// so the demo never shows a contact or director who could not list or
// view what they are asked to authorise.
func TestT4DesignationsHeldByMembers(t *testing.T) {
	rels, err := seed.Relationships()
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]bool{} // "org/user"
	for _, r := range rels {
		if r.Resource.Type == gatehouse.TypeOrganisation && gatehouse.IsRole(r.Relation) {
			members[r.Resource.ID+"/"+r.Subject.ID] = true
		}
	}
	designations := 0
	for _, r := range rels {
		if r.Resource.Type != gatehouse.TypeOrganisation || !gatehouse.IsDesignation(r.Relation) {
			continue
		}
		designations++
		if !members[r.Resource.ID+"/"+r.Subject.ID] {
			t.Errorf("T4: %s designates %s, who holds no role in %s", r, r.Subject, r.Resource.ID)
		}
	}
	if designations == 0 {
		t.Fatal("the demo data holds no designation: the test proves nothing")
	}
}
