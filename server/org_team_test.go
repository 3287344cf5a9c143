package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestTeamRules proves rules T1-T3 of domain.md, and who gives which
// designation, through the HTTP API.
func TestTeamRules(t *testing.T) {
	a := MustAPI(t)
	tm := newOrgTeam(t, a, "team")
	own := tm.user("owner")

	t.Run("T1_removing_a_member_removes_roles_designations_and_exceptions_at_once", func(t *testing.T) {
		pat := tm.user("pat")
		other := newOrgTeam(t, a, "team2")
		orgWant(t, tm.grant(own, pat, "it_manager"), http.StatusNoContent)
		orgWant(t, tm.grant(own, pat, "cis_processor"), http.StatusNoContent)
		orgWant(t, tm.designate(own, pat, "main_contact", false), http.StatusNoContent)
		orgWant(t, tm.designate(own, pat, "technical_contact", false), http.StatusNoContent)
		orgWant(t, tm.designate(orgStaff, pat, "unavailable_contact", false), http.StatusNoContent)
		// Exceptions, here and in team2, whose ids start with "team" too.
		a.Touch(
			"change_kind:team/public_facing#exception@"+pat,
			"change_target:team/service/page/pricing#exception@"+pat,
			"change_kind:team2/public_facing#exception@"+pat,
		)
		orgWant(t, other.grant(other.user("owner"), pat, "it_admin"), http.StatusNoContent)
		elsewhere := relationshipsOf(t, a, "team2")

		orgWant(t, a.Do("DELETE", tm.memberPath(pat, ""), tm.user("security_admin"), nil), http.StatusNoContent)

		for _, s := range relationshipsOf(t, a, "team") {
			if strings.HasSuffix(s, "@"+pat) {
				t.Errorf("left behind: %s", s)
			}
		}
		if got := relationshipsOf(t, a, "team2"); !slices.Equal(got, elsewhere) {
			t.Errorf("team2 changed:\nbefore %v\nafter  %v", elsewhere, got)
		}
		if a.Allowed("organisation:team", "member", pat) || a.Allowed("change_kind:team/public_facing", "excepted", pat) {
			t.Error("pat keeps a permission in team")
		}
		r := a.Do("GET", tm.path("/members"), own, nil)
		if strings.Contains(string(r.Raw), pat) {
			t.Errorf("pat still listed: %s", r.Raw)
		}
		ev := orgAudit(t, a, "team", "&actor="+tm.user("security_admin"))[0]
		if ev["action"] != "remove_member" || len(ev["changes"].([]any)) != 7 {
			t.Errorf("audit event %v", ev)
		}
		before := a.snapshot()
		a.mustRefuse(t, a.Do("DELETE", tm.memberPath(pat, ""), own, nil), refusal{status: http.StatusNotFound, code: "not_found"}, before)
	})

	t.Run("T2_administrator_invites_and_revokes_cis_processor_and_billing_manager_only", func(t *testing.T) {
		adm := tm.user("administrator")
		for _, role := range []string{"cis_processor", "billing_manager"} {
			u := tm.user("t2-" + role)
			orgWant(t, tm.grant(adm, u, role), http.StatusNoContent)
			orgWant(t, tm.revoke(adm, u, role), http.StatusNoContent)
			orgWant(t, tm.grant(adm, u, role), http.StatusNoContent)
			orgWant(t, a.Do("DELETE", tm.memberPath(u, ""), adm, nil), http.StatusNoContent)
			if a.Allowed("organisation:team", "member", u) {
				t.Errorf("%s is still a member", u)
			}
		}
		for _, role := range []string{"administrator", "it_manager", "it_admin", "finance_admin", "security_admin", "alternate_security_admin"} {
			t.Run(role, func(t *testing.T) {
				want := map[string]string{"security_admin": "delegate_security_admin", "alternate_security_admin": "delegate_alternate_security_admin"}[role]
				if want == "" {
					want = "manage_members"
				}
				before := a.snapshot()
				a.mustRefuse(t, tm.grant(adm, tm.user("it_admin"), role), refusal{status: http.StatusForbidden, code: "permission_denied", permission: want}, before)
				a.mustRefuse(t, tm.revoke(adm, tm.user(role), role), refusal{status: http.StatusForbidden, code: "permission_denied", permission: want}, before)
			})
		}
		// A member holding more than cis_processor is beyond an administrator.
		orgWant(t, tm.grant(own, tm.user("t2-both"), "cis_processor"), http.StatusNoContent)
		orgWant(t, tm.designate(own, tm.user("t2-both"), "technical_contact", false), http.StatusNoContent)
		before := a.snapshot()
		a.mustRefuse(t, a.Do("DELETE", tm.memberPath(tm.user("t2-both"), ""), adm, nil), refusal{status: http.StatusForbidden, permission: "manage_members"}, before)
	})

	t.Run("T3_a_refused_grant_names_the_missing_permission_and_changes_nothing", func(t *testing.T) {
		for _, c := range []struct {
			actor, role, permission string
		}{
			{"cis_processor", "cis_processor", "manage_team_members"},
			{"billing_manager", "billing_manager", "manage_team_members"},
			{"it_manager", "it_admin", "manage_members"},
			{"finance_admin", "finance_admin", "manage_members"},
			{"it_admin", "alternate_security_admin", "delegate_alternate_security_admin"},
			{"administrator", "security_admin", "delegate_security_admin"},
			{"alternate_security_admin", "security_admin", "delegate_security_admin"},
		} {
			t.Run(c.actor+"_grants_"+c.role, func(t *testing.T) {
				before := a.snapshot()
				a.mustRefuse(t, tm.grant(tm.user(c.actor), tm.user("t3"), c.role), refusal{status: http.StatusForbidden, code: "permission_denied", permission: c.permission}, before)
			})
		}
		for _, c := range []struct {
			name, path, field string
		}{
			{"unknown role", tm.memberPath("t3", "/roles/emperor"), "role"},
			{"bad user id", tm.path("/members/a.b/roles/it_admin"), "user"},
			{"wildcard user", tm.path("/members/*/roles/it_admin"), "user"},
			{"bad org id", "/v1/organisations/a.b/members/t3/roles/it_admin", "org"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := a.snapshot()
				a.mustRefuse(t, a.Do("PUT", c.path, own, nil), refusal{status: http.StatusBadRequest, code: "invalid_argument", field: c.field}, before)
			})
		}
		before := a.snapshot()
		a.mustRefuse(t, tm.grant("user:outsider", tm.user("t3"), "it_admin"), refusal{status: http.StatusForbidden, permission: "manage_members"}, before)
		a.mustRefuse(t, a.Do("PUT", "/v1/organisations/nowhere/members/t3/roles/it_admin", own, nil), refusal{status: http.StatusNotFound}, before)
	})

	t.Run("T3_designations_the_organisation_names_need_manage_designations", func(t *testing.T) {
		orgWant(t, tm.grant(own, tm.user("d"), "cis_processor"), http.StatusNoContent) // T4: only members are designated
		for _, d := range []string{"main_contact", "technical_contact", "finance_contact", "alternate_contact", "director"} {
			for _, role := range []string{"owner", "security_admin", "alternate_security_admin"} {
				orgWant(t, tm.designate(tm.user(role), tm.user("d"), d, false), http.StatusNoContent)
				if !a.Allowed("organisation:team", d, tm.user("d")) {
					t.Errorf("%s did not give %s", role, d)
				}
				orgWant(t, tm.designate(tm.user(role), tm.user("d"), d, true), http.StatusNoContent)
			}
			for _, role := range append(orgRoles()[3:], "outsider") {
				before := a.snapshot()
				a.mustRefuse(t, tm.designate(tm.user(role), tm.user("d"), d, false), refusal{status: http.StatusForbidden, permission: "manage_designations"}, before)
			}
		}
		before := a.snapshot()
		a.mustRefuse(t, tm.designate(own, tm.user("d"), "emperor", false), refusal{status: http.StatusBadRequest, field: "designation"}, before)
	})

	t.Run("C7_C9_only_provider_staff_verify_directors_and_mark_contacts_unavailable", func(t *testing.T) {
		orgWant(t, tm.grant(own, tm.user("d"), "cis_processor"), http.StatusNoContent) // T4: only members are designated
		for _, d := range []string{"verified_director", "unavailable_contact"} {
			for _, role := range orgRoles() {
				before := a.snapshot()
				a.mustRefuse(t, tm.designate(tm.user(role), tm.user("d"), d, false), refusal{status: http.StatusForbidden, code: "permission_denied", permission: "provider_staff"}, before)
			}
			orgWant(t, tm.designate(orgStaff, tm.user("d"), d, false), http.StatusNoContent)
			before := a.snapshot()
			a.mustRefuse(t, tm.designate(own, tm.user("d"), d, true), refusal{status: http.StatusForbidden, permission: "provider_staff"}, before)
			orgWant(t, tm.designate(orgStaff, tm.user("d"), d, true), http.StatusNoContent)
			if a.Allowed("organisation:team", d, tm.user("d")) {
				t.Errorf("%s was not taken away", d)
			}
		}
	})
}

