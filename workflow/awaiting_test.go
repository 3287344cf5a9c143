package workflow_test

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// settled reports whether the request id carries the C14 settled flag.
func (f fixture) settled(id string) bool {
	f.t.Helper()
	return slices.ContainsFunc(f.relationshipsOf(gatehouse.ChangeRequestRef(id)), func(r gatehouse.Relationship) bool {
		return r.Relation == gatehouse.RelSettled && r.Subject == gatehouse.Wildcard(gatehouse.TypeUser)
	})
}

// awaiting lists the ids of the requests of org awaiting actor (C14).
func (f fixture) awaiting(t *testing.T, actor gatehouse.Subject, org string) []string {
	t.Helper()
	crs, _, err := f.svc.ListChangeRequests(t.Context(), actor, org, "", true, 0, "")
	mustOK(t, err, "listing what awaits %s", actor)
	ids := []string{}
	for _, cr := range crs {
		ids = append(ids, cr.ID)
	}
	return ids
}

var awaitingRules = []rule{
	{"C14_a_settled_request_is_flagged_and_awaits_nobody_an_open_one_awaits_its_authorisers", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c14s")
		// C3: a standard request is authorised as filed, with nothing
		// needed, so it is settled when filed.
		std := g.file(t, g.pat, workflow.NewChangeRequest{ID: "c14s-std", Kind: gatehouse.KindStandard})
		wantState(t, std, workflow.StatusAuthorised, workflow.TierNone)
		if !f.settled("c14s-std") {
			t.Errorf("C14: the standard request is not flagged settled when filed")
		}
		cr := gatehouse.ChangeRequestRef("c14s-std")
		if !f.allowed(cr, gatehouse.PermReject, g.mia) || f.allowed(cr, gatehouse.PermAwaiting, g.mia) {
			t.Errorf("C14: mia should hold reject but not awaiting on the settled request")
		}

		// C16: a configuration request needs tom's (or mia's)
		// authorisation and then mia's approval; it is settled only
		// after the last one.
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c14s-cfg", Kind: gatehouse.KindConfiguration})
		if f.settled("c14s-cfg") {
			t.Fatalf("C14: a request that needs authorisation is flagged settled")
		}
		if got := f.awaiting(t, g.mia, g.id); !slices.Equal(got, []string{"c14s-cfg"}) {
			t.Errorf("C14: awaiting mia = %v, want the open request only", got)
		}
		st, err := f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c14s-cfg", "")
		mustOK(t, err, "tom authorising")
		if !st.Needs(workflow.NeedConfiguration) || f.settled("c14s-cfg") {
			t.Fatalf("C14, C16: after the authorisation the approval is still needed: needs %v, settled %v", st.ApprovalsNeeded, f.settled("c14s-cfg"))
		}
		if got := f.awaiting(t, g.mia, g.id); !slices.Equal(got, []string{"c14s-cfg"}) {
			t.Errorf("C14, C16: awaiting mia = %v, want the request awaiting her approval", got)
		}
		if got := f.awaiting(t, g.tom, g.id); len(got) != 0 {
			t.Errorf("C14: awaiting tom = %v after he authorised, want nothing", got)
		}
		st, err = f.svc.AuthoriseChangeRequest(t.Context(), g.mia, "c14s-cfg", "")
		mustOK(t, err, "mia approving")
		wantState(t, st, workflow.StatusAuthorised, workflow.TierNone)
		if !f.settled("c14s-cfg") {
			t.Errorf("C14: the request is not flagged settled after its last approval")
		}
		if got := f.awaiting(t, g.mia, g.id); len(got) != 0 {
			t.Errorf("C14: awaiting mia = %v once everything is settled, want nothing", got)
		}

		// C12: a legal mandate is authorised and approved as filed.
		g.file(t, staff, workflow.NewChangeRequest{ID: "c14s-legal", Kind: gatehouse.KindService, SubstantialSecurity: true, LegalReason: "court order"})
		if !f.settled("c14s-legal") {
			t.Errorf("C14, C12: the legal mandate is not flagged settled when filed")
		}

		// C18: a confirmed override counts only while its confirmer is
		// staff, so a request resting on one is never flagged.
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c14s-ovr", Kind: gatehouse.KindService})
		_, err = f.svc.Override(t.Context(), staff, "c14s-ovr", "other", "the contacts are away")
		mustOK(t, err, "overriding")
		second := gatehouse.User("c14s-sid")
		f.touch(gatehouse.Relationship{Resource: gatehouse.Provider, Relation: gatehouse.RelStaff, Subject: second})
		st, err = f.svc.ConfirmOverride(t.Context(), second, "c14s-ovr")
		mustOK(t, err, "confirming")
		wantState(t, st, workflow.StatusAuthorised, workflow.TierNone)
		if f.settled("c14s-ovr") {
			t.Errorf("C14, C18: a request authorised by an override only is flagged settled")
		}

		// C13: a rejected request is never settled, and awaits nobody.
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c14s-rej", Kind: gatehouse.KindService})
		_, err = f.svc.Reject(t.Context(), g.mia, "c14s-rej", "no")
		mustOK(t, err, "rejecting")
		if f.settled("c14s-rej") || slices.Contains(f.awaiting(t, g.mia, g.id), "c14s-rej") {
			t.Errorf("C14, C13: the rejected request is settled or awaits mia")
		}
	}},
}

