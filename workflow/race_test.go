package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// hookStore is the fixture's Store with hooks: before runs before every
// Write, afterDelete after every DeleteMatching call. A race test uses
// them to make one interleaving certain: the conflicting change lands
// between a workflow's check and its write.
type hookStore struct {
	gatehouse.Store
	before      func(w gatehouse.Write)
	afterDelete func()
}

func (h *hookStore) Write(ctx context.Context, w gatehouse.Write) (string, error) {
	if h.before != nil {
		h.before(w)
	}
	return h.Store.Write(ctx, w)
}

func (h *hookStore) DeleteMatching(ctx context.Context, fs []gatehouse.Filter, a gatehouse.Audit) (int, string, error) {
	n, tok, err := h.Store.DeleteMatching(ctx, fs, a)
	if h.afterDelete != nil {
		h.afterDelete()
	}
	return n, tok, err
}

// hooked returns a Service over the fixture's Store that runs meanwhile
// once, just before the first write of action by actor is applied.
func (f fixture) hooked(action string, actor gatehouse.Subject, meanwhile func()) *workflow.Service {
	var once sync.Once
	return workflow.New(&hookStore{Store: f.store, before: func(w gatehouse.Write) {
		if w.Audit.Action == action && w.Audit.Actor == actor.String() {
			once.Do(meanwhile)
		}
	}})
}

// race runs ops at once and waits for all of them.
func race(ops ...func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, op := range ops {
		wg.Go(func() { <-start; op() })
	}
	close(start)
	wg.Wait()
}

