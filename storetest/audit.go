package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

func testAuditEvent(f *fixture) {
	org := f.id("org")
	old := f.rel("organisation:%s#it_admin@user:ian", org)
	f.touch(old)
	audit := gatehouse.Audit{
		Actor: "user:olivia", Action: "grant_role", Reason: "new starter",
		Organisation: org, Details: map[string]string{"role": "administrator"},
	}
	added := f.rel("organisation:%s#administrator@user:ada", org)
	created := f.rel("organisation:%s#finance_admin@user:ada", org)
	before := time.Now()
	tok := f.write(gatehouse.Write{Audit: audit, Updates: []gatehouse.Update{
		{Op: gatehouse.Touch, Relationship: added},
		{Op: gatehouse.Create, Relationship: created},
		{Op: gatehouse.Delete, Relationship: old},
	}})
	after := time.Now()

	events, cursor, err := f.trail.List(f.Context(), gatehouse.AuditQuery{Organisation: org})
	if err != nil {
		f.Fatal(err)
	}
	if len(events) != 1 || cursor != "" {
		f.Fatalf("audit trail = %+v, cursor %q; want one event, the one attributed write", events, cursor)
	}
	e := events[0]
	if e.Actor != audit.Actor || e.Action != audit.Action || e.Reason != audit.Reason || e.Organisation != org || !maps.Equal(e.Details, audit.Details) {
		f.Errorf("event %+v, want the write's audit %+v", e.Audit, audit)
	}
	if e.ZedToken != tok {
		f.Errorf("event token %q, want the write's %q", e.ZedToken, tok)
	}
	if e.At.Before(before.Add(-time.Second)) || e.At.After(after.Add(time.Second)) {
		f.Errorf("event at %v, want between %v and %v", e.At, before, after)
	}
	// The trail lists what SpiceDB committed, as its Watch API reports it:
	// a created relationship is one touched into being.
	got := slices.Clone(e.Changes)
	slices.Sort(got)
	want := []string{"delete " + old.String(), "touch " + added.String(), "touch " + created.String()}
	slices.Sort(want)
	wantStrings(f, "changes", got, want)
}

func testAuditPaging(f *fixture) {
	org := f.id("org")
	var want []string
	for i := range 5 {
		action := fmt.Sprintf("step%d", i)
		f.write(gatehouse.Write{
			Audit:   gatehouse.Audit{Actor: "user:olivia", Action: action, Organisation: org},
			Updates: updates(gatehouse.Touch, f.rel("organisation:%s#administrator@user:u%d", org, i)),
		})
		want = append(want, action)
	}
	slices.Reverse(want)

	q := gatehouse.AuditQuery{Organisation: org, Limit: 2}
	var got []string
	for page := 0; ; page++ {
		if page > 5 {
			f.Fatal("still paging after 5 pages")
		}
		events, cursor, err := f.trail.List(f.Context(), q)
		if err != nil {
			f.Fatal(err)
		}
		if len(events) > q.Limit {
			f.Fatalf("page %d has %d events, limit %d", page, len(events), q.Limit)
		}
		for _, e := range events {
			got = append(got, e.Action)
		}
		if cursor == "" {
			break
		}
		q.Cursor = cursor
	}
	wantStrings(f, "every page, newest first", got, want)

	all, _, err := f.trail.List(f.Context(), gatehouse.AuditQuery{Organisation: org})
	if err != nil {
		f.Fatal(err)
	}
	if len(all) != 5 {
		f.Fatalf("without a limit: %d events, want 5", len(all))
	}
	_, _, err = f.trail.List(f.Context(), gatehouse.AuditQuery{Organisation: org, Cursor: "not-a-cursor"})
	wantCode(f, "audit trail with a cursor it never returned", err, gatehouse.EINVALID)
}

func testAuditFilters(f *fixture) {
	org, other := f.id("org"), f.id("other")
	write := func(actor, organisation string, i int) time.Time {
		f.write(gatehouse.Write{
			Audit:   gatehouse.Audit{Actor: actor, Action: "grant_role", Organisation: organisation},
			Updates: updates(gatehouse.Touch, f.rel("organisation:%s#administrator@user:u%d", organisation, i)),
		})
		return time.Now()
	}
	write("user:olivia", org, 0)
	write("user:olivia", other, 1)
	mid := write("user:sam", org, 2)
	time.Sleep(5 * time.Millisecond)
	write("user:olivia", org, 3)

	for _, tc := range []struct {
		name string
		q    gatehouse.AuditQuery
		want []string
	}{
		{"organisation", gatehouse.AuditQuery{Organisation: org}, []string{"3", "2", "0"}},
		{"other organisation", gatehouse.AuditQuery{Organisation: other}, []string{"1"}},
		{"actor", gatehouse.AuditQuery{Organisation: org, Actor: "user:sam"}, []string{"2"}},
		{"since", gatehouse.AuditQuery{Organisation: org, Since: mid}, []string{"3"}},
		{"until", gatehouse.AuditQuery{Organisation: org, Until: mid}, []string{"2", "0"}},
		{"action", gatehouse.AuditQuery{Organisation: org, Action: "grant_role", Actor: "user:olivia"}, []string{"3", "0"}},
		{"another action", gatehouse.AuditQuery{Organisation: org, Action: "remove_member"}, nil},
	} {
		events, _, err := f.trail.List(f.Context(), tc.q)
		if err != nil {
			f.Fatal(err)
		}
		var got []string
		for _, e := range events {
			for _, c := range e.Changes {
				got = append(got, c[len(c)-1:])
			}
		}
		wantStrings(f, "filter by "+tc.name, got, tc.want)
	}
}

