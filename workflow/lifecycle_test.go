package workflow_test

import (
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

var lifecycleRules = []rule{
	{"C13_a_tier_contact_rejects_with_a_reason_and_the_request_is_closed", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c13r")
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c13r-web", Kind: gatehouse.KindPublicFacing, Target: "page:pricing"})
		_, err := f.svc.Reject(t.Context(), g.tom, "c13r-web", "  ")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "reason"})
		_, err = f.svc.Reject(t.Context(), g.fiona, "c13r-web", "no")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, rule: "C13", permission: gatehouse.PermReject})
		_, err = f.svc.Reject(t.Context(), g.pat, "c13r-web", "no")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermReject})
		cr, err := f.svc.Reject(t.Context(), g.tom, "c13r-web", "pricing is frozen")
		mustOK(t, err, "tom rejecting")
		wantState(t, cr, workflow.StatusRejected, workflow.TierNone)
		if len(cr.ApprovalsNeeded) != 0 || cr.ClosedBy == nil || *cr.ClosedBy != g.tom || cr.ClosedAt == nil || cr.Reason != "pricing is frozen" {
			t.Errorf("closed state: needed %v, by %v, at %v, reason %q", cr.ApprovalsNeeded, cr.ClosedBy, cr.ClosedAt, cr.Reason)
		}
		// Read back by the requester, the state is the same.
		got, err := f.svc.ChangeRequest(t.Context(), g.pat, "c13r-web")
		mustOK(t, err, "reading")
		wantState(t, got, workflow.StatusRejected, workflow.TierNone)
		if got.Reason != cr.Reason || got.ClosedAt == nil {
			t.Errorf("read back: reason %q, at %v", got.Reason, got.ClosedAt)
		}
	}},
	{"C13_an_approver_still_needed_rejects_an_authorised_request_cannot_be", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c13a")
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c13a-fw", Kind: gatehouse.KindAccessPermissions, SubstantialSecurity: true})
		_, err := f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c13a-fw", "")
		mustOK(t, err, "tom authorising")
		// tom's tier is done; only the security approvers may reject now.
		_, err = f.svc.Reject(t.Context(), g.tom, "c13a-fw", "second thoughts")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, rule: "C13"})
		cr, err := f.svc.Reject(t.Context(), g.mia, "c13a-fw", "too risky")
		mustOK(t, err, "mia rejecting as security approver")
		wantState(t, cr, workflow.StatusRejected, workflow.TierNone)
		std := g.file(t, g.pat, workflow.NewChangeRequest{ID: "c13a-std", Kind: gatehouse.KindStandard})
		wantState(t, std, workflow.StatusAuthorised, workflow.TierNone)
		_, err = f.svc.Withdraw(t.Context(), g.pat, "c13a-std", "")
		mustRefuse(t, err, want{code: gatehouse.ECONFLICT, rule: "C13"})
	}},
	{"C13_the_requester_withdraws_a_pending_or_blocked_request_others_cannot", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c13w")
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c13w-svc", Kind: gatehouse.KindService})
		_, err := f.svc.Withdraw(t.Context(), g.mia, "c13w-svc", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermWithdraw})
		cr, err := f.svc.Withdraw(t.Context(), g.pat, "c13w-svc", "")
		mustOK(t, err, "pat withdrawing")
		wantState(t, cr, workflow.StatusWithdrawn, workflow.TierNone)
		if cr.ClosedBy == nil || *cr.ClosedBy != g.pat {
			t.Errorf("closedBy = %v", cr.ClosedBy)
		}
		for _, u := range []gatehouse.Subject{g.mia, g.tom, g.alan, g.dora} {
			g.mustDesignate(staff, u, gatehouse.DesignationUnavailableContact)
		}
		blocked := g.file(t, g.pat, workflow.NewChangeRequest{ID: "c13w-blk", Kind: gatehouse.KindService})
		wantState(t, blocked, workflow.StatusBlocked, workflow.TierNone)
		cr, err = f.svc.Withdraw(t.Context(), g.pat, "c13w-blk", "nobody can authorise it")
		mustOK(t, err, "pat withdrawing a blocked request")
		wantState(t, cr, workflow.StatusWithdrawn, workflow.TierNone)
	}},
	{"C13_every_change_to_a_closed_request_is_409", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c13c")
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c13c-cfg", Kind: gatehouse.KindConfiguration})
		_, err := f.svc.Reject(t.Context(), g.mia, "c13c-cfg", "not now")
		mustOK(t, err, "mia rejecting")
		closed := want{code: gatehouse.ECONFLICT, rule: "C13"}
		_, err = f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c13c-cfg", "")
		mustRefuse(t, err, closed)
		_, err = f.svc.Reject(t.Context(), g.tom, "c13c-cfg", "again")
		mustRefuse(t, err, closed)
		_, err = f.svc.Withdraw(t.Context(), g.pat, "c13c-cfg", "")
		mustRefuse(t, err, closed)
		_, err = f.svc.RaiseFlags(t.Context(), g.mia, "c13c-cfg", true, false)
		mustRefuse(t, err, closed)
		_, err = f.svc.Override(t.Context(), staff, "c13c-cfg", "outage", "the client asked by phone")
		mustRefuse(t, err, closed)
		_, err = f.svc.ConfirmOverride(t.Context(), staff, "c13c-cfg")
		mustRefuse(t, err, closed)
		if f.allowed(gatehouse.ChangeRequestRef("c13c-cfg"), gatehouse.PermAuthorise, g.tom) {
			t.Error("tom may still authorise a closed request")
		}
	}},
}

// TestC13RaceAuthoriseAgainstReject races an authorisation against a
// rejection of the same request, round after round: exactly one wins, and
// the loser gets 409 naming C13 or 403 (C13).
func TestC13RaceAuthoriseAgainstReject(t *testing.T) {
	f := mustFixture(t)
	g := mustGlobex(f, "race13")
	for i := range 15 {
		id := "race13-" + string(rune('a'+i))
		g.file(t, g.pat, workflow.NewChangeRequest{ID: id, Kind: gatehouse.KindService})
		var wg sync.WaitGroup
		var authErr, rejErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, authErr = f.svc.AuthoriseChangeRequest(t.Context(), g.tom, id, "") }()
		go func() { defer wg.Done(); _, rejErr = f.svc.Reject(t.Context(), g.mia, id, "no") }()
		wg.Wait()
		if (authErr == nil) == (rejErr == nil) {
			t.Fatalf("%s: authorise %v, reject %v: exactly one must win", id, authErr, rejErr)
		}
		loser := authErr
		if loser == nil {
			loser = rejErr
		}
		if c := gatehouse.ErrorCode(loser); c != gatehouse.EFORBIDDEN && c != gatehouse.ECONFLICT {
			t.Fatalf("%s: loser got %v", id, loser)
		}
		cr, err := f.svc.ChangeRequest(t.Context(), g.pat, id)
		mustOK(t, err, "reading")
		if (authErr == nil && cr.Status != workflow.StatusAuthorised) || (rejErr == nil && cr.Status != workflow.StatusRejected) {
			t.Fatalf("%s: status %s after authorise %v, reject %v", id, cr.Status, authErr, rejErr)
		}
	}
}
