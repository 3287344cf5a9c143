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
		_, err = f.svc.RevokeRole(t.Context(), admin, tm.id, tm.user("carla"), gatehouse.RoleCISProcessor)
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
		_, err = f.svc.RemoveMember(t.Context(), tm.user(gatehouse.RoleSecurityAdmin), tm.id, pat)
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
		_, err = f.svc.RemoveMember(t.Context(), tm.user(gatehouse.RoleSecurityAdmin), tm.id, pat)
		mustRefuse(t, err, want{code: gatehouse.ENOTFOUND})
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