func testAuditFailedWrite(f *fixture) {
	org := f.id("org")
	_, err := f.store.Write(f.Context(), gatehouse.Write{
		Audit:         gatehouse.Audit{Actor: "user:olivia", Action: "grant_role", Organisation: org},
		Updates:       updates(gatehouse.Touch, f.rel("organisation:%s#administrator@user:ada", org)),
		Preconditions: []gatehouse.Precondition{{MustMatch: true, Filter: gatehouse.Filter{ResourceType: "organisation", ResourceID: org, Relation: "owner"}}},
	})
	wantCode(f, "write whose precondition fails", err, gatehouse.ECONFLICT)
	events, _, err := f.trail.List(f.Context(), gatehouse.AuditQuery{Organisation: org})
	if err != nil || len(events) != 0 {
		f.Fatalf("audit trail after a failed write = %+v, %v; want none", events, err)
	}
}

func testAuditAttribution(f *fixture) {
	org, c, inv := f.id("org"), f.id("c"), f.id("inv")
	staff := "user:" + f.id("staff")
	raw := func(rels ...gatehouse.Relationship) {
		f.write(gatehouse.Write{Audit: gatehouse.Audit{Actor: staff, Action: "write_relationships"}, Updates: updates(gatehouse.Touch, rels...)})
	}
	raw(f.rel("contractor:%s#organisation@organisation:%s", c, org))
	raw(f.rel("contractor:%s#label@label:%s", c, f.id("l")))
	raw(f.rel("invoice:%s#organisation@organisation:%s", inv, org))
	raw(f.rel("platform:provider#staff@%s", staff))
	if _, _, err := f.store.DeleteMatching(f.Context(), []gatehouse.Filter{{ResourceType: "contractor", ResourceID: c, Relation: "label"}},
		gatehouse.Audit{Actor: staff, Action: "delete_relationships"}); err != nil {
		f.Fatal(err)
	}

	events, _, err := f.trail.List(f.Context(), gatehouse.AuditQuery{Organisation: org, Actor: staff})
	if err != nil {
		f.Fatal(err)
	}
	if len(events) != 4 {
		f.Fatalf("organisation %s lists %d events, want the 4 raw writes on its contractor and invoice: %+v", org, len(events), events)
	}
	platform, _, err := f.trail.List(f.Context(), gatehouse.AuditQuery{Platform: true, Actor: staff})
	if err != nil {
		f.Fatal(err)
	}
	if len(platform) != 1 || platform[0].Organisation != "" || len(platform[0].Changes) != 1 ||
		platform[0].Changes[0] != "touch platform:provider#staff@"+staff {
		f.Fatalf("platform events = %+v, want the one platform#staff write", platform)
	}
	_, _, err = f.trail.List(f.Context(), gatehouse.AuditQuery{Platform: true, Organisation: org})
	wantCode(f, "platform and organisation at once", err, gatehouse.EINVALID)
}

