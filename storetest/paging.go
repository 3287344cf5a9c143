package storetest

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-authz/gatehouse"
)

// pageAll follows one list's cursor from the first page to the last and
// returns every item in page order. Between the first and second page it
// runs between, to prove later pages read the first page's snapshot.
func pageAll(f *fixture, what string, limit int, between func(), page func(cursor string) ([]string, string, error)) []string {
	f.Helper()
	var got []string
	cursor := ""
	for n := 0; ; n++ {
		if n > 100 {
			f.Fatalf("%s at limit %d: still paging after %d pages", what, limit, n)
		}
		items, next, err := page(cursor)
		if err != nil {
			f.Fatalf("%s at limit %d, page %d: %v", what, limit, n, err)
		}
		if len(items) > limit {
			f.Fatalf("%s at limit %d, page %d: %d items", what, limit, n, len(items))
		}
		if next != "" && len(items) < limit {
			f.Fatalf("%s at limit %d, page %d: a cursor after a short page of %d", what, limit, n, len(items))
		}
		got = append(got, items...)
		if next == "" {
			return got
		}
		if n == 0 && between != nil {
			between()
		}
		cursor = next
	}
}

// testReadPaging pages through a read at several limits: every match once,
// no cursor after the last page, and a write between pages does not show.
func testReadPaging(f *fixture) {
	org := f.id("org")
	prefix := f.id("pg") + "_"
	var rels []gatehouse.Relationship
	for i := range 7 {
		rels = append(rels, f.rel("invoice:%s%d#organisation@organisation:%s", prefix, i, org))
	}
	f.touch(rels...)
	want := strs(rels)
	fl := gatehouse.Filter{ResourceType: "invoice", IDPrefix: prefix}
	for i, limit := range []int{1, 3, 7, 8, 10000} {
		late := f.rel("invoice:%slate%d#organisation@organisation:%s", prefix, i, org)
		got := pageAll(f, "read", limit, func() { f.touch(late) }, func(cursor string) ([]string, string, error) {
			res, err := f.store.ReadRelationshipsPage(f.Context(), gatehouse.ReadRequest{Filter: fl, Limit: limit, Cursor: cursor})
			if err == nil && res.ZedToken == "" && len(res.Relationships) > 0 {
				err = errors.New("no ZedToken")
			}
			return strsInOrder(res.Relationships), res.Cursor, err
		})
		slices.Sort(got)
		wantStrings(f, fmt.Sprintf("every page at limit %d", limit), got, want)
		want = f.read(fl)
	}

	first, err := f.store.ReadRelationshipsPage(f.Context(), gatehouse.ReadRequest{Filter: fl, Limit: 2})
	if err != nil || first.Cursor == "" {
		f.Fatalf("first page: cursor %q, %v", first.Cursor, err)
	}
	other := gatehouse.Filter{ResourceType: "invoice", IDPrefix: prefix + "1"}
	for name, cursor := range map[string]string{"of another filter": first.Cursor, "never returned": "bm90LWEtY3Vyc29y"} {
		_, err = f.store.ReadRelationshipsPage(f.Context(), gatehouse.ReadRequest{Filter: other, Limit: 2, Cursor: cursor})
		wantField(f, "read with a cursor "+name, err, gatehouse.EINVALID, "cursor")
	}
}

// testReadPagingPastOnePage pages with limits that span SpiceDB's own
// page of 1000, and the cursor continues across a page of another limit.
func testReadPagingPastOnePage(f *fixture) {
	const n = 2100
	org := f.id("org")
	prefix := f.id("big") + "_"
	rels := make([]gatehouse.Relationship, n)
	for i := range rels {
		rels[i] = f.rel("invoice:%s%04d#organisation@organisation:%s", prefix, i, org)
	}
	for i := 0; i < n; i += 1000 {
		f.touch(rels[i:min(i+1000, n)]...)
	}
	fl := gatehouse.Filter{ResourceType: "invoice", IDPrefix: prefix}
	limits := []int{1500, 999, 10000}
	var got []string
	cursor := ""
	for i := 0; ; i++ {
		res, err := f.store.ReadRelationshipsPage(f.Context(), gatehouse.ReadRequest{Filter: fl, Limit: limits[i%len(limits)], Cursor: cursor})
		if err != nil {
			f.Fatalf("page %d: %v", i, err)
		}
		got = append(got, strsInOrder(res.Relationships)...)
		if cursor = res.Cursor; cursor == "" {
			break
		}
	}
	slices.Sort(got)
	wantStrings(f, "pages of 1500, 999, then the rest", got, strs(rels))
}

// testLookupSubjectsPaging pages through the holders of a permission:
// every holder once, in order of id, at the first page's snapshot.
func testLookupSubjectsPaging(f *fixture) {
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	var rels []gatehouse.Relationship
	var want []string
	for i := range 9 {
		u := fmt.Sprintf("u%d_%s", i, f.run)
		rels = append(rels, f.rel("%s#administrator@user:%s", org, u))
		want = append(want, "user:"+u)
	}
	f.touch(rels...)
	slices.Sort(want)
	req := gatehouse.LookupSubjectsRequest{Resource: org, Permission: "member", SubjectType: "user"}
	for i, limit := range []int{1, 2, 4, 9, 10} {
		late := f.rel("%s#administrator@user:a_late%d", org, i)
		gone := rels[i]
		got := pageAll(f, "lookup subjects", limit, func() {
			f.write(gatehouse.Write{Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: late}, {Op: gatehouse.Delete, Relationship: gone}}})
		}, func(cursor string) ([]string, string, error) {
			req.Limit, req.Cursor = limit, cursor
			res, err := f.store.LookupSubjectsPage(f.Context(), req)
			return subjects(res.Subjects), res.Cursor, err
		})
		wantStrings(f, fmt.Sprintf("every page at limit %d, in order", limit), got, want)
		all, _, err := f.store.LookupSubjects(f.Context(), gatehouse.LookupSubjectsRequest{Resource: org, Permission: "member", SubjectType: "user"})
		if err != nil {
			f.Fatal(err)
		}
		want = subjects(all)
	}
	req.Limit, req.Cursor = 2, ""
	first, err := f.store.LookupSubjectsPage(f.Context(), req)
	if err != nil || first.Cursor == "" {
		f.Fatalf("first page: cursor %q, %v", first.Cursor, err)
	}
	req.Permission, req.Cursor = "administrator", first.Cursor
	_, err = f.store.LookupSubjectsPage(f.Context(), req)
	wantField(f, "lookup with a cursor of another permission", err, gatehouse.EINVALID, "cursor")
}

// wantField is wantCode that also wants error.Field to be field.
func wantField(f *fixture, what string, err error, code, field string) {
	f.Helper()
	wantCode(f, what, err, code)
	var ge *gatehouse.Error
	if errors.As(err, &ge) && ge.Field != field {
		f.Fatalf("%s: field %q (%v), want %q", what, ge.Field, err, field)
	}
}
