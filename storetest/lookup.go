package storetest

import (
	"fmt"
	"slices"

	"github.com/gatehouse-authz/gatehouse"
)

func testLookupResourcesPaging(f *fixture) {
	org, other, ada := f.id("org"), f.id("other"), f.id("ada")
	rels := []gatehouse.Relationship{
		f.rel("organisation:%s#administrator@user:%s", org, ada),
		f.rel("invoice:%s#organisation@organisation:%s", f.id("elsewhere"), other),
	}
	var want []string
	for i := range 7 {
		inv := gatehouse.Object{Type: "invoice", ID: f.id(fmt.Sprintf("inv%d", i))}
		rels = append(rels, f.rel("%s#organisation@organisation:%s", inv, org))
		want = append(want, inv.String())
	}
	slices.Sort(want)
	f.touch(rels...)
	req := gatehouse.LookupResourcesRequest{ResourceType: "invoice", Permission: "view", Subject: gatehouse.User(ada)}

	all, err := f.store.LookupResources(f.Context(), req)
	if err != nil {
		f.Fatal(err)
	}
	if all.Cursor != "" || all.ZedToken == "" {
		f.Errorf("unlimited lookup: cursor %q, token %q; want no cursor and a token", all.Cursor, all.ZedToken)
	}
	wantStrings(f, "unlimited lookup", objects(all.Resources), want)

	for _, limit := range []int{3, 7, 10000} {
		req.Limit, req.Cursor = limit, ""
		var got []string
		for page := 0; ; page++ {
			if page > len(want) {
				f.Fatalf("limit %d: still paging after %d pages", limit, page)
			}
			res, err := f.store.LookupResources(f.Context(), req)
			if err != nil {
				f.Fatalf("limit %d, page %d: %v", limit, page, err)
			}
			if len(res.Resources) > limit {
				f.Fatalf("limit %d, page %d: %d resources", limit, page, len(res.Resources))
			}
			got = append(got, objects(res.Resources)...)
			if res.Cursor == "" {
				break
			}
			req.Cursor = res.Cursor
		}
		slices.Sort(got)
		wantStrings(f, fmt.Sprintf("every page at limit %d", limit), got, want)
	}
}

// testLookupResourcesOnceAndFresh: a contractor an administrator who is
// also a CIS processor reaches two ways is listed once; a lookup repeated
// after a write through the Store that changes its answer (K2's flag, the
// role, a new contractor) sees the write (read-your-writes), and one
// repeated with no such write answers the same.
func testLookupResourcesOnceAndFresh(f *fixture) {
	org, ada := f.id("org"), f.id("ada")
	c := func(n int) string { return "contractor:" + f.id(fmt.Sprintf("c%d", n)) }
	flag := func(n int) gatehouse.Relationship {
		return gatehouse.Relationship{Resource: gatehouse.Object{Type: "contractor", ID: f.id(fmt.Sprintf("c%d", n))}, Relation: "admin_only", Subject: gatehouse.Wildcard("user")}
	}
	f.touch(
		f.rel("organisation:%s#administrator@user:%s", org, ada),
		f.rel("organisation:%s#cis_processor@user:%s", org, ada),
		f.rel("%s#organisation@organisation:%s", c(1), org),
		f.rel("%s#organisation@organisation:%s", c(2), org),
		flag(2),
	)
	req := gatehouse.LookupResourcesRequest{ResourceType: "contractor", Permission: "view", Subject: gatehouse.User(ada)}
	lookup := func(what string, want ...string) {
		f.Helper()
		for range 2 {
			res, err := f.store.LookupResources(f.Context(), req)
			if err != nil {
				f.Fatalf("%s: %v", what, err)
			}
			got := objects(res.Resources)
			slices.Sort(got)
			wantStrings(f, what, got, want)
		}
	}
	lookup("two ways to each contractor", c(1), c(2))
	f.write(gatehouse.Write{Updates: updates(gatehouse.Delete, f.rel("organisation:%s#administrator@user:%s", org, ada))})
	lookup("the administrator role taken away: c2 is admin-only (K2)", c(1))
	f.touch(f.rel("%s#organisation@organisation:%s", c(3), org))
	lookup("a new contractor", c(1), c(3))
	f.write(gatehouse.Write{Updates: updates(gatehouse.Delete, flag(2))})
	lookup("c2's flag lifted", c(1), c(2), c(3))
	f.write(gatehouse.Write{Updates: updates(gatehouse.Delete, f.rel("organisation:%s#cis_processor@user:%s", org, ada))})
	lookup("no role left")
}

