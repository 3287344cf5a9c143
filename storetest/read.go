package storetest

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

func testReadFilters(f *fixture) {
	prefixed := f.id("rf") + "_"
	a, b := prefixed+"a", prefixed+"b"
	inv := f.id("inv")
	adaA := f.rel("organisation:%s#administrator@user:ada", a)
	bobA := f.rel("organisation:%s#finance_admin@user:bob", a)
	adaB := f.rel("organisation:%s#administrator@user:ada", b)
	link := f.rel("invoice:%s#organisation@organisation:%s", inv, a)
	tok := f.touch(adaA, bobA, adaB, link)

	for _, tc := range []struct {
		name string
		fl   gatehouse.Filter
		want []gatehouse.Relationship
	}{
		{"resource id", gatehouse.Filter{ResourceType: "organisation", ResourceID: a}, []gatehouse.Relationship{adaA, bobA}},
		{"id prefix", gatehouse.Filter{ResourceType: "organisation", IDPrefix: prefixed}, []gatehouse.Relationship{adaA, adaB, bobA}},
		{"relation", gatehouse.Filter{ResourceType: "organisation", IDPrefix: prefixed, Relation: "administrator"}, []gatehouse.Relationship{adaA, adaB}},
		{"subject type", gatehouse.Filter{ResourceType: "invoice", ResourceID: inv, SubjectType: "organisation"}, []gatehouse.Relationship{link}},
		{"subject type that matches nothing", gatehouse.Filter{ResourceType: "invoice", ResourceID: inv, SubjectType: "user"}, nil},
		{"subject id", gatehouse.Filter{ResourceType: "organisation", IDPrefix: prefixed, SubjectType: "user", SubjectID: "ada"}, []gatehouse.Relationship{adaA, adaB}},
		{"subject relation", gatehouse.Filter{ResourceType: "invoice", ResourceID: inv, SubjectType: "organisation", SubjectRelation: "owner"}, nil},
		{"every field", gatehouse.Filter{ResourceType: "organisation", ResourceID: a, Relation: "finance_admin", SubjectType: "user", SubjectID: "bob"}, []gatehouse.Relationship{bobA}},
	} {
		wantStrings(f, "filter by "+tc.name, f.read(tc.fl), strs(tc.want))
	}

	rels, readAt, err := f.store.ReadRelationships(f.Context(), gatehouse.Filter{ResourceType: "organisation", ResourceID: a}, gatehouse.Consistency{AtLeastAsFresh: tok})
	if err != nil || len(rels) != 2 || readAt == "" {
		f.Fatalf("read at least as fresh as the write: %v, token %q, %v", strs(rels), readAt, err)
	}
	_, _, err = f.store.ReadRelationships(f.Context(), gatehouse.Filter{ResourceType: "spaceship"}, gatehouse.Consistency{})
	wantCode(f, "read of an unknown type", err, gatehouse.EINVALID)
}

// testManyRelationships writes more relationships than SpiceDB returns in
// one page or deletes in one call, reads them all back and deletes them all.
func testManyRelationships(f *fixture) {
	const n = 1234
	org := f.id("org")
	prefix := f.id("many") + "_"
	rels := make([]gatehouse.Relationship, n)
	for i := range rels {
		rels[i] = f.rel("invoice:%s%04d#organisation@organisation:%s", prefix, i, org)
	}
	f.touch(rels[:1000]...)
	f.touch(rels[1000:]...)
	wantStrings(f, "read past one page", f.read(gatehouse.Filter{ResourceType: "invoice", IDPrefix: prefix}), strs(rels))

	audit := gatehouse.Audit{Actor: "user:olivia", Action: "delete_invoices", Organisation: org}
	deleted, tok, err := f.store.DeleteMatching(f.Context(), []gatehouse.Filter{{ResourceType: "invoice", IDPrefix: prefix}}, audit)
	if err != nil || deleted != n || tok == "" {
		f.Fatalf("DeleteMatching = %d, token %q, %v; want %d and a token", deleted, tok, err, n)
	}
	wantStrings(f, "read after DeleteMatching", f.read(gatehouse.Filter{ResourceType: "invoice", IDPrefix: prefix}), nil)

	events, _, err := f.trail.List(f.Context(), gatehouse.AuditQuery{Organisation: org})
	if err != nil {
		f.Fatal(err)
	}
	// One event per batch, newest first, each listing what it deleted.
	var sizes []int
	var changes []string
	for _, e := range events {
		if e.Action == audit.Action {
			sizes = append(sizes, len(e.Changes))
			changes = append(changes, e.Changes...)
		}
	}
	if !slices.Equal(sizes, []int{n - 1000, 1000}) {
		f.Fatalf("audit of the batches, newest first: %v changes, want [%d 1000]", sizes, n-1000)
	}
	want := make([]string, n)
	for i, r := range rels {
		want[i] = "delete " + r.String()
	}
	slices.Sort(want)
	slices.Sort(changes)
	wantStrings(f, "audit of the batches: every relationship deleted", changes, want)
}