// holdsNothing fails t when user holds a relationship in org, or an
// exception on one of its kinds or targets, while holding no role there
// (T1, T4).
func (f fixture) holdsNothing(t *testing.T, org string, user gatehouse.Subject) {
	t.Helper()
	var left []string
	for _, fl := range []gatehouse.Filter{
		{ResourceType: gatehouse.TypeOrganisation, ResourceID: org, SubjectType: user.Type, SubjectID: user.ID},
		{ResourceType: gatehouse.TypeChangeKind, IDPrefix: org + "/", SubjectType: user.Type, SubjectID: user.ID},
		{ResourceType: gatehouse.TypeChangeTarget, IDPrefix: org + "/", SubjectType: user.Type, SubjectID: user.ID},
	} {
		rels, _, err := f.store.ReadRelationships(t.Context(), fl, gatehouse.Consistency{FullyConsistent: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rels {
			left = append(left, r.String())
		}
	}
	if len(left) > 0 {
		t.Errorf("%s is off the team of %s yet holds %v", user, org, left)
	}
}

// isMember reports whether user holds a role in org.
func (f fixture) isMember(t *testing.T, org string, user gatehouse.Subject) bool {
	t.Helper()
	rels, _, err := f.store.ReadRelationships(t.Context(), gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: org, SubjectType: user.Type, SubjectID: user.ID}, gatehouse.Consistency{FullyConsistent: true})
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(rels, func(r gatehouse.Relationship) bool { return gatehouse.IsRole(r.Relation) })
}

// TestRaces runs each write that rests on a decision against the change
// that would overturn the decision: once with the change landing exactly
// between the check and the write (a hook in the Store), then many times
// at once, asserting the rule after every round.
func TestRaces(t *testing.T) {
	f := mustFixture(t)
	const rounds = 25

	t.Run("K1_a_contractor_delete_never_reaches_a_same_id_contractor_of_another_organisation", func(t *testing.T) {
		f := f.in(t)
		a, b := f.mustTeam("rk1a", gatehouse.RoleAdministrator), f.mustTeam("rk1b")
		admin := a.user(gatehouse.RoleAdministrator)
		c := gatehouse.ContractorRef("rk1-c")
		_, err := f.svc.CreateContractor(t.Context(), a.owner(), a.id, workflow.Contractor{ID: c.ID, Name: "Old"})
		mustOK(t, err, "creating in %s", a.id)
		svc := f.hooked("delete_contractor", admin, func() {
			_, err := f.svc.DeleteContractor(t.Context(), a.owner(), c.ID, "")
			mustOK(t, err, "deleting meanwhile")
			_, err = f.svc.CreateContractor(t.Context(), b.owner(), b.id, workflow.Contractor{ID: c.ID, Name: "New"})
			mustOK(t, err, "creating in %s meanwhile", b.id)
		})
		_, err = svc.DeleteContractor(t.Context(), admin, c.ID, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageContractors})
		if rels := f.relationshipsOf(c); len(rels) != 2 || !f.allowed(c, gatehouse.PermView, b.owner()) {
			t.Errorf("%s's contractor is now %v", b.id, rels)
		}

		for i := range rounds {
			id := fmt.Sprintf("rk1-c%d", i)
			_, err := f.svc.CreateContractor(t.Context(), a.owner(), a.id, workflow.Contractor{ID: id, Name: "Old"})
			mustOK(t, err, "creating %s", id)
			created := errors.New("not created")
			race(
				func() { _, _ = f.svc.DeleteContractor(t.Context(), admin, id, "") },
				func() {
					if _, err := f.svc.DeleteContractor(t.Context(), a.owner(), id, ""); err == nil {
						_, created = f.svc.CreateContractor(t.Context(), b.owner(), b.id, workflow.Contractor{ID: id, Name: "New"})
					}
				},
			)
			if created == nil && !f.allowed(gatehouse.ContractorRef(id), gatehouse.PermView, b.owner()) {
				t.Errorf("round %d: %s's contractor %s was deleted by %s of %s: %v", i, b.id, id, admin, a.id, f.relationshipsOf(gatehouse.ContractorRef(id)))
			}
		}
	})

	t.Run("T1_an_exception_never_lands_after_the_member_is_removed", func(t *testing.T) {
		f := f.in(t)
		tm := f.mustTeam("rt1", gatehouse.RoleSecurityAdmin)
		tm.mustDesignate(tm.owner(), tm.owner(), gatehouse.DesignationMainContact)
		sa, pat := tm.user(gatehouse.RoleSecurityAdmin), tm.user("pat")
		tm.mustGrant(tm.owner(), pat, gatehouse.RoleITAdmin)
		e := workflow.Exception{Organisation: tm.id, User: pat, Kind: gatehouse.KindService}
		svc := f.hooked("grant_exception", tm.owner(), func() {
			_, err := f.svc.RemoveMember(t.Context(), sa, tm.id, pat, "")
			mustOK(t, err, "removing meanwhile")
		})
		_, err := svc.GrantException(t.Context(), tm.owner(), e, "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "C6", field: "user"})
		f.holdsNothing(t, tm.id, pat)

		for i := range rounds {
			u := tm.user(fmt.Sprint("pat", i))
			tm.mustGrant(tm.owner(), u, gatehouse.RoleITAdmin)
			e := workflow.Exception{Organisation: tm.id, User: u, Kind: gatehouse.KindService}
			et := e
			et.Kind, et.Target = gatehouse.KindPublicFacing, fmt.Sprint("page:p", i)
			race(
				func() { _, _ = f.svc.GrantException(t.Context(), tm.owner(), e, "") },
				func() { _, _ = f.svc.GrantException(t.Context(), tm.owner(), et, "") },
				func() { _, _ = f.svc.RemoveMember(t.Context(), sa, tm.id, u, "") },
			)
			if !f.isMember(t, tm.id, u) {
				f.holdsNothing(t, tm.id, u)
			}
		}
	})

	t.Run("C6_C7_an_exception_never_lands_after_the_granter_stops_being_an_available_main_contact", func(t *testing.T) {
		f := f.in(t)
		tm := f.mustTeam("rc6", gatehouse.RoleITManager, gatehouse.RoleITAdmin)
		mia, pat := tm.user(gatehouse.RoleITManager), tm.user(gatehouse.RoleITAdmin)
		tm.mustDesignate(tm.owner(), mia, gatehouse.DesignationMainContact)
		e := workflow.Exception{Organisation: tm.id, User: pat, Kind: gatehouse.KindService}
		svc := f.hooked("grant_exception", mia, func() {
			_, err := f.svc.SetDesignation(t.Context(), staff, tm.id, mia, gatehouse.DesignationUnavailableContact, "test")
			mustOK(t, err, "marking the granter unavailable meanwhile")
		})
		_, err := svc.GrantException(t.Context(), mia, e, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, rule: "C7"})
		svc = f.hooked("grant_exception", mia, func() {
			_, err := f.svc.UnsetDesignation(t.Context(), staff, tm.id, mia, gatehouse.DesignationUnavailableContact, "test")
			mustOK(t, err, "lifting unavailable")
			_, err = f.svc.UnsetDesignation(t.Context(), tm.owner(), tm.id, mia, gatehouse.DesignationMainContact, "test")
			mustOK(t, err, "taking main_contact away meanwhile")
		})
		_, err = svc.GrantException(t.Context(), mia, e, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermMainContacts})
		if left := f.relationshipsOf(gatehouse.ChangeKindRef(tm.id, gatehouse.KindService)); len(left) != 0 {
			t.Errorf("granted: %v", left)
		}
	})

	t.Run("T4_a_designation_never_lands_on_a_removed_member", func(t *testing.T) {
		f := f.in(t)
		tm := f.mustTeam("rt4", gatehouse.RoleSecurityAdmin)
		sa, pat := tm.user(gatehouse.RoleSecurityAdmin), tm.user("pat")
		tm.mustGrant(tm.owner(), pat, gatehouse.RoleITAdmin)
		svc := f.hooked("set_designation", tm.owner(), func() {
			_, err := f.svc.RemoveMember(t.Context(), sa, tm.id, pat, "")
			mustOK(t, err, "removing meanwhile")
		})
		_, err := svc.SetDesignation(t.Context(), tm.owner(), tm.id, pat, gatehouse.DesignationTechnicalContact, "test")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "T4", field: "user"})
		f.holdsNothing(t, tm.id, pat)

		for i := range rounds {
			u := tm.user(fmt.Sprint("pat", i))
			tm.mustGrant(tm.owner(), u, gatehouse.RoleITAdmin)
			tm.mustGrant(tm.owner(), u, gatehouse.RoleCISProcessor)
			race(
				func() {
					_, _ = f.svc.SetDesignation(t.Context(), tm.owner(), tm.id, u, gatehouse.DesignationTechnicalContact, "test")
				},
				func() { _, _ = f.svc.RevokeRole(t.Context(), sa, tm.id, u, gatehouse.RoleITAdmin, "") },
				func() { _, _ = f.svc.RevokeRole(t.Context(), tm.owner(), tm.id, u, gatehouse.RoleCISProcessor, "") },
			)
			if !f.isMember(t, tm.id, u) {
				f.holdsNothing(t, tm.id, u)
			}
		}
	})

	t.Run("T4_two_revocations_never_leave_a_designation_on_a_non_member", func(t *testing.T) {
		f := f.in(t)
		tm := f.mustTeam("rt4b", gatehouse.RoleSecurityAdmin)
		tm.mustDesignate(tm.owner(), tm.owner(), gatehouse.DesignationMainContact)
		sa, pat := tm.user(gatehouse.RoleSecurityAdmin), tm.user("pat")
		tm.mustGrant(tm.owner(), pat, gatehouse.RoleITAdmin)
		tm.mustGrant(tm.owner(), pat, gatehouse.RoleCISProcessor)
		tm.mustDesignate(tm.owner(), pat, gatehouse.DesignationTechnicalContact)
		_, err := f.svc.GrantException(t.Context(), tm.owner(), workflow.Exception{Organisation: tm.id, User: pat, Kind: gatehouse.KindService}, "")
		mustOK(t, err, "granting an exception")
		svc := f.hooked("revoke_role", tm.owner(), func() {
			_, err := f.svc.RevokeRole(t.Context(), sa, tm.id, pat, gatehouse.RoleITAdmin, "")
			mustOK(t, err, "revoking it_admin meanwhile")
		})
		_, err = svc.RevokeRole(t.Context(), tm.owner(), tm.id, pat, gatehouse.RoleCISProcessor, "")
		mustOK(t, err, "revoking cis_processor, now the last role")
		f.holdsNothing(t, tm.id, pat)
	})
}