func testLookupResourcesErrors(f *fixture) {
	for _, tc := range []struct {
		name string
		req  gatehouse.LookupResourcesRequest
	}{
		{"unknown type", gatehouse.LookupResourcesRequest{ResourceType: "spaceship", Permission: "view", Subject: gatehouse.User("ada")}},
		{"unknown permission", gatehouse.LookupResourcesRequest{ResourceType: "invoice", Permission: "pilot", Subject: gatehouse.User("ada")}},
		{"cursor it never returned", gatehouse.LookupResourcesRequest{ResourceType: "invoice", Permission: "view", Subject: gatehouse.User("ada"), Limit: 2, Cursor: "not-a-cursor"}},
	} {
		_, err := f.store.LookupResources(f.Context(), tc.req)
		wantCode(f, "lookup with "+tc.name, err, gatehouse.EINVALID)
	}
}

func testLookupSubjects(f *fixture) {
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	f.touch(
		f.rel("%s#owner@user:olivia", org),
		f.rel("%s#administrator@user:ada", org),
		f.rel("%s#finance_admin@user:ada", org),
		f.rel("%s#cis_processor@user:carla", org),
		f.rel("%s#main_contact@user:mike", org),
	)
	got, tok, err := f.store.LookupSubjects(f.Context(), gatehouse.LookupSubjectsRequest{Resource: org, Permission: "member", SubjectType: "user"})
	if err != nil {
		f.Fatal(err)
	}
	if tok == "" {
		f.Error("LookupSubjects returned no ZedToken")
	}
	wantStrings(f, "members", subjects(got), []string{"user:ada", "user:carla", "user:olivia"})

	_, _, err = f.store.LookupSubjects(f.Context(), gatehouse.LookupSubjectsRequest{Resource: org, Permission: "pilot", SubjectType: "user"})
	wantCode(f, "lookup of an unknown permission", err, gatehouse.EINVALID)
}

func testLookupSubjectsWildcard(f *fixture) {
	org := f.id("org")
	flagged := gatehouse.Object{Type: "contractor", ID: f.id("flagged")}
	open := gatehouse.Object{Type: "contractor", ID: f.id("open")}
	f.touch(
		f.rel("organisation:%s#administrator@user:ada", org),
		f.rel("organisation:%s#it_manager@user:ian", org),
		f.rel("%s#organisation@organisation:%s", flagged, org),
		f.rel("%s#organisation@organisation:%s", open, org),
		gatehouse.Relationship{Resource: flagged, Relation: "admin_only", Subject: gatehouse.Wildcard("user")},
	)
	for _, tc := range []struct {
		resource   gatehouse.Object
		permission string
		want       []string
	}{
		{flagged, "admin_only", []string{"user:*"}},
		{flagged, "view", []string{"user:ada"}},
		{open, "view", []string{"user:ada", "user:ian"}},
	} {
		got, _, err := f.store.LookupSubjects(f.Context(), gatehouse.LookupSubjectsRequest{Resource: tc.resource, Permission: tc.permission, SubjectType: "user"})
		if err != nil {
			f.Fatal(err)
		}
		wantStrings(f, tc.resource.String()+"#"+tc.permission, subjects(got), tc.want)
	}
}

func testExplain(f *fixture) {
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	inv := gatehouse.Object{Type: "invoice", ID: f.id("inv")}
	admin := f.rel("%s#administrator@user:ada", org)
	finance := f.rel("%s#finance_admin@user:ada", org)
	link := f.rel("%s#organisation@%s", inv, org)
	f.touch(admin, finance, link, f.rel("%s#billing_manager@user:bill", org))
	ex, err := f.store.Explain(f.Context(), gatehouse.CheckRequest{Resource: inv, Permission: "view", Subject: gatehouse.User("ada")})
	if err != nil {
		f.Fatal(err)
	}
	if !ex.Allowed || ex.ZedToken == "" {
		f.Fatalf("explain: allowed %v, token %q", ex.Allowed, ex.ZedToken)
	}
	var got []string
	for _, p := range ex.Paths {
		got = append(got, fmt.Sprint(strsInOrder(p)))
	}
	slices.Sort(got)
	want := []string{
		fmt.Sprint([]string{admin.String(), link.String()}),
		fmt.Sprint([]string{finance.String(), link.String()}),
	}
	wantStrings(f, "paths, subject side first", got, want)

	_, err = f.store.Explain(f.Context(), gatehouse.CheckRequest{Resource: inv, Permission: "pilot", Subject: gatehouse.User("ada")})
	wantCode(f, "explain of an unknown permission", err, gatehouse.EINVALID)
}

func testExplainDenied(f *fixture) {
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	f.touch(f.rel("%s#administrator@user:ada", org))
	ex, err := f.store.Explain(f.Context(), gatehouse.CheckRequest{Resource: org, Permission: "delete", Subject: gatehouse.User("ada")})
	if err != nil {
		f.Fatal(err)
	}
	if ex.Allowed || len(ex.Paths) != 0 || ex.ZedToken == "" {
		f.Fatalf("explain of a denied check = %+v, want not allowed, no path, a token", ex)
	}
}

func objects(os []gatehouse.Object) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.String()
	}
	slices.Sort(out)
	return out
}

func subjects(ss []gatehouse.Subject) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return out
}

func strsInOrder(rels []gatehouse.Relationship) []string {
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = r.String()
	}
	return out
}