func testAuditStableCursor(f *fixture) {
	org := f.id("org")
	write := func(i int) {
		f.write(gatehouse.Write{
			Audit:   gatehouse.Audit{Actor: "user:olivia", Action: fmt.Sprintf("a%03d", i), Organisation: org},
			Updates: updates(gatehouse.Touch, f.rel("organisation:%s#administrator@user:u%d", org, i)),
		})
	}
	for i := range 12 {
		write(i)
	}
	// Cursor stability is the point here, not how soon the trail shows a
	// write: wait until the twelve are listed, then page.
	for deadline := time.Now().Add(10 * time.Second); ; {
		events, _, err := f.trail.List(f.Context(), gatehouse.AuditQuery{Organisation: org, Limit: 100})
		if err != nil {
			f.Fatal(err)
		}
		if len(events) >= 12 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Page while more writes land: each page must continue exactly where
	// the one before stopped, whatever was written in between.
	q := gatehouse.AuditQuery{Organisation: org, Limit: 3}
	var got []string
	for page := 0; ; page++ {
		events, cursor, err := f.trail.List(f.Context(), q)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range events {
			got = append(got, e.Action)
		}
		write(100 + page)
		if cursor == "" {
			break
		}
		q.Cursor = cursor
	}
	// The first page may already hold none of the later writes; after it
	// every page is older than the one before, so the actions descend.
	var first12 []string
	for _, a := range got {
		if a < "a100" {
			first12 = append(first12, a)
		}
	}
	want := make([]string, 12)
	for i := range 12 {
		want[11-i] = fmt.Sprintf("a%03d", i)
	}
	wantStrings(f, "pages during writes: each earlier event once, newest first", first12, want)
}

func testAuditExport(f *fixture) {
	org := f.id("org")
	for i := range 3 {
		f.write(gatehouse.Write{
			Audit:   gatehouse.Audit{Actor: "user:olivia", Action: fmt.Sprintf("step%d", i), Organisation: org},
			Updates: updates(gatehouse.Touch, f.rel("organisation:%s#administrator@user:u%d", org, i)),
		})
	}
	var got []string
	if err := f.trail.Export(f.Context(), gatehouse.AuditQuery{Organisation: org, Limit: 1}, func(e gatehouse.AuditEvent) error {
		got = append(got, e.Action)
		return nil
	}); err != nil {
		f.Fatal(err)
	}
	wantStrings(f, "export, oldest first, every event", got, []string{"step0", "step1", "step2"})
}

// testAuditPerOrganisation: one write touching two organisations is
// listed in each one's trail with that organisation's change only, and a
// platform change in the platform trail (X2, tenant isolation).
func testAuditPerOrganisation(f *fixture) {
	ta, tb, c := f.id("ta"), f.id("tb"), f.id("c")
	staff := "user:" + f.id("staff")
	f.touch(f.rel("contractor:%s#organisation@organisation:%s", c, tb))
	f.write(gatehouse.Write{Audit: gatehouse.Audit{Actor: staff, Action: "write_relationships", Reason: "two at once"}, Updates: updates(gatehouse.Touch,
		f.rel("organisation:%s#cis_processor@user:x1", ta),
		f.rel("organisation:%s#cis_processor@user:y1", tb),
		f.rel("contractor:%s#label@label:%s", c, f.id("l")),
		f.rel("platform:provider#staff@user:%s", f.id("p")),
	)})
	changesOf := func(q gatehouse.AuditQuery) []string {
		f.Helper()
		q.Actor = staff
		events, _, err := f.trail.List(f.Context(), q)
		if err != nil {
			f.Fatal(err)
		}
		if len(events) != 1 {
			f.Fatalf("trail %+v lists %d events of the write, want 1: %+v", q, len(events), events)
		}
		if events[0].Reason != "two at once" || events[0].Write == "" {
			f.Errorf("event %+v lost the write's record", events[0])
		}
		return events[0].Changes
	}
	wantStrings(f, "ta's trail", changesOf(gatehouse.AuditQuery{Organisation: ta}), []string{
		fmt.Sprintf("touch organisation:%s#cis_processor@user:x1", ta),
	})
	wantStrings(f, "tb's trail", changesOf(gatehouse.AuditQuery{Organisation: tb}), []string{
		fmt.Sprintf("touch contractor:%s#label@label:%s", c, f.id("l")),
		fmt.Sprintf("touch organisation:%s#cis_processor@user:y1", tb),
	})
	wantStrings(f, "the platform trail", changesOf(gatehouse.AuditQuery{Platform: true}), []string{
		fmt.Sprintf("touch platform:provider#staff@user:%s", f.id("p")),
	})
}

// testAuditUnencodable: a write whose record cannot be stored (a reason
// that is not UTF-8) is refused, naming the field, and writes nothing (X2).
func testAuditUnencodable(f *fixture) {
	org := f.id("org")
	rel := f.rel("organisation:%s#administrator@user:adam", org)
	_, err := f.store.Write(f.Context(), gatehouse.Write{
		Audit:   gatehouse.Audit{Actor: "user:olivia", Action: "transfer_ownership", Organisation: org, Reason: "\xff\xfebad"},
		Updates: updates(gatehouse.Touch, rel),
	})
	wantCode(f, "a write whose reason is not UTF-8", err, gatehouse.EINVALID)
	var ge *gatehouse.Error
	if errors.As(err, &ge) && ge.Field != "reason" {
		f.Errorf("refusal names field %q, want reason", ge.Field)
	}
	wantStrings(f, "relationships after the refused write", f.read(gatehouse.Filter{ResourceType: "organisation", ResourceID: org}), nil)
	if events, _, err := f.trail.List(f.Context(), gatehouse.AuditQuery{Organisation: org}); err != nil || len(events) != 0 {
		f.Fatalf("trail after the refused write = %+v, %v; want none", events, err)
	}
}