// TestRoleRules proves rules R1-R6 of domain.md through the HTTP API: each
// role, granted through PUT .../roles/{role}, holds exactly what its rule
// says on the organisation and on contractors and invoices made through
// the API.
func TestRoleRules(t *testing.T) {
	a := MustAPI(t)
	tm := newOrgTeam(t, a, "roles")
	tm.contractor(t, "roles-open", false)
	tm.contractor(t, "roles-secret", true)
	orgWant(t, a.Do("POST", tm.path("/invoices"), tm.user("owner"), map[string]any{"id": "roles-inv", "amount": "99.99", "currency": "GBP"}), http.StatusCreated)

	// Every row: resource#permission, then the roles that hold it.
	checks := []struct{ what, holders string }{
		{"organisation:roles#edit_details", "administrator"},
		{"organisation:roles#manage_members", ""},
		{"organisation:roles#manage_team_members", "administrator"},
		{"organisation:roles#view_billing", "administrator it_manager finance_admin billing_manager"},
		{"organisation:roles#manage_billing", "finance_admin"},
		{"organisation:roles#manage_contractors", "administrator"},
		{"organisation:roles#view_services", "administrator it_manager it_admin finance_admin"},
		{"organisation:roles#view_reports", "administrator it_manager it_admin"},
		{"organisation:roles#request_user_changes", "it_manager it_admin"},
		{"organisation:roles#request_config_changes", "it_manager it_admin"},
		{"organisation:roles#request_services", "it_manager"},
		{"organisation:roles#approve_config_changes", "it_manager"},
		{"organisation:roles#approve_spending", "it_manager"},
		{"organisation:roles#approve_security_changes", "it_manager"},
		{"organisation:roles#approve_charges", "it_manager finance_admin"},
		{"organisation:roles#delete", ""},
		{"organisation:roles#transfer_ownership", ""},
		{"contractor:roles-open#view", "administrator it_manager cis_processor"},
		{"contractor:roles-secret#view", "administrator"},
		{"contractor:roles-open#edit", "administrator"},
		{"invoice:roles-inv#view", "administrator it_manager finance_admin billing_manager"},
		{"invoice:roles-inv#pay", "finance_admin"},
		{"invoice:roles-inv#approve", "it_manager"},
	}
	for _, c := range []struct{ rule, role string }{
		{"R1", "it_manager"},
		{"R2", "it_admin"},
		{"R3", "finance_admin"},
		{"R4", "administrator"},
		{"R5", "cis_processor"},
		{"R6", "billing_manager"},
	} {
		t.Run(c.rule+"_"+c.role, func(t *testing.T) {
			for _, chk := range checks {
				res, perm, _ := strings.Cut(chk.what, "#")
				want := slices.Contains(strings.Fields(chk.holders), c.role)
				if got := a.Allowed(res, perm, tm.user(c.role)); got != want {
					t.Errorf("%s holds %s: %v, want %v", c.role, chk.what, got, want)
				}
			}
			if !a.Allowed("organisation:roles", "member", tm.user(c.role)) {
				t.Errorf("%s is not a member", c.role)
			}
		})
	}
}