func testDeleteMatchingFilters(f *fixture) {
	org := f.id("org")
	inv := f.id("inv")
	keep := f.rel("organisation:%s#owner@user:olivia", org)
	f.touch(
		keep,
		f.rel("organisation:%s#administrator@user:ada", org),
		f.rel("organisation:%s#administrator@user:al", org),
		f.rel("organisation:%s#finance_admin@user:ada", org),
		f.rel("invoice:%s#organisation@organisation:%s", inv, org),
	)
	deleted, _, err := f.store.DeleteMatching(f.Context(), []gatehouse.Filter{
		{ResourceType: "organisation", ResourceID: org, Relation: "administrator"},
		{ResourceType: "organisation", ResourceID: org, SubjectType: "user", SubjectID: "ada"},
		{ResourceType: "invoice", ResourceID: inv, SubjectType: "organisation", SubjectID: org},
		{ResourceType: "contractor", ResourceID: f.id("none")},
	}, gatehouse.Audit{})
	if err != nil || deleted != 4 {
		f.Fatalf("DeleteMatching = %d, %v; want 4", deleted, err)
	}
	wantStrings(f, "what is left", f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), []string{keep.String()})
	wantStrings(f, "what is left", f.read(gatehouse.Filter{ResourceType: "invoice", ResourceID: inv}), nil)

	deleted, _, err = f.store.DeleteMatching(f.Context(), []gatehouse.Filter{{ResourceType: "contractor", ResourceID: f.id("none")}}, gatehouse.Audit{})
	if err != nil || deleted != 0 {
		f.Fatalf("DeleteMatching of nothing = %d, %v", deleted, err)
	}
	_, _, err = f.store.DeleteMatching(f.Context(), []gatehouse.Filter{{ResourceType: "spaceship"}}, gatehouse.Audit{})
	wantCode(f, "DeleteMatching of an unknown type", err, gatehouse.EINVALID)
}

func testReadSchema(f *fixture) {
	got, err := f.store.ReadSchema(f.Context())
	if err != nil {
		f.Fatal(err)
	}
	for _, def := range []string{"user", "label", "platform", "organisation", "contractor", "invoice", "change_kind", "change_target", "change_request"} {
		if !strings.Contains(got, "definition "+def+" {") {
			f.Errorf("the schema read has no definition %s", def)
		}
	}
}

func testWriteSchema(f *fixture) {
	extra := "storetest_" + f.run
	if err := f.store.WriteSchema(f.Context(), schema.Text+"\ndefinition "+extra+" {}\n"); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		// The test's context has ended by the time cleanups run.
		if err := f.store.WriteSchema(context.Background(), schema.Text); err != nil {
			f.Errorf("writing Gatehouse's schema back: %v", err)
		}
	})
	got, err := f.store.ReadSchema(f.Context())
	if err != nil || !strings.Contains(got, "definition "+extra+" {") {
		f.Fatalf("the schema read after the write has no definition %s (%v)", extra, err)
	}
	if err := f.store.WriteSchema(f.Context(), schema.Text); err != nil {
		f.Fatal(err)
	}
	got, err = f.store.ReadSchema(f.Context())
	if err != nil || strings.Contains(got, "definition "+extra+" {") {
		f.Fatalf("the schema read after writing Gatehouse's back still has %s (%v)", extra, err)
	}
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	f.touch(f.rel("%s#administrator@user:ada", org))
	if !f.allowed(org, "member", gatehouse.User("ada")) {
		f.Fatal("a check after the schema writes does not see a write")
	}
}

func testWriteSchemaInvalid(f *fixture) {
	before, err := f.store.ReadSchema(f.Context())
	if err != nil {
		f.Fatal(err)
	}
	for name, text := range map[string]string{
		"a syntax error":  "definition {",
		"an unknown type": "definition doc { relation viewer: spaceship }",
	} {
		wantCode(f, "schema with "+name, f.store.WriteSchema(f.Context(), text), gatehouse.EINVALID)
	}
	after, err := f.store.ReadSchema(f.Context())
	if err != nil || after != before {
		f.Fatalf("a refused schema changed the schema (%v)", err)
	}
}