// BenchmarkAwaitingMe measures "awaiting me" (C14) for the main contact of
// an organisation with 10,000 change requests, all but 10 of them settled,
// on embedded SpiceDB (memory): awaiting looks up the requests not settled,
// reject every request the main contact could have decided, as before
// issue 14 (minutes an iteration: it runs only with
// GATEHOUSE_BENCH_REJECT=1). p50-ms is the median of the iterations.
func BenchmarkAwaitingMe(b *testing.B) {
	const settled, pending = 9990, 10
	emb, err := spicedb.StartEmbedded(b.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		b.Fatalf("starting embedded SpiceDB: %v", err)
	}
	b.Cleanup(func() { _ = emb.Close() })
	store := spicedb.New(emb.Conn, emb.Options()...)
	if err := store.WriteSchema(b.Context(), schema.Text); err != nil {
		b.Fatal(err)
	}
	svc := workflow.New(store)
	org := "bench"
	owner, mia, pat := gatehouse.User("bench-owner"), gatehouse.User("bench-mia"), gatehouse.User("bench-pat")
	if _, err := svc.CreateOrganisation(b.Context(), owner, org, "Bench"); err != nil {
		b.Fatal(err)
	}
	for _, g := range []workflow.RoleGrant{{Org: org, User: mia, Role: gatehouse.RoleITManager}, {Org: org, User: pat, Role: gatehouse.RoleCISProcessor}} {
		if _, err := svc.GrantRole(b.Context(), owner, g); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := svc.SetDesignation(b.Context(), owner, org, mia, gatehouse.DesignationMainContact, "bench"); err != nil {
		b.Fatal(err)
	}

	// A request is its relationships, as FileChangeRequest and the settle
	// after it write them; written straight into the Store, at most 1000
	// relationships a write.
	o := gatehouse.Subject{Object: gatehouse.OrganisationRef(org)}
	var batch []gatehouse.Update
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := store.Write(b.Context(), gatehouse.Write{Updates: batch, Audit: gatehouse.Audit{Action: "bench_setup"}}); err != nil {
			b.Fatal(err)
		}
		batch = nil
	}
	add := func(id, kind string, done bool) {
		cr := gatehouse.ChangeRequestRef(id)
		rels := []gatehouse.Relationship{
			{Resource: cr, Relation: gatehouse.RelOrganisation, Subject: o},
			{Resource: cr, Relation: gatehouse.RelRequester, Subject: pat},
			{Resource: cr, Relation: gatehouse.RelKind, Subject: gatehouse.Subject{Object: gatehouse.ChangeKindRef(org, kind)}},
			{Resource: cr, Relation: kind, Subject: o},
		}
		if done {
			rels = append(rels,
				gatehouse.Relationship{Resource: cr, Relation: gatehouse.RelAuthorisedBy, Subject: pat},
				gatehouse.Relationship{Resource: cr, Relation: gatehouse.RelSettled, Subject: gatehouse.Wildcard(gatehouse.TypeUser)})
		}
		if len(batch)+len(rels) > 1000 {
			flush()
		}
		for _, r := range rels {
			batch = append(batch, gatehouse.Update{Op: gatehouse.Create, Relationship: r})
		}
	}
	for i := range settled {
		add(fmt.Sprintf("bench-s%05d", i), gatehouse.KindStandard, true)
	}
	for i := range pending {
		add(fmt.Sprintf("bench-p%05d", i), gatehouse.KindService, false)
	}
	flush()

	for _, perm := range []string{gatehouse.PermAwaiting, gatehouse.PermReject} {
		b.Run(perm, func(b *testing.B) {
			if perm == gatehouse.PermReject && os.Getenv("GATEHOUSE_BENCH_REJECT") == "" {
				b.Skip("the reject lookup evaluates every request: set GATEHOUSE_BENCH_REJECT=1")
			}
			defer workflow.UseAwaitingPermission(perm)()
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				crs, _, err := svc.ListChangeRequests(b.Context(), mia, org, "", true, 0, "")
				took = append(took, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if len(crs) != pending {
					b.Fatalf("%d requests await the main contact, want %d", len(crs), pending)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(settled+pending, "requests")
		})
	}
}
