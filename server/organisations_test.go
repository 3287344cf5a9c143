package server_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestOrganisationRules proves rules O1-O6 of domain.md through the HTTP API.
func TestOrganisationRules(t *testing.T) {
	a := MustAPI(t)

	t.Run("O1_creator_becomes_owner", func(t *testing.T) {
		r := a.Do("POST", "/v1/organisations", "user:olga", map[string]any{"id": "o1", "name": "O One Ltd"})
		orgWant(t, r, http.StatusCreated)
		if r.Body["id"] != "o1" || r.Body["name"] != "O One Ltd" || r.Body["owner"] != "user:olga" || r.Body["zedToken"] == "" {
			t.Errorf("answer %s", r.Raw)
		}
		if got := r.Header.Get("Location"); got != "/v1/organisations/o1" {
			t.Errorf("Location %q", got)
		}
		if !a.Allowed("organisation:o1", "delete", "user:olga") || !a.Allowed("organisation:o1", "transfer_ownership", "user:olga") {
			t.Error("the creator does not hold the owner's permissions")
		}
		g := a.Do("GET", "/v1/organisations/o1", "user:olga", nil)
		orgWant(t, g, http.StatusOK)
		if g.Body["name"] != "O One Ltd" || g.Body["owner"] != "user:olga" {
			t.Errorf("GET answered %s", g.Raw)
		}
		// The organisation reaches provider staff through its platform link.
		if !slices.Contains(a.Relationships("organisation:o1"), "organisation:o1#platform@platform:provider") {
			t.Errorf("no platform link: %v", a.Relationships("organisation:o1"))
		}
	})

	t.Run("O1_existing_id_is_409", func(t *testing.T) {
		before := a.snapshot()
		r := a.Do("POST", "/v1/organisations", "user:mallory", map[string]any{"id": "o1", "name": "Taken"})
		a.mustRefuse(t, r, refusal{status: http.StatusConflict, code: "conflict", rule: "O1"}, before)
	})

	t.Run("O1_bad_input_names_the_field", func(t *testing.T) {
		for _, c := range []struct {
			name, actor string
			body        any
			field       string
		}{
			{"no actor", "", map[string]any{"id": "ox", "name": "X"}, "Gatehouse-Actor"},
			{"actor not a user", "platform:provider", map[string]any{"id": "ox", "name": "X"}, "Gatehouse-Actor"},
			{"no name", "user:olga", map[string]any{"id": "ox"}, "name"},
			{"no id", "user:olga", map[string]any{"name": "X"}, "id"},
			{"bad id", "user:olga", map[string]any{"id": "o x", "name": "X"}, "id"},
			{"wildcard id", "user:olga", map[string]any{"id": "*", "name": "X"}, "id"},
			{"unknown field", "user:olga", map[string]any{"id": "ox", "name": "X", "owner": "user:eve"}, "owner"},
			{"not JSON", "user:olga", "{", "body"},
			{"X5 id with a slash", "user:olga", map[string]any{"id": "evil/x", "name": "X"}, "id"},
			{"X5 duplicate id", "user:olga", `{"id":"ox","name":"X","id":"oy"}`, "id"},
			{"X5 case-variant id", "user:olga", `{"ID":"ox","name":"X"}`, "ID"},
			{"X5 trailing data", "user:olga", `{"id":"ox","name":"X"}}]`, "body"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := a.snapshot()
				r := a.Do("POST", "/v1/organisations", c.actor, c.body)
				a.mustRefuse(t, r, refusal{status: http.StatusBadRequest, code: "invalid_argument", field: c.field}, before)
			})
		}
	})

	tm := newOrgTeam(t, a, "o2")

	t.Run("O2_owner_is_never_granted_by_PUT", func(t *testing.T) {
		before := a.snapshot()
		r := tm.grant(tm.user("owner"), tm.user("administrator"), "owner")
		a.mustRefuse(t, r, refusal{status: http.StatusUnprocessableEntity, code: "rule_violation", rule: "O2"}, before)
	})

	t.Run("O2_owner_is_never_written_raw", func(t *testing.T) {
		before := a.snapshot()
		r := a.Do("POST", "/v1/relationships", "", map[string]any{"touch": []string{"organisation:o2#owner@" + tm.user("it_admin")}})
		a.mustRefuse(t, r, refusal{status: http.StatusUnprocessableEntity, code: "rule_violation", rule: "O2"}, before)
	})

	t.Run("O3_only_the_owner_deletes", func(t *testing.T) {
		for _, role := range orgRoles()[1:] {
			before := a.snapshot()
			r := a.Do("DELETE", tm.path(""), tm.user(role), nil)
			a.mustRefuse(t, r, refusal{status: http.StatusForbidden, code: "permission_denied", permission: "delete"}, before)
		}
		before := a.snapshot()
		r := a.Do("DELETE", "/v1/organisations/nowhere", tm.user("owner"), nil)
		a.mustRefuse(t, r, refusal{status: http.StatusNotFound, code: "not_found"}, before)
	})

	t.Run("O4_only_the_owner_transfers", func(t *testing.T) {
		for _, role := range orgRoles()[1:] {
			before := a.snapshot()
			r := a.Do("POST", tm.path("/transfer-ownership"), tm.user(role), map[string]any{"to": tm.user("it_admin")})
			a.mustRefuse(t, r, refusal{status: http.StatusForbidden, code: "permission_denied", permission: "transfer_ownership"}, before)
		}
	})

	t.Run("O4_only_to_a_current_team_member", func(t *testing.T) {
		// A director holds a designation but no role: not on the team. T4
		// refuses that designation, so dora stays an outsider.
		before := a.snapshot()
		a.mustRefuse(t, tm.designate(tm.user("owner"), tm.user("dora"), "director", false), refusal{status: http.StatusUnprocessableEntity, code: "rule_violation", rule: "T4", field: "user"}, before)
		for _, to := range []string{"user:outsider", tm.user("dora"), tm.user("owner")} {
			before := a.snapshot()
			r := a.Do("POST", tm.path("/transfer-ownership"), tm.user("owner"), map[string]any{"to": to})
			a.mustRefuse(t, r, refusal{status: http.StatusUnprocessableEntity, code: "rule_violation", rule: "O4"}, before)
		}
		before = a.snapshot()
		r := a.Do("POST", tm.path("/transfer-ownership"), tm.user("owner"), map[string]any{"to": "organisation:o1"})
		a.mustRefuse(t, r, refusal{status: http.StatusBadRequest, field: "to"}, before)
	})

	t.Run("O4_transfer_is_one_change_and_the_previous_owner_stays_administrator", func(t *testing.T) {
		r := a.Do("POST", tm.path("/transfer-ownership"), tm.user("owner"), map[string]any{"to": tm.user("cis_processor"), "reason": "retiring"})
		orgWant(t, r, http.StatusOK)
		if r.Body["owner"] != tm.user("cis_processor") || r.Body["zedToken"] == "" {
			t.Errorf("answer %s", r.Raw)
		}
		if got := tm.holders("owner"); !slices.Equal(got, []string{tm.user("cis_processor")}) {
			t.Errorf("owners %v", got)
		}
		if !slices.Contains(tm.holders("administrator"), tm.user("owner")) {
			t.Error("the previous owner is not an administrator")
		}
		if a.Allowed("organisation:o2", "delete", tm.user("owner")) || !a.Allowed("organisation:o2", "delete", tm.user("cis_processor")) {
			t.Error("delete did not move with ownership")
		}
		ev := orgAudit(t, a, "o2", "&actor="+tm.user("owner"))[0]
		if ev["action"] != "transfer_ownership" || ev["reason"] != "retiring" || len(ev["changes"].([]any)) != 3 {
			t.Errorf("audit event %v", ev)
		}
		// And back, so the rest of the test has its owner.
		orgWant(t, a.Do("POST", tm.path("/transfer-ownership"), tm.user("cis_processor"), map[string]any{"to": tm.user("owner")}), http.StatusOK)
	})

	t.Run("O5_owner_invites_edits_removes_everyone_and_manages_billing", func(t *testing.T) {
		own := tm.user("owner")
		for _, role := range orgRoles()[1:] {
			u := tm.user("o5-" + role)
			orgWant(t, tm.grant(own, u, role), http.StatusNoContent)
			orgWant(t, tm.revoke(own, u, role), http.StatusNoContent)
			orgWant(t, tm.grant(own, u, role), http.StatusNoContent)
			orgWant(t, a.Do("DELETE", tm.memberPath(u, ""), own, nil), http.StatusNoContent)
		}
		if !a.Allowed("organisation:o2", "manage_billing", own) {
			t.Error("the owner cannot manage billing")
		}
		orgWant(t, a.Do("POST", tm.path("/invoices"), own, map[string]any{"id": "o5-inv", "amount": "10.00", "currency": "GBP"}), http.StatusCreated)
		// The SA and ASA were replaced and removed above; put them back.
		orgWant(t, tm.grant(own, tm.user("security_admin"), "security_admin"), http.StatusNoContent)
		orgWant(t, tm.grant(own, tm.user("alternate_security_admin"), "alternate_security_admin"), http.StatusNoContent)
	})

	t.Run("O6_the_owner_is_never_removed_nor_loses_the_role", func(t *testing.T) {
		for _, actor := range []string{tm.user("owner"), tm.user("security_admin"), tm.user("alternate_security_admin")} {
			before := a.snapshot()
			r := a.Do("DELETE", tm.memberPath(tm.user("owner"), ""), actor, nil)
			a.mustRefuse(t, r, refusal{status: http.StatusUnprocessableEntity, code: "rule_violation", rule: "O6"}, before)
			r = tm.revoke(actor, tm.user("owner"), "owner")
			a.mustRefuse(t, r, refusal{status: http.StatusUnprocessableEntity, code: "rule_violation", rule: "O6"}, before)
		}
		if got := tm.holders("owner"); !slices.Equal(got, []string{tm.user("owner")}) {
			t.Errorf("owners %v", got)
		}
	})

	t.Run("GET_organisation_members_only", func(t *testing.T) {
		for _, role := range orgRoles() {
			orgWant(t, a.Do("GET", tm.path(""), tm.user(role), nil), http.StatusOK)
		}
		r := a.Do("GET", tm.path(""), "user:outsider", nil)
		if r.Status != http.StatusForbidden || r.ErrorPermission() != "member" {
			t.Errorf("outsider: %d %s", r.Status, r.Raw)
		}
		orgWant(t, a.Do("GET", "/v1/organisations/nowhere", tm.user("owner"), nil), http.StatusNotFound)
		orgWant(t, a.Do("GET", tm.path(""), "", nil), http.StatusBadRequest)
	})

	t.Run("members_list_roles_and_designations_sorted", func(t *testing.T) {
		orgWant(t, tm.grant(tm.user("owner"), tm.user("it_admin"), "cis_processor"), http.StatusNoContent)
		orgWant(t, tm.designate(tm.user("owner"), tm.user("it_admin"), "technical_contact", false), http.StatusNoContent)
		orgWant(t, tm.designate(tm.user("owner"), tm.user("it_admin"), "main_contact", false), http.StatusNoContent)
		r := a.Do("GET", tm.path("/members"), tm.user("billing_manager"), nil)
		orgWant(t, r, http.StatusOK)
		var users []string
		for _, m := range r.Body["members"].([]any) {
			m := m.(map[string]any)
			users = append(users, m["user"].(string))
			if m["user"] == tm.user("it_admin") {
				if got := strs(m["roles"]); !slices.Equal(got, []string{"cis_processor", "it_admin"}) {
					t.Errorf("roles %v", got)
				}
				if got := strs(m["designations"]); !slices.Equal(got, []string{"main_contact", "technical_contact"}) {
					t.Errorf("designations %v", got)
				}
			}
		}
		// T4: only role holders hold designations, so the list is the team (dora's designation was refused).
		if !slices.IsSorted(users) || slices.Contains(users, tm.user("dora")) || len(users) != len(orgRoles()) {
			t.Errorf("members %v", users)
		}
		r = a.Do("GET", tm.path("/members"), "user:outsider", nil)
		if r.Status != http.StatusForbidden {
			t.Errorf("outsider listed members: %d", r.Status)
		}
	})
}
