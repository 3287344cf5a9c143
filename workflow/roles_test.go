package workflow_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

var roleRules = []rule{
	{"S1_one_SA_and_one_ASA_and_never_the_same_user", func(t *testing.T, f fixture) {
		tm := f.mustTeam("s1", gatehouse.RoleSecurityAdmin, gatehouse.RoleAlternateSecurityAdmin)
		sa, asa := tm.user(gatehouse.RoleSecurityAdmin), tm.user(gatehouse.RoleAlternateSecurityAdmin)
		_, err := f.svc.GrantRole(t.Context(), tm.owner(), workflow.RoleGrant{Org: tm.id, User: sa, Role: gatehouse.RoleAlternateSecurityAdmin})
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "S1"})
		// A new SA replaces the old one; the ASA promoted to SA stops being the ASA.
		tm.mustGrant(tm.owner(), asa, gatehouse.RoleSecurityAdmin)
		if got := tm.holders(gatehouse.RoleSecurityAdmin); !slices.Equal(got, []string{asa.String()}) {
			t.Errorf("SA = %v", got)
		}
		if got := tm.holders(gatehouse.RoleAlternateSecurityAdmin); len(got) != 0 {
			t.Errorf("ASA = %v, want none", got)
		}
	}},
	{"S3_the_SA_delegates_and_the_outgoing_SA_becomes_the_ASA", func(t *testing.T, f fixture) {
		tm := f.mustTeam("s3", gatehouse.RoleSecurityAdmin, gatehouse.RoleAlternateSecurityAdmin, gatehouse.RoleITManager)
		sa, next := tm.user(gatehouse.RoleSecurityAdmin), tm.user(gatehouse.RoleITManager)
		_, err := f.svc.GrantRole(t.Context(), sa, workflow.RoleGrant{Org: tm.id, User: next, Role: gatehouse.RoleSecurityAdmin, PreviousBecomesAlternate: true, Reason: "handover"})
		mustOK(t, err, "delegating")
		if got := tm.holders(gatehouse.RoleSecurityAdmin); !slices.Equal(got, []string{next.String()}) {
			t.Errorf("SA = %v", got)
		}
		if got := tm.holders(gatehouse.RoleAlternateSecurityAdmin); !slices.Equal(got, []string{sa.String()}) {
			t.Errorf("ASA = %v, want the outgoing SA replacing the old ASA", got)
		}
		_, err = f.svc.GrantRole(t.Context(), tm.owner(), workflow.RoleGrant{Org: tm.id, User: next, Role: gatehouse.RoleITAdmin, PreviousBecomesAlternate: true})
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "previousBecomesAlternate"})
	}},
	{"S4_the_ASA_cannot_delegate_a_new_SA", func(t *testing.T, f fixture) {
		tm := f.mustTeam("s4", gatehouse.RoleAlternateSecurityAdmin, gatehouse.RoleITAdmin)
		asa := tm.user(gatehouse.RoleAlternateSecurityAdmin)
		_, err := f.svc.GrantRole(t.Context(), asa, workflow.RoleGrant{Org: tm.id, User: tm.user(gatehouse.RoleITAdmin), Role: gatehouse.RoleSecurityAdmin})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermDelegateSecurityAdmin})
		// S5: the ASA may delegate a replacement ASA.
		tm.mustGrant(asa, tm.user(gatehouse.RoleITAdmin), gatehouse.RoleAlternateSecurityAdmin)
	}},
	{"S7_staff_delegate_an_SA_only_for_an_available_verified_director_when_SA_and_ASA_are_unavailable", func(t *testing.T, f fixture) {
		tm := f.mustTeam("s7", gatehouse.RoleSecurityAdmin, gatehouse.RoleITAdmin)
		sa, dora := tm.user(gatehouse.RoleSecurityAdmin), tm.user("dora")
		tm.mustGrant(tm.owner(), dora, gatehouse.RoleCISProcessor) // T4: a director is on the team
		tm.mustDesignate(tm.owner(), dora, gatehouse.DesignationDirector)
		tm.mustDesignate(staff, dora, gatehouse.DesignationVerifiedDirector)
		g := workflow.RoleGrant{Org: tm.id, User: tm.user(gatehouse.RoleITAdmin), Role: gatehouse.RoleSecurityAdmin, RequestedBy: &dora, Reason: "SA on leave"}
		_, err := f.svc.GrantRole(t.Context(), staff, g)
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "S7"})
		tm.mustDesignate(staff, sa, gatehouse.DesignationUnavailableContact)
		_, err = f.svc.GrantRole(t.Context(), staff, g)
		mustOK(t, err, "staff delegating")
		if got := tm.holders(gatehouse.RoleSecurityAdmin); !slices.Equal(got, []string{g.User.String()}) {
			t.Errorf("SA = %v", got)
		}
	}},
	{"T2_an_administrator_grants_only_cis_processor_and_billing_manager", func(t *testing.T, f fixture) {
		tm := f.mustTeam("t2", gatehouse.RoleAdministrator)
		admin := tm.user(gatehouse.RoleAdministrator)
		tm.mustGrant(admin, tm.user("carla"), gatehouse.RoleCISProcessor)
		tm.mustGrant(admin, tm.user("bill"), gatehouse.RoleBillingManager)
		_, err := f.svc.GrantRole(t.Context(), admin, workflow.RoleGrant{Org: tm.id, User: tm.user("ivy"), Role: gatehouse.RoleITAdmin})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageMembers})
		_, err = f.svc.RevokeRole(t.Context(), admin, tm.id, tm.user("carla"), gatehouse.RoleCISProcessor, "")
		mustOK(t, err, "revoking cis_processor")
		// T3: an outsider grants nothing, and nothing changes.
		_, err = f.svc.GrantRole(t.Context(), gatehouse.User("mallory"), workflow.RoleGrant{Org: tm.id, User: gatehouse.User("mallory"), Role: gatehouse.RoleCISProcessor})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageTeamMembers})
		if f.allowed(tm.ref(), gatehouse.PermMember, gatehouse.User("mallory")) {
			t.Error("mallory is a member")
		}
	}},
	{"T1_removing_a_member_removes_roles_designations_and_exceptions", func(t *testing.T, f fixture) {
		tm := f.mustTeam("t1", gatehouse.RoleSecurityAdmin, gatehouse.RoleITManager)
		pat := tm.user(gatehouse.RoleITManager)
		tm.mustGrant(tm.owner(), pat, gatehouse.RoleCISProcessor)
		tm.mustDesignate(tm.owner(), pat, gatehouse.DesignationMainContact)
		_, err := f.svc.GrantException(t.Context(), pat, workflow.Exception{Organisation: tm.id, User: pat, Kind: gatehouse.KindService}, "")
		mustOK(t, err, "granting an exception")
		_, err = f.svc.RemoveMember(t.Context(), tm.user(gatehouse.RoleSecurityAdmin), tm.id, pat, "")
		mustOK(t, err, "removing")
		members, _, err := f.svc.Members(t.Context(), tm.owner(), tm.id)
		mustOK(t, err, "listing members")
		for _, m := range members {
			if m.User == pat {
				t.Errorf("still a member: %+v", m)
			}
		}
		if left := f.relationshipsOf(gatehouse.ChangeKindRef(tm.id, gatehouse.KindService)); len(left) != 0 {
			t.Errorf("exceptions left: %v", left)
		}
		_, err = f.svc.RemoveMember(t.Context(), tm.user(gatehouse.RoleSecurityAdmin), tm.id, pat, "")
		mustRefuse(t, err, want{code: gatehouse.ENOTFOUND})
	}},
	{"T4_designating_a_non_member_is_refused_and_changes_nothing", func(t *testing.T, f fixture) {
		tm := f.mustTeam("t4a")
		out := tm.user("outsider")
		for _, c := range []struct {
			actor       gatehouse.Subject
			designation string
		}{
			{tm.owner(), gatehouse.DesignationMainContact},
			{tm.owner(), gatehouse.DesignationDirector},
			{staff, gatehouse.DesignationVerifiedDirector},
			{staff, gatehouse.DesignationUnavailableContact},
		} {
			_, err := f.svc.SetDesignation(t.Context(), c.actor, tm.id, out, c.designation, "test")
			mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "T4", field: "user"})
		}
		// Who may not designate at all learns nothing about who is on the team (T3).
		_, err := f.svc.SetDesignation(t.Context(), gatehouse.User("mallory"), tm.id, out, gatehouse.DesignationMainContact, "test")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageDesignations})
		f.holdsNothing(t, tm.id, out)
		// Taking a designation away needs no membership.
		_, err = f.svc.UnsetDesignation(t.Context(), tm.owner(), tm.id, out, gatehouse.DesignationMainContact, "test")
		mustOK(t, err, "unsetting")
	}},
	{"T4_revoking_the_last_role_removes_the_member_with_designations_and_exceptions", func(t *testing.T, f fixture) {
		tm := f.mustTeam("t4b")
		tm.mustDesignate(tm.owner(), tm.owner(), gatehouse.DesignationMainContact)
		pat := tm.user("pat")
		tm.mustGrant(tm.owner(), pat, gatehouse.RoleITAdmin)
		tm.mustGrant(tm.owner(), pat, gatehouse.RoleCISProcessor)
		tm.mustDesignate(tm.owner(), pat, gatehouse.DesignationTechnicalContact)
		tm.mustDesignate(staff, pat, gatehouse.DesignationUnavailableContact)
		for _, e := range []workflow.Exception{
			{Organisation: tm.id, User: pat, Kind: gatehouse.KindService},
			{Organisation: tm.id, User: pat, Kind: gatehouse.KindPublicFacing, Target: "page:home"},
		} {
			_, err := f.svc.GrantException(t.Context(), tm.owner(), e, "")
			mustOK(t, err, "granting %+v", e)
		}
		// Not the last role: designations and exceptions stay.
		_, err := f.svc.RevokeRole(t.Context(), tm.owner(), tm.id, pat, gatehouse.RoleITAdmin, "")
		mustOK(t, err, "revoking it_admin")
		if got := tm.holders(gatehouse.DesignationTechnicalContact); !slices.Equal(got, []string{pat.String()}) {
			t.Errorf("technical contacts after revoking one of two roles: %v", got)
		}
		// The last role: off the team, with everything else (T1).
		_, err = f.svc.RevokeRole(t.Context(), tm.owner(), tm.id, pat, gatehouse.RoleCISProcessor, "")
		mustOK(t, err, "revoking cis_processor")
		f.holdsNothing(t, tm.id, pat)
		if f.allowed(tm.ref(), gatehouse.PermMember, pat) {
			t.Error("pat is still a member")
		}
		// O6: the owner never loses their last role but by transfer.
		_, err = f.svc.RevokeRole(t.Context(), tm.owner(), tm.id, tm.owner(), gatehouse.RoleOwner, "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "O6"})
	}},
	{"T4_an_outgoing_SA_or_ASA_whose_only_role_it_was_leaves_the_team", func(t *testing.T, f fixture) {
		tm := f.mustTeam("t4c", gatehouse.RoleSecurityAdmin, gatehouse.RoleAlternateSecurityAdmin, gatehouse.RoleITManager, gatehouse.RoleITAdmin)
		sa, asa := tm.user(gatehouse.RoleSecurityAdmin), tm.user(gatehouse.RoleAlternateSecurityAdmin)
		tm.mustDesignate(tm.owner(), sa, gatehouse.DesignationMainContact)
		tm.mustDesignate(tm.owner(), asa, gatehouse.DesignationAlternateContact)
		// S3 with previousBecomesAlternate: the SA stays on as ASA, the ASA it replaces leaves.
		_, err := f.svc.GrantRole(t.Context(), tm.owner(), workflow.RoleGrant{Org: tm.id, User: tm.user(gatehouse.RoleITManager), Role: gatehouse.RoleSecurityAdmin, PreviousBecomesAlternate: true})
		mustOK(t, err, "delegating the SA")
		f.holdsNothing(t, tm.id, asa)
		if got := tm.holders(gatehouse.DesignationMainContact); !slices.Equal(got, []string{sa.String()}) {
			t.Errorf("main contacts %v: the outgoing SA is still on the team as ASA", got)
		}
		// S5: the ASA replaced leaves with its designation.
		tm.mustGrant(tm.owner(), tm.user(gatehouse.RoleITAdmin), gatehouse.RoleAlternateSecurityAdmin)
		f.holdsNothing(t, tm.id, sa)
	}},
	{"S2_members_lists_roles_and_designations", func(t *testing.T, f fixture) {
		tm := f.mustTeam("s2", gatehouse.RoleFinanceAdmin)
		fin := tm.user(gatehouse.RoleFinanceAdmin)
		tm.mustDesignate(tm.owner(), fin, gatehouse.DesignationFinanceContact)
		members, tok, err := f.svc.Members(t.Context(), fin, tm.id)
		mustOK(t, err, "listing members")
		if tok == "" || len(members) != 2 {
			t.Fatalf("members = %+v (token %q)", members, tok)
		}
		if m := members[0]; m.User != fin || !slices.Equal(m.Roles, []string{gatehouse.RoleFinanceAdmin}) || !slices.Equal(m.Designations, []string{gatehouse.DesignationFinanceContact}) {
			t.Errorf("first member = %+v", m)
		}
		// A designation needs manage_designations; verified_director only staff (C9).
		_, err = f.svc.SetDesignation(t.Context(), fin, tm.id, fin, gatehouse.DesignationMainContact, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageDesignations})
		_, err = f.svc.SetDesignation(t.Context(), tm.owner(), tm.id, fin, gatehouse.DesignationVerifiedDirector, "verified")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermProviderStaff})
		_, err = f.svc.SetDesignation(t.Context(), tm.owner(), tm.id, fin, "chairman", "")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "designation"})
	}},
}
