package workflow_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// countingStore counts the writes that reach the Store it wraps.
type countingStore struct {
	gatehouse.Store
	writes atomic.Int32
}

func (c *countingStore) Write(ctx context.Context, w gatehouse.Write) (string, error) {
	c.writes.Add(1)
	return c.Store.Write(ctx, w)
}

// countedScratch is scratch, counting the scratch SpiceDBs it starts.
func countedScratch(n *atomic.Int32) dryrun.Engine {
	return func(ctx context.Context, rels []gatehouse.Relationship) (dryrun.Scratch, error) {
		n.Add(1)
		return scratch(ctx, rels)
	}
}

// eventsOf waits for the audit events of change request id in org (the
// trail follows SpiceDB's Watch stream) until there are at least n, and
// returns them, newest first.
func (f fixture) eventsOf(t *testing.T, org, id string, n int) []gatehouse.AuditEvent {
	t.Helper()
	var evs []gatehouse.AuditEvent
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		all, _, err := f.trail.List(t.Context(), gatehouse.AuditQuery{Organisation: org, Limit: 1000})
		mustOK(t, err, "listing the trail")
		evs = slices.DeleteFunc(all, func(e gatehouse.AuditEvent) bool { return e.Details["changeRequest"] != id })
		if len(evs) >= n {
			break
		}
	}
	return evs
}

// TestOneWritePerTransition proves issue 23's "one write per transition"
// for the change request's transitions that wrote more than once: a
// filing authorised as filed, and an authorisation that completes the
// request, are each one write with one audit record, settled in it (C14).
func TestOneWritePerTransition(t *testing.T) {
	f := mustFixture(t)
	g := mustGlobex(f, "one")

	t.Run("C3_a_filing_authorised_as_filed_is_one_write_one_record", func(t *testing.T) {
		counted := &countingStore{Store: f.store}
		svc := workflow.New(counted, workflow.WithScratch(scratch))
		st, err := svc.FileChangeRequest(t.Context(), g.pat, workflow.NewChangeRequest{ID: "one-std", Organisation: g.id, Kind: gatehouse.KindStandard})
		mustOK(t, err, "filing")
		wantState(t, st, workflow.StatusAuthorised, workflow.TierNone)
		if n := counted.writes.Load(); n != 1 {
			t.Errorf("the filing made %d writes, want 1", n)
		}
		if !f.settled("one-std") {
			t.Errorf("C14: not settled in the filing's write")
		}
		evs := f.eventsOf(t, g.id, "one-std", 1)
		if len(evs) != 1 {
			t.Fatalf("%d audit events, want 1: %+v", len(evs), evs)
		}
		e := evs[0]
		if e.Action != "file_change_request" || e.Details["authorisedAsFiled"] != "true" || e.Details["settled"] != "true" || e.Actor != g.pat.String() {
			t.Errorf("the one record: %+v", e)
		}
		for _, rel := range []string{"#authorised_by@" + g.pat.String(), "#settled@user:*", "#organisation@organisation:"} {
			if !slices.ContainsFunc(e.Changes, func(c string) bool { return strings.Contains(c, rel) }) {
				t.Errorf("the record's changes lack %s: %v", rel, e.Changes)
			}
		}

		// Without an engine, the same filing is three writes (as before).
		apart := &countingStore{Store: f.store}
		_, err = workflow.New(apart).FileChangeRequest(t.Context(), g.pat, workflow.NewChangeRequest{ID: "one-std-apart", Organisation: g.id, Kind: gatehouse.KindStandard})
		mustOK(t, err, "filing apart")
		if n := apart.writes.Load(); n != 3 {
			t.Errorf("the filing without an engine made %d writes, want 3 (file, authorise, settle)", n)
		}
	})

	t.Run("C14_a_completing_authorisation_is_one_write_and_settles", func(t *testing.T) {
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "one-svc", Kind: gatehouse.KindService})
		counted := &countingStore{Store: f.store}
		var started atomic.Int32
		svc := workflow.New(counted, workflow.WithScratch(countedScratch(&started)))
		st, err := svc.AuthoriseChangeRequest(t.Context(), g.tom, "one-svc", "fine")
		mustOK(t, err, "authorising")
		wantState(t, st, workflow.StatusAuthorised, workflow.TierNone)
		if n := counted.writes.Load(); n != 1 {
			t.Errorf("the authorisation made %d writes, want 1", n)
		}
		if !f.settled("one-svc") {
			t.Errorf("C14: not settled in the authorisation's write")
		}
		for _, u := range []gatehouse.Subject{g.tom, g.mia, g.alan} {
			if got := f.awaiting(t, u, g.id); slices.Contains(got, "one-svc") {
				t.Errorf("C14: the settled request awaits %s: %v", u, got)
			}
		}
		evs := f.eventsOf(t, g.id, "one-svc", 2)
		if len(evs) != 2 || evs[0].Action != "authorise_change_request" || evs[0].Details["settled"] != "true" || evs[0].Reason != "fine" {
			t.Errorf("want the filing and one authorisation record saying settled: %+v", evs)
		}
		if n := started.Load(); n != 1 {
			t.Errorf("%d scratch SpiceDBs started, want 1", n)
		}
	})

	t.Run("C16_an_authorisation_that_leaves_an_approval_starts_no_scratch", func(t *testing.T) {
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "one-cfg", Kind: gatehouse.KindConfiguration})
		counted := &countingStore{Store: f.store}
		var started atomic.Int32
		svc := workflow.New(counted, workflow.WithScratch(countedScratch(&started)))
		st, err := svc.AuthoriseChangeRequest(t.Context(), g.tom, "one-cfg", "")
		mustOK(t, err, "authorising")
		if st.Status != workflow.StatusPending || !st.Needs(workflow.NeedConfiguration) || f.settled("one-cfg") {
			t.Errorf("want pending on the configuration approval, unsettled: %+v", st)
		}
		if n, s := counted.writes.Load(), started.Load(); n != 1 || s != 0 {
			t.Errorf("%d writes and %d scratch SpiceDBs, want 1 and 0", n, s)
		}
		// The last yes completes it: one write, settled.
		st, err = svc.AuthoriseChangeRequest(t.Context(), g.mia, "one-cfg", "")
		mustOK(t, err, "approving")
		if n := counted.writes.Load(); st.Status != workflow.StatusAuthorised || n != 2 || !f.settled("one-cfg") {
			t.Errorf("the approval: status %s, %d writes in all, settled %v; want authorised, 2, settled", st.Status, n, f.settled("one-cfg"))
		}
	})
}

