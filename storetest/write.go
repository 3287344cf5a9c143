package storetest

import (
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

func testTouch(f *fixture) {
	org := f.id("org")
	r := f.rel("organisation:%s#administrator@user:ada", org)
	f.touch(r)
	f.touch(r)
	wantStrings(f, "after two touches", f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), []string{r.String()})
}

func testCreate(f *fixture) {
	org := f.id("org")
	r := f.rel("organisation:%s#administrator@user:ada", org)
	f.write(gatehouse.Write{Updates: updates(gatehouse.Create, r)})
	_, err := f.store.Write(f.Context(), gatehouse.Write{Updates: updates(gatehouse.Create, r)})
	wantCode(f, "create of an existing relationship", err, gatehouse.ECONFLICT)
	wantStrings(f, "after the refused create", f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), []string{r.String()})
}

func testDelete(f *fixture) {
	org := f.id("org")
	ada := f.rel("organisation:%s#administrator@user:ada", org)
	bob := f.rel("organisation:%s#finance_admin@user:bob", org)
	f.touch(ada, bob)
	f.write(gatehouse.Write{Updates: updates(gatehouse.Delete, ada, f.rel("organisation:%s#owner@user:nobody", org))})
	wantStrings(f, "after the delete", f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), []string{bob.String()})
}

func testMustMatchFails(f *fixture) {
	org := f.id("org")
	r := f.rel("organisation:%s#administrator@user:ada", org)
	_, err := f.store.Write(f.Context(), gatehouse.Write{
		Updates:       updates(gatehouse.Touch, r),
		Preconditions: []gatehouse.Precondition{{MustMatch: true, Filter: gatehouse.Filter{ResourceType: "organisation", ResourceID: org, Relation: "owner"}}},
	})
	wantCode(f, "write whose MustMatch fails", err, gatehouse.ECONFLICT)
	wantStrings(f, "after the refused write", f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), nil)
}

func testMustNotMatchFails(f *fixture) {
	org := f.id("org")
	owner := f.rel("organisation:%s#owner@user:olivia", org)
	f.touch(owner)
	_, err := f.store.Write(f.Context(), gatehouse.Write{
		Updates:       updates(gatehouse.Touch, f.rel("organisation:%s#owner@user:mallory", org)),
		Preconditions: []gatehouse.Precondition{{Filter: gatehouse.Filter{ResourceType: "organisation", ResourceID: org, Relation: "owner"}}},
	})
	wantCode(f, "write whose MustNotMatch fails", err, gatehouse.ECONFLICT)
	wantStrings(f, "after the refused write", f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), []string{owner.String()})
}

func testPreconditionsHold(f *fixture) {
	org := f.id("org")
	owner := f.rel("organisation:%s#owner@user:olivia", org)
	f.touch(owner)
	sa := f.rel("organisation:%s#security_admin@user:sam", org)
	f.write(gatehouse.Write{
		Updates: updates(gatehouse.Touch, sa),
		Preconditions: []gatehouse.Precondition{
			{MustMatch: true, Filter: gatehouse.Filter{ResourceType: "organisation", ResourceID: org, Relation: "owner", SubjectType: "user", SubjectID: "olivia"}},
			{Filter: gatehouse.Filter{ResourceType: "organisation", ResourceID: org, Relation: "security_admin"}},
		},
	})
	wantStrings(f, "after the write", f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), []string{owner.String(), sa.String()})
}

func testAtomic(f *fixture) {
	org := f.id("org")
	existing := f.rel("organisation:%s#owner@user:olivia", org)
	f.touch(existing)
	fresh := f.rel("organisation:%s#administrator@user:ada", org)
	for _, tc := range []struct {
		name string
		bad  gatehouse.Update
		code string
	}{
		{"a create that conflicts", gatehouse.Update{Op: gatehouse.Create, Relationship: existing}, gatehouse.ECONFLICT},
		{"an unknown relation", gatehouse.Update{Op: gatehouse.Touch, Relationship: f.rel("organisation:%s#pilot@user:ada", org)}, gatehouse.EINVALID},
	} {
		_, err := f.store.Write(f.Context(), gatehouse.Write{Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: fresh}, tc.bad}})
		wantCode(f, "a write with "+tc.name, err, tc.code)
		wantStrings(f, "after a write with "+tc.name, f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), []string{existing.String()})
	}
}

func testWriteRefusals(f *fixture) {
	org := f.id("org")
	r := f.rel("organisation:%s#administrator@user:ada", org)
	many := make([]gatehouse.Relationship, 1001)
	for i := range many {
		many[i] = f.rel("invoice:%s_%d#organisation@organisation:%s", org, i, org)
	}
	for _, tc := range []struct {
		name string
		w    gatehouse.Write
	}{
		{"unknown type", gatehouse.Write{Updates: updates(gatehouse.Touch, f.rel("spaceship:%s#pilot@user:ada", org))}},
		{"unknown relation", gatehouse.Write{Updates: updates(gatehouse.Touch, f.rel("organisation:%s#pilot@user:ada", org))}},
		{"subject type the relation refuses", gatehouse.Write{Updates: updates(gatehouse.Touch, f.rel("organisation:%s#administrator@platform:provider", org))}},
		{"wildcard the relation refuses", gatehouse.Write{Updates: updates(gatehouse.Touch, gatehouse.Relationship{
			Resource: gatehouse.Object{Type: "organisation", ID: org}, Relation: "administrator", Subject: gatehouse.Wildcard("user"),
		})}},
		{"one relationship twice", gatehouse.Write{Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: r}, {Op: gatehouse.Delete, Relationship: r}}}},
		{"more than 1000 updates", gatehouse.Write{Updates: updates(gatehouse.Touch, many...)}},
		{"precondition on an unknown type", gatehouse.Write{
			Updates:       updates(gatehouse.Touch, r),
			Preconditions: []gatehouse.Precondition{{MustMatch: true, Filter: gatehouse.Filter{ResourceType: "spaceship"}}},
		}},
	} {
		_, err := f.store.Write(f.Context(), tc.w)
		wantCode(f, "write of "+tc.name, err, gatehouse.EINVALID)
	}
	wantStrings(f, "after the refused writes", f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), nil)
	wantStrings(f, "after the refused writes", f.read(gatehouse.Filter{ResourceType: "invoice", IDPrefix: org}), nil)
}

func testExpiration(f *fixture) {
	org := f.id("org")
	kind := org + "/user_change"
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r := f.rel("change_kind:%s#exception@user:ada[expiration:%s]", kind, at.Format(time.RFC3339))
	f.touch(r)
	rels, _, err := f.store.ReadRelationships(f.Context(), gatehouse.Filter{ResourceType: "change_kind", ResourceID: kind}, gatehouse.Consistency{})
	if err != nil {
		f.Fatal(err)
	}
	if len(rels) != 1 || rels[0].ExpiresAt == nil || !rels[0].ExpiresAt.Equal(at) {
		f.Fatalf("read %v, want %s", strs(rels), r)
	}
	if !f.allowed(gatehouse.Object{Type: "change_kind", ID: kind}, "excepted", gatehouse.User("ada")) {
		f.Fatal("an exception that expires in an hour does not grant")
	}
	if !strings.Contains(rels[0].String(), "[expiration:") {
		f.Fatalf("%s does not show its expiration", rels[0])
	}
}
