package workflow_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// TestExpiringRoles_T5 proves T5 against a real Store: a role grant may
// carry an expiry, never on owner, SA or ASA (O2, S1); from that moment it
// counts for nothing, with no write, and a member whose last role expired
// is off the team with their designations and exceptions (T4, T1), until a
// new grant, which brings none of them back. Revoking and removing work on
// expiring grants, before and after they expire. Its own SpiceDB, since it
// waits for the expiry.
func TestExpiringRoles_T5(t *testing.T) {
	f := mustFixture(t)
	tm := f.mustTeam("t5", gatehouse.RoleAdministrator)
	ctx := t.Context()
	admin := tm.user(gatehouse.RoleAdministrator)
	grant := func(actor, user gatehouse.Subject, role string, until *time.Time) error {
		t.Helper()
		_, err := f.svc.GrantRole(ctx, actor, workflow.RoleGrant{Org: tm.id, User: user, Role: role, ExpiresAt: until, Reason: "T5 test"})
		return err
	}
	later := time.Now().Add(time.Hour)

	t.Run("T5_owner_SA_and_ASA_never_expire", func(t *testing.T) {
		for _, role := range []string{gatehouse.RoleOwner, gatehouse.RoleSecurityAdmin, gatehouse.RoleAlternateSecurityAdmin} {
			err := grant(tm.owner(), admin, role, &later)
			mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "T5", field: "expiresAt"})
			if got := tm.holders(role); slices.Contains(got, admin.String()) {
				t.Errorf("%s holders after the refusal = %v (X3)", role, got)
			}
		}
	})
	t.Run("T5_an_expiry_in_the_past_is_refused", func(t *testing.T) {
		past := time.Now().Add(-time.Minute)
		err := grant(tm.owner(), tm.user("late"), gatehouse.RoleCISProcessor, &past)
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "expiresAt"})
	})

	// Whole seconds, so that what Members says compares exactly.
	until := time.Now().Add(4 * time.Second).Truncate(time.Second).UTC()
	kim, lee, rex, val, rem := tm.user("kim"), tm.user("lee"), tm.user("rex"), tm.user("val"), tm.user("rem")
	// kim: one expiring role, a designation and an exception.
	mustOK(t, grant(admin, kim, gatehouse.RoleCISProcessor, &until), "T2: the administrator grants an expiring cis_processor")
	tm.mustDesignate(tm.owner(), admin, gatehouse.DesignationMainContact)
	tm.mustDesignate(tm.owner(), kim, gatehouse.DesignationMainContact)
	_, err := f.svc.GrantException(ctx, admin, workflow.Exception{Organisation: tm.id, User: kim, Kind: gatehouse.KindService}, "T5 test")
	mustOK(t, err, "granting kim an exception")
	// lee: an expiring it_admin role beside a billing_manager one that never expires.
	mustOK(t, grant(tm.owner(), lee, gatehouse.RoleITAdmin, &until), "expiring it_admin")
	mustOK(t, grant(tm.owner(), lee, gatehouse.RoleBillingManager, nil), "billing_manager")
	tm.mustDesignate(tm.owner(), lee, gatehouse.DesignationMainContact)
	// rex: granted with an expiry, then again without: the second grant replaces the first.
	mustOK(t, grant(tm.owner(), rex, gatehouse.RoleCISProcessor, &until), "expiring cis_processor")
	mustOK(t, grant(tm.owner(), rex, gatehouse.RoleCISProcessor, nil), "the same role, for good")
	// val and rem: expiring grants revoked and removed before they expire.
	mustOK(t, grant(tm.owner(), val, gatehouse.RoleFinanceAdmin, &until), "expiring finance_admin")
	tm.mustDesignate(tm.owner(), val, gatehouse.DesignationAlternateContact)
	mustOK(t, grant(tm.owner(), rem, gatehouse.RoleITManager, &until), "expiring it_manager")
	tm.mustDesignate(tm.owner(), rem, gatehouse.DesignationDirector)

	t.Run("T5_a_live_expiring_grant_counts_and_is_listed_with_its_expiry", func(t *testing.T) {
		for _, c := range []struct {
			sub  gatehouse.Subject
			perm string
		}{{kim, gatehouse.PermMember}, {kim, gatehouse.PermMainContacts}, {lee, gatehouse.PermViewReports}, {rex, gatehouse.PermMember}} {
			if !f.allowed(tm.ref(), c.perm, c.sub) {
				t.Errorf("%s holds no %s before the expiry", c.sub, c.perm)
			}
		}
		ms := members(t, f, tm)
		if m, ok := ms[kim]; !ok || !m.ExpiresAt[gatehouse.RoleCISProcessor].Equal(until) {
			t.Errorf("kim listed as %+v, want cis_processor until %s", m, until)
		}
		if m := ms[lee]; !m.ExpiresAt[gatehouse.RoleITAdmin].Equal(until) || !m.ExpiresAt[gatehouse.RoleBillingManager].IsZero() {
			t.Errorf("lee listed as %+v, want it_admin until %s and billing_manager for good", m, until)
		}
		if m := ms[rex]; len(m.ExpiresAt) != 0 {
			t.Errorf("rex listed as %+v, want no expiry: granting again without one replaced it", m)
		}
		evs, _, err := f.trail.List(ctx, gatehouse.AuditQuery{Organisation: tm.id, Limit: 100})
		mustOK(t, err, "reading the trail")
		if !slices.ContainsFunc(evs, func(e gatehouse.AuditEvent) bool {
			return e.Action == "grant_role" && e.Details["user"] == kim.String() && e.Details["expiresAt"] == until.Format(time.RFC3339)
		}) {
			t.Errorf("no grant_role of %s with expiresAt %s in the trail: %+v", kim, until.Format(time.RFC3339), evs)
		}
	})
	t.Run("T5_T4_T1_revoking_or_removing_an_expiring_grant_before_it_ends", func(t *testing.T) {
		_, err := f.svc.RevokeRole(ctx, tm.owner(), tm.id, val, gatehouse.RoleFinanceAdmin, "")
		mustOK(t, err, "revoking val's expiring finance_admin")
		_, err = f.svc.RemoveMember(ctx, tm.owner(), tm.id, rem, "")
		mustOK(t, err, "removing rem")
		for _, rel := range []string{gatehouse.RoleFinanceAdmin, gatehouse.DesignationAlternateContact, gatehouse.RoleITManager, gatehouse.DesignationDirector} {
			if got := tm.holders(rel); slices.Contains(got, val.String()) || slices.Contains(got, rem.String()) {
				t.Errorf("%s after revoking val's last role and removing rem = %v (T4, T1)", rel, got)
			}
		}
	})

	time.Sleep(time.Until(until) + time.Second)

	t.Run("T5_an_expired_role_counts_for_nothing_with_no_write", func(t *testing.T) {
		for _, c := range []struct {
			sub  gatehouse.Subject
			perm string
			want bool
		}{
			{kim, gatehouse.PermMember, false},
			{kim, gatehouse.PermMainContacts, false}, // T4
			{kim, gatehouse.PermListChangeRequests, false},
			{lee, gatehouse.PermViewReports, false}, // R2: it_admin expired
			{lee, gatehouse.PermMember, true},
			{lee, gatehouse.PermMainContacts, true}, // still a member
			{lee, gatehouse.PermViewBilling, true},
			{rex, gatehouse.PermMember, true},
		} {
			if got := f.allowed(tm.ref(), c.perm, c.sub); got != c.want {
				t.Errorf("%s#%s = %v after the expiry, want %v", c.sub, c.perm, got, c.want)
			}
		}
		ms := members(t, f, tm)
		if m, ok := ms[kim]; ok {
			t.Errorf("kim still listed as %+v after her last role expired", m)
		}
		if m := ms[lee]; !slices.Equal(m.Roles, []string{gatehouse.RoleBillingManager}) || len(m.ExpiresAt) != 0 {
			t.Errorf("lee listed as %+v, want billing_manager alone", m)
		}
	})
	t.Run("T5_T4_whom_a_last_role_left_is_treated_as_no_member", func(t *testing.T) {
		_, err := f.svc.SetDesignation(ctx, tm.owner(), tm.id, kim, gatehouse.DesignationMainContact, "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "T4"})
		_, err = f.svc.GrantException(ctx, admin, workflow.Exception{Organisation: tm.id, User: kim, Kind: gatehouse.KindPublicFacing}, "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "C6"})
	})
	t.Run("T5_T1_granting_again_after_the_expiry_brings_back_nothing_of_before", func(t *testing.T) {
		mustOK(t, grant(admin, kim, gatehouse.RoleCISProcessor, nil), "granting kim cis_processor again")
		if !f.allowed(tm.ref(), gatehouse.PermMember, kim) {
			t.Error("kim is no member after the new grant")
		}
		if f.allowed(tm.ref(), gatehouse.PermMainContacts, kim) {
			t.Error("kim's main_contact came back with the new grant (T1: it went with her last role)")
		}
		if got := tm.holders(gatehouse.DesignationMainContact); slices.Contains(got, kim.String()) {
			t.Errorf("main contacts = %v: kim's old designation is still stored", got)
		}
		if got := f.relationshipsOf(gatehouse.ChangeKindRef(tm.id, gatehouse.KindService)); len(got) != 0 {
			t.Errorf("kim's old exception is still stored: %v", got)
		}
	})
	t.Run("T5_T4_T1_revoking_the_last_live_role_beside_an_expired_one", func(t *testing.T) {
		_, err := f.svc.RevokeRole(ctx, tm.owner(), tm.id, lee, gatehouse.RoleBillingManager, "")
		mustOK(t, err, "revoking lee's billing_manager")
		if f.allowed(tm.ref(), gatehouse.PermMember, lee) {
			t.Error("lee is still a member")
		}
		if got := tm.holders(gatehouse.DesignationMainContact); slices.Contains(got, lee.String()) {
			t.Errorf("main contacts = %v: lee's designation outlived her last role (T1)", got)
		}
		// Revoking the expired role itself changes nothing and fails nothing.
		_, err = f.svc.RevokeRole(ctx, tm.owner(), tm.id, lee, gatehouse.RoleITAdmin, "")
		mustOK(t, err, "revoking lee's expired it_admin")
	})
}

// members lists tm's members as the owner sees them, by user.
func members(t *testing.T, f fixture, tm team) map[gatehouse.Subject]workflow.Member {
	t.Helper()
	ms, _, err := f.svc.Members(t.Context(), tm.owner(), tm.id)
	mustOK(t, err, "listing members")
	out := map[gatehouse.Subject]workflow.Member{}
	for _, m := range ms {
		out[m.User] = m
	}
	return out
}