// TestOneWriteConflictDecidesAfresh changes the state between a staged
// transition's evaluation and its one write: the write's preconditions
// fail, and the transition is weighed again from a fresh load.
func TestOneWriteConflictDecidesAfresh(t *testing.T) {
	f := mustFixture(t)
	g := mustGlobex(f, "afresh")

	t.Run("C1_the_filer_removed_before_the_write", func(t *testing.T) {
		hooked := workflow.New(&actionHookStore{Store: f.store, action: "file_change_request", before: func() {
			if _, err := f.svc.RemoveMember(t.Context(), g.owner(), g.id, g.alan, ""); err != nil {
				t.Errorf("removing alan: %v", err)
			}
		}}, workflow.WithScratch(scratch))
		_, err := hooked.FileChangeRequest(t.Context(), g.alan, workflow.NewChangeRequest{ID: "afresh-alan", Organisation: g.id, Kind: gatehouse.KindService})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermMember})
		if rels := f.relationshipsOf(gatehouse.ChangeRequestRef("afresh-alan")); len(rels) != 0 {
			t.Errorf("filed anyway: %v", rels)
		}
	})

	t.Run("C15_a_flag_raised_before_the_write", func(t *testing.T) {
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "afresh-flag", Kind: gatehouse.KindService})
		var raised atomic.Bool
		hooked := workflow.New(&actionHookStore{Store: f.store, action: "authorise_change_request", before: func() {
			if _, err := f.svc.RaiseFlags(t.Context(), staff, "afresh-flag", true, false); err != nil {
				t.Errorf("raising the flag: %v", err)
			}
			raised.Store(true)
		}}, workflow.WithScratch(scratch))
		st, err := hooked.AuthoriseChangeRequest(t.Context(), g.tom, "afresh-flag", "")
		mustOK(t, err, "authorising")
		if !raised.Load() {
			t.Fatal("the flag was never raised")
		}
		if st.Status != workflow.StatusPending || !st.Needs(workflow.NeedSecurity) || len(st.AuthorisedBy) != 1 {
			t.Errorf("want authorised by tom and pending on the security approval: %+v", st)
		}
		if f.settled("afresh-flag") {
			t.Errorf("C14, C15: settled although the raised flag needs an approval")
		}
		if got := f.awaiting(t, g.mia, g.id); !slices.Contains(got, "afresh-flag") {
			t.Errorf("C14: the request does not await mia's security approval: %v", got)
		}
	})
}

