package server_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestSecurityRules proves rules S1-S7 of domain.md through the HTTP API.
func TestSecurityRules(t *testing.T) {
	a := MustAPI(t)
	own := func(tm orgTeam) string { return tm.user("owner") }
	wantHolders := func(t *testing.T, tm orgTeam, sa, asa string) {
		t.Helper()
		want := func(s string) []string {
			if s == "" {
				return nil
			}
			return []string{s}
		}
		if got := tm.holders("security_admin"); !slices.Equal(got, want(sa)) {
			t.Errorf("SA %v, want %v", got, want(sa))
		}
		if got := tm.holders("alternate_security_admin"); !slices.Equal(got, want(asa)) {
			t.Errorf("ASA %v, want %v", got, want(asa))
		}
	}

	t.Run("S1_a_new_SA_replaces_the_current_one", func(t *testing.T) {
		tm := newOrgTeam(t, a, "s1a")
		orgWant(t, tm.grant(own(tm), tm.user("it_manager"), "security_admin"), http.StatusNoContent)
		wantHolders(t, tm, tm.user("it_manager"), tm.user("alternate_security_admin"))
		orgWant(t, tm.grant(own(tm), tm.user("it_admin"), "alternate_security_admin"), http.StatusNoContent)
		wantHolders(t, tm, tm.user("it_manager"), tm.user("it_admin"))
		// Granting again what is already so changes nothing.
		before := a.snapshot()
		orgWant(t, tm.grant(own(tm), tm.user("it_manager"), "security_admin"), http.StatusNoContent)
		if !slices.Equal(before, a.snapshot()) {
			t.Error("a repeated grant changed relationships")
		}
	})

	t.Run("S1_the_SA_is_never_also_the_ASA", func(t *testing.T) {
		tm := newOrgTeam(t, a, "s1b")
		before := a.snapshot()
		r := tm.grant(own(tm), tm.user("security_admin"), "alternate_security_admin")
		a.mustRefuse(t, r, refusal{status: http.StatusUnprocessableEntity, code: "rule_violation", rule: "S1"}, before)
		// Promoting the ASA to SA moves them: they stop being the ASA.
		orgWant(t, tm.grant(own(tm), tm.user("alternate_security_admin"), "security_admin"), http.StatusNoContent)
		wantHolders(t, tm, tm.user("alternate_security_admin"), "")
	})

	t.Run("S1_guarded_relations_never_change_raw", func(t *testing.T) {
		tm := newOrgTeam(t, a, "s1c")
		for _, rel := range []string{"security_admin", "alternate_security_admin"} {
			before := a.snapshot()
			r := a.Do("POST", "/v1/relationships", "", map[string]any{"touch": []string{"organisation:" + tm.id + "#" + rel + "@user:eve"}})
			a.mustRefuse(t, r, refusal{status: http.StatusUnprocessableEntity, code: "rule_violation", rule: "S1"}, before)
		}
	})

	t.Run("S2_only_owner_SA_ASA_manage_members", func(t *testing.T) {
		tm := newOrgTeam(t, a, "s2")
		for _, role := range []string{"owner", "security_admin", "alternate_security_admin"} {
			u := tm.user("new-" + role)
			orgWant(t, tm.grant(tm.user(role), u, "it_manager"), http.StatusNoContent)
			orgWant(t, tm.grant(tm.user(role), u, "finance_admin"), http.StatusNoContent)
			orgWant(t, tm.revoke(tm.user(role), u, "it_manager"), http.StatusNoContent)
			orgWant(t, a.Do("DELETE", tm.memberPath(u, ""), tm.user(role), nil), http.StatusNoContent)
		}
		for _, role := range orgRoles()[3:] {
			before := a.snapshot()
			r := tm.grant(tm.user(role), tm.user("newcomer"), "it_admin")
			a.mustRefuse(t, r, refusal{status: http.StatusForbidden, code: "permission_denied", permission: "manage_members"}, before)
			r = a.Do("DELETE", tm.memberPath(tm.user("it_admin"), ""), tm.user(role), nil)
			if role == "administrator" {
				// T2: an administrator passes the first bar and fails on the role.
				a.mustRefuse(t, r, refusal{status: http.StatusForbidden, permission: "manage_members"}, before)
			} else {
				a.mustRefuse(t, r, refusal{status: http.StatusForbidden, permission: "manage_team_members"}, before)
			}
		}
	})

	t.Run("S3_SA_handover_previous_becomes_alternate", func(t *testing.T) {
		tm := newOrgTeam(t, a, "s3")
		sa, asa := tm.user("security_admin"), tm.user("alternate_security_admin")
		r := a.Do("PUT", tm.memberPath(tm.user("it_manager"), "/roles/security_admin?previousBecomesAlternate=true"), sa, nil)
		orgWant(t, r, http.StatusNoContent)
		wantHolders(t, tm, tm.user("it_manager"), sa)
		if a.Allowed("organisation:s3", "alternate_security_admin", asa) || !a.Allowed("organisation:s3", "delegate_alternate_security_admin", sa) {
			t.Error("the ASA was not replaced by the outgoing SA")
		}
		// Without the flag the outgoing SA simply goes; the owner may delegate too.
		orgWant(t, tm.grant(own(tm), tm.user("finance_admin"), "security_admin"), http.StatusNoContent)
		wantHolders(t, tm, tm.user("finance_admin"), sa)
		// Handing over to the ASA with the flag swaps them.
		orgWant(t, a.Do("PUT", tm.memberPath(sa, "/roles/security_admin?previousBecomesAlternate=true"), tm.user("finance_admin"), nil), http.StatusNoContent)
		wantHolders(t, tm, sa, tm.user("finance_admin"))
		for _, q := range []string{"?previousBecomesAlternate=maybe", "?other=1"} {
			before := a.snapshot()
			r := a.Do("PUT", tm.memberPath(tm.user("it_admin"), "/roles/security_admin"+q), own(tm), nil)
			a.mustRefuse(t, r, refusal{status: http.StatusBadRequest, code: "invalid_argument"}, before)
		}
		before := a.snapshot()
		r = a.Do("PUT", tm.memberPath(tm.user("it_admin"), "/roles/it_manager?previousBecomesAlternate=true"), own(tm), nil)
		a.mustRefuse(t, r, refusal{status: http.StatusBadRequest, field: "previousBecomesAlternate"}, before)
	})

	t.Run("S4_the_ASA_does_all_the_SA_does_but_delegate_an_SA", func(t *testing.T) {
		tm := newOrgTeam(t, a, "s4")
		asa := tm.user("alternate_security_admin")
		before := a.snapshot()
		r := tm.grant(asa, tm.user("it_manager"), "security_admin")
		a.mustRefuse(t, r, refusal{status: http.StatusForbidden, code: "permission_denied", permission: "delegate_security_admin"}, before)
		r = tm.revoke(asa, tm.user("security_admin"), "security_admin")
		a.mustRefuse(t, r, refusal{status: http.StatusForbidden, permission: "delegate_security_admin"}, before)
		r = a.Do("DELETE", tm.memberPath(tm.user("security_admin"), ""), asa, nil)
		a.mustRefuse(t, r, refusal{status: http.StatusForbidden, permission: "delegate_security_admin"}, before)
		orgWant(t, tm.grant(asa, tm.user("newbie"), "administrator"), http.StatusNoContent)
		orgWant(t, tm.designate(asa, tm.user("newbie"), "main_contact", false), http.StatusNoContent)
		orgWant(t, a.Do("POST", tm.path("/contractors"), asa, map[string]any{"id": "s4-c", "adminOnly": true}), http.StatusCreated)
		orgWant(t, a.Do("POST", tm.path("/invoices"), asa, map[string]any{"id": "s4-inv", "amount": "5", "currency": "USD"}), http.StatusCreated)
	})

	t.Run("S5_SA_ASA_or_owner_delegate_the_ASA", func(t *testing.T) {
		tm := newOrgTeam(t, a, "s5")
		for i, actor := range []string{tm.user("owner"), tm.user("security_admin"), tm.user("alternate_security_admin")} {
			// The ASA hands over to someone else, so each round asks the current one.
			if actor == tm.user("alternate_security_admin") {
				actor = tm.user("asa-1")
			}
			next := tm.user("asa-" + string(rune('0'+i)))
			orgWant(t, tm.grant(actor, next, "alternate_security_admin"), http.StatusNoContent)
			wantHolders(t, tm, tm.user("security_admin"), next)
		}
		for _, role := range orgRoles()[3:] {
			before := a.snapshot()
			r := tm.grant(tm.user(role), tm.user("it_admin"), "alternate_security_admin")
			a.mustRefuse(t, r, refusal{status: http.StatusForbidden, code: "permission_denied", permission: "delegate_alternate_security_admin"}, before)
		}
	})

	t.Run("S6_SA_and_ASA_hold_every_permission_but_the_owners", func(t *testing.T) {
		tm := newOrgTeam(t, a, "s6")
		perms := []string{
			"member", "delete", "transfer_ownership", "delegate_security_admin", "delegate_alternate_security_admin",
			"manage_members", "manage_team_members", "edit_details", "view_billing", "manage_billing", "manage_contractors",
			"view_services", "view_reports", "request_user_changes", "request_config_changes", "request_services",
			"approve_config_changes", "approve_spending", "approve_security_changes", "approve_charges", "manage_designations",
		}
		for _, c := range []struct {
			role    string
			without []string
		}{
			{"security_admin", []string{"delete", "transfer_ownership"}},
			{"alternate_security_admin", []string{"delete", "transfer_ownership", "delegate_security_admin"}},
		} {
			for _, p := range perms {
				if want := !slices.Contains(c.without, p); a.Allowed("organisation:s6", p, tm.user(c.role)) != want {
					t.Errorf("%s holds %s: %v, want %v", c.role, p, !want, want)
				}
			}
		}
	})

	t.Run("S7_provider_staff_delegate_an_SA_when_SA_and_ASA_are_unavailable", func(t *testing.T) {
		tm := newOrgTeam(t, a, "s7")
		sa, asa, dora := tm.user("security_admin"), tm.user("alternate_security_admin"), tm.user("dora")
		body := map[string]any{"reason": "SA and ASA on leave; director asked by phone", "requestedBy": dora}
		put := func(actor string, body any) Response {
			return a.Do("PUT", tm.memberPath(tm.user("it_manager"), "/roles/security_admin"), actor, body)
		}
		orgWant(t, tm.grant(own(tm), dora, "cis_processor"), http.StatusNoContent) // T4: a director is on the team
		orgWant(t, tm.designate(own(tm), dora, "director", false), http.StatusNoContent)

		// Not yet: the director is not verified and the SA and ASA are available.
		before := a.snapshot()
		a.mustRefuse(t, put(orgStaff, body), refusal{status: http.StatusUnprocessableEntity, rule: "S7"}, before)
		// C9: provider staff say why they verified a director; without a reason nothing changes.
		before = a.snapshot()
		a.mustRefuse(t, a.Do("PUT", tm.memberPath(dora, "/designations/verified_director"), orgStaff, nil), refusal{status: http.StatusBadRequest, field: "reason"}, before)
		orgWant(t, tm.designate(orgStaff, dora, "verified_director", false), http.StatusNoContent)
		before = a.snapshot()
		a.mustRefuse(t, put(orgStaff, body), refusal{status: http.StatusUnprocessableEntity, rule: "S7"}, before)
		orgWant(t, tm.designate(orgStaff, sa, "unavailable_contact", false), http.StatusNoContent)
		before = a.snapshot()
		a.mustRefuse(t, put(orgStaff, body), refusal{status: http.StatusUnprocessableEntity, rule: "S7"}, before)
		orgWant(t, tm.designate(orgStaff, asa, "unavailable_contact", false), http.StatusNoContent)

		// Refusals that name what is missing.
		for _, c := range []struct {
			name, actor string
			body        any
			want        refusal
		}{
			{"staff without a requesting director", orgStaff, nil, refusal{status: http.StatusForbidden, permission: "delegate_security_admin"}},
			{"staff without a reason", orgStaff, map[string]any{"requestedBy": dora}, refusal{status: http.StatusBadRequest, field: "reason"}},
			{"a member who is not staff", tm.user("it_admin"), body, refusal{status: http.StatusForbidden, permission: "provider_staff"}},
			{"requested by a claimed director only", orgStaff, map[string]any{"reason": "r", "requestedBy": tm.user("it_admin")}, refusal{status: http.StatusUnprocessableEntity, rule: "S7"}},
			{"requester not a user", orgStaff, map[string]any{"reason": "r", "requestedBy": "platform:provider"}, refusal{status: http.StatusBadRequest, field: "requestedBy"}},
			{"unknown body field", orgStaff, map[string]any{"reason": "r", "requestedBy": dora, "urgent": true}, refusal{status: http.StatusBadRequest, field: "urgent"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := a.snapshot()
				a.mustRefuse(t, put(c.actor, c.body), c.want, before)
			})
		}

		orgWant(t, put(orgStaff, body), http.StatusNoContent)
		wantHolders(t, tm, tm.user("it_manager"), asa)
		ev := orgAudit(t, a, "s7", "&actor="+orgStaff)[0]
		details, _ := ev["details"].(map[string]any)
		if ev["action"] != "grant_role" || ev["reason"] != body["reason"] || details["requestedBy"] != dora || details["rule"] != "S7" {
			t.Errorf("audit event %v", ev)
		}
		// The director may not ask while unavailable themselves.
		orgWant(t, tm.designate(orgStaff, tm.user("it_manager"), "unavailable_contact", false), http.StatusNoContent)
		orgWant(t, tm.designate(orgStaff, dora, "unavailable_contact", false), http.StatusNoContent)
		before = a.snapshot()
		a.mustRefuse(t, a.Do("PUT", tm.memberPath(tm.user("it_admin"), "/roles/security_admin"), orgStaff, body), refusal{status: http.StatusUnprocessableEntity, rule: "S7"}, before)
	})
}