// TestOneWriteFilingAsTheTwoWritesDid files the same requests in two
// organisations alike, one filing staged as one write, the other written
// apart as before (file, authorise as filed, settle), and compares what
// they answer and leave: authorised as filed or not (C3, C5, C6, C8),
// legal mandates (C12), requests about their filer (C17).
func TestOneWriteFilingAsTheTwoWritesDid(t *testing.T) {
	f := mustFixture(t)
	staged, apart := mustGlobex(f, "stg"), mustGlobex(f, "apt")
	svcs := map[string]*workflow.Service{staged.id: f.svc, apart.id: workflow.New(f.store)}
	for _, g := range []globex{staged, apart} {
		// C6: pat holds an exception for public_facing changes.
		_, err := f.svc.GrantException(t.Context(), g.mia, workflow.Exception{Organisation: g.id, User: g.pat, Kind: gatehouse.KindPublicFacing}, "pat edits the website")
		mustOK(t, err, "granting the exception")
	}
	type filing struct {
		name   string
		filer  func(globex) gatehouse.Subject
		r      workflow.NewChangeRequest
		before func(globex)
	}
	who := func(pick func(globex) gatehouse.Subject) func(globex) gatehouse.Subject { return pick }
	pat, tom, mia, fiona, alan := who(func(g globex) gatehouse.Subject { return g.pat }), who(func(g globex) gatehouse.Subject { return g.tom }),
		who(func(g globex) gatehouse.Subject { return g.mia }), who(func(g globex) gatehouse.Subject { return g.fiona }), who(func(g globex) gatehouse.Subject { return g.alan })
	stella := func(globex) gatehouse.Subject { return staff }
	cases := []filing{
		{name: "C3_standard", filer: pat, r: workflow.NewChangeRequest{Kind: gatehouse.KindStandard}},
		{name: "C3_standard_flagged", filer: pat, r: workflow.NewChangeRequest{Kind: gatehouse.KindStandard, SubstantialSecurity: true}},
		{name: "C4_service_by_a_cis_processor", filer: pat, r: workflow.NewChangeRequest{Kind: gatehouse.KindService}},
		{name: "C5_technical_contact_own_area", filer: tom, r: workflow.NewChangeRequest{Kind: gatehouse.KindPublicFacing}},
		{name: "C5_technical_contact_outside", filer: tom, r: workflow.NewChangeRequest{Kind: gatehouse.KindSensitiveInformation}},
		{name: "C5_finance_contact", filer: fiona, r: workflow.NewChangeRequest{Kind: gatehouse.KindSensitiveInformation}},
		{name: "C5_main_contact_configuration", filer: mia, r: workflow.NewChangeRequest{Kind: gatehouse.KindConfiguration}},
		{name: "C5_main_contact_charge_flag", filer: mia, r: workflow.NewChangeRequest{Kind: gatehouse.KindPublicFacing, SubstantialCharge: true}},
		{name: "C6_exception", filer: pat, r: workflow.NewChangeRequest{Kind: gatehouse.KindPublicFacing, Target: "page:pricing"}},
		{name: "C8_alternate_not_asked", filer: alan, r: workflow.NewChangeRequest{Kind: gatehouse.KindService}},
		{name: "C12_legal_mandate", filer: stella, r: workflow.NewChangeRequest{Kind: gatehouse.KindAccessPermissions, LegalReason: "court order 7"}},
		{name: "C17_about_the_filer", filer: tom, r: workflow.NewChangeRequest{Kind: gatehouse.KindUserManagement, Target: "user:" + "TOM"}},
		{name: "C8_escalated_alternate", filer: alan, r: workflow.NewChangeRequest{Kind: gatehouse.KindService}, before: func(g globex) {
			for _, u := range []gatehouse.Subject{g.mia, g.tom} {
				_, err := f.svc.SetDesignation(t.Context(), staff, g.id, u, gatehouse.DesignationUnavailableContact, "away")
				mustOK(t, err, "marking %s unavailable", u)
			}
		}},
	}
	authorisedAsFiled := 0
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got [2]string
			for j, g := range []globex{staged, apart} {
				if tc.before != nil {
					tc.before(g)
				}
				r := tc.r
				r.ID, r.Organisation = g.id+"-"+string(rune('a'+i)), g.id
				r.Target = strings.ReplaceAll(r.Target, "TOM", g.tom.ID)
				st, err := svcs[g.id].FileChangeRequest(t.Context(), tc.filer(g), r)
				mustOK(t, err, "filing in %s", g.id)
				again, err := f.svc.ChangeRequest(t.Context(), staff, r.ID)
				mustOK(t, err, "reading")
				got[j] = strings.ReplaceAll(outcome(st)+" | read again: "+outcome(again)+" | settled "+map[bool]string{true: "yes", false: "no"}[f.settled(r.ID)], g.id+"-", "")
			}
			if got[0] != got[1] {
				t.Errorf("staged:\n  %s\napart:\n  %s", got[0], got[1])
			}
			if len(cases[i].r.LegalReason) == 0 && strings.Contains(got[0], "authorisedBy ["+"user:") {
				authorisedAsFiled++
			}
			t.Log(got[0])
		})
	}
	if authorisedAsFiled < 4 {
		t.Errorf("only %d filings authorised as filed; the table tries too little", authorisedAsFiled)
	}
}

// outcome says what a filing answered, apart from ids and tokens.
func outcome(st workflow.ChangeRequest) string {
	subs := func(ss []gatehouse.Subject) string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = s.String()
		}
		slices.Sort(out)
		return "[" + strings.Join(out, " ") + "]"
	}
	return strings.Join([]string{
		"status " + st.Status, "tier " + st.Tier, "needs " + strings.Join(st.ApprovalsNeeded, ","),
		"blocked " + strings.Join(st.BlockedOn, ","), "authorisers " + subs(st.Authorisers),
		"authorisedBy " + subs(st.AuthorisedBy), "securityApprovedBy " + subs(st.SecurityApprovedBy),
		"chargeApprovedBy " + subs(st.ChargeApprovedBy),
	}, "; ")
}

// TestOneWriteTooLargeWritesApart: an organisation whose own
// relationships outgrow what a stage weighs (dryrun.MaxRelationships) is
// written apart, as without an engine, and still decided by SpiceDB.
func TestOneWriteTooLargeWritesApart(t *testing.T) {
	f := mustFixture(t)
	g := mustGlobex(f, "huge")
	for from := 0; from <= dryrun.MaxRelationships; from += 1000 {
		var ups []gatehouse.Update
		for i := from; i < from+1000; i++ {
			ups = append(ups, gatehouse.Update{Op: gatehouse.Touch, Relationship: gatehouse.Relationship{Resource: g.ref(), Relation: gatehouse.RoleCISProcessor, Subject: gatehouse.User(fmt.Sprintf("huge-%d", i))}})
		}
		if _, err := f.store.Write(t.Context(), gatehouse.Write{Updates: ups}); err != nil {
			t.Fatal(err)
		}
	}
	counted := &countingStore{Store: f.store}
	st, err := workflow.New(counted, workflow.WithScratch(scratch)).FileChangeRequest(t.Context(), g.pat, workflow.NewChangeRequest{ID: "huge-std", Organisation: g.id, Kind: gatehouse.KindStandard})
	mustOK(t, err, "filing")
	wantState(t, st, workflow.StatusAuthorised, workflow.TierNone)
	if n := counted.writes.Load(); n != 3 || !f.settled("huge-std") {
		t.Errorf("%d writes, settled %v; want 3 (apart) and settled", n, f.settled("huge-std"))
	}
}
