package server_test

import (
	"net/http"
	"testing"
)

// TestGetContractor proves GET /v1/contractors/{id}: the contractor to
// whoever may view it (K2, K3), 403 naming view to anyone else, whether
// or not it exists (X1), and 400 naming id for one SpiceDB would refuse.
func TestGetContractor(t *testing.T) {
	a := MustAPI(t)
	tm := newOrgTeam(t, a, "getk")
	other := newOrgTeam(t, a, "getk2")
	tm.contractor(t, "gk1", false)
	tm.contractor(t, "gk2", true)

	r := a.Do("GET", "/v1/contractors/gk1", tm.user("cis_processor"), nil)
	orgWant(t, r, http.StatusOK)
	if r.Body["id"] != "gk1" || r.Body["organisation"] != "getk" || r.Body["name"] != "Contractor gk1" || r.Body["adminOnly"] != false {
		t.Errorf("gk1 answered %s", r.Raw)
	}
	r = a.Do("GET", "/v1/contractors/gk2", tm.user("administrator"), nil)
	orgWant(t, r, http.StatusOK)
	if r.Body["adminOnly"] != true {
		t.Errorf("gk2 answered %s", r.Raw)
	}
	for _, c := range []struct{ name, actor, id string }{
		{"K2_admin_only_hidden_from_cis_processor", tm.user("cis_processor"), "gk2"},
		{"R6_billing_manager_sees_no_contractor", tm.user("billing_manager"), "gk1"},
		{"X1_outsider", other.user("owner"), "gk1"},
		{"X1_no_such_contractor", tm.user("owner"), "no-such"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := a.snapshot()
			a.mustRefuse(t, a.Do("GET", "/v1/contractors/"+c.id, c.actor, nil), refusal{status: http.StatusForbidden, code: "permission_denied", permission: "view"}, before)
		})
	}
	before := a.snapshot()
	a.mustRefuse(t, a.Do("GET", "/v1/contractors/a:b", tm.user("owner"), nil), refusal{status: http.StatusBadRequest, field: "id"}, before)
}

// TestAbilities proves GET /v1/abilities: each permission the operations
// on the object require, held or not, agrees with the operation itself
// (a grant the answer allows succeeds; one it does not is refused naming
// the same permission), and a change request's transitions.
func TestAbilities(t *testing.T) {
	a := MustAPI(t)
	tm := newOrgTeam(t, a, "abl")
	other := newOrgTeam(t, a, "abl2")
	tm.contractor(t, "ak1", true)

	abilities := func(actor, object string) (perms, actions map[string]any) {
		t.Helper()
		r := a.Do("GET", "/v1/abilities?object="+object, actor, nil)
		orgWant(t, r, http.StatusOK)
		if r.Body["object"] != object {
			t.Errorf("object %v, want %s", r.Body["object"], object)
		}
		perms, _ = r.Body["permissions"].(map[string]any)
		actions, _ = r.Body["actions"].(map[string]any)
		return perms, actions
	}

	t.Run("organisation_as_each_role", func(t *testing.T) {
		for _, role := range orgRoles() {
			perms, actions := abilities(tm.user(role), "organisation:abl")
			// Its reads and commands (workflow.ReadTeam ...), each as the
			// permission its guard needs says.
			for action, perm := range map[string]string{"listContractors": "member", "listInvoices": "view_billing", "listAudit": "view_reports", "createContractor": "manage_contractors", "delegateSecurityAdmin": "delegate_security_admin"} {
				if got, want := actions[action], a.Allowed("organisation:abl", perm, tm.user(role)); got != want {
					t.Errorf("%s: action %s = %v, the check of %s says %v", role, action, got, perm, want)
				}
			}
			for _, p := range []string{"member", "manage_members", "manage_team_members", "manage_contractors", "view_billing", "delegate_security_admin"} {
				held, ok := perms[p].(bool)
				if !ok {
					t.Fatalf("%s: no %s in %v", role, p, perms)
				}
				if want := a.Allowed("organisation:abl", p, tm.user(role)); held != want {
					t.Errorf("%s: %s = %v, the check says %v", role, p, held, want)
				}
			}
		}
		// The answer agrees with the operation: cis_processor is granted
		// by manage_team_members, security_admin by delegate_security_admin.
		perms, _ := abilities(tm.user("administrator"), "organisation:abl")
		if perms["manage_team_members"] != true || perms["delegate_security_admin"] != false {
			t.Fatalf("administrator: %v", perms)
		}
		orgWant(t, tm.grant(tm.user("administrator"), tm.user("new"), "cis_processor"), http.StatusNoContent)
		before := a.snapshot()
		a.mustRefuse(t, tm.grant(tm.user("administrator"), tm.user("new"), "security_admin"), refusal{status: http.StatusForbidden, permission: "delegate_security_admin"}, before)
	})

	t.Run("X1_outsider_and_no_such_object_hold_nothing", func(t *testing.T) {
		for _, object := range []string{"organisation:abl", "contractor:ak1", "organisation:no-such", "contractor:no-such"} {
			perms, _ := abilities(other.user("owner"), object)
			if len(perms) == 0 {
				t.Fatalf("%s: no permissions answered", object)
			}
			for p, held := range perms {
				if held != false {
					t.Errorf("an outsider holds %s on %s", p, object)
				}
			}
		}
	})

	t.Run("K2_contractor", func(t *testing.T) {
		perms, _ := abilities(tm.user("administrator"), "contractor:ak1")
		if perms["view"] != true || perms["edit"] != true {
			t.Errorf("administrator on admin-only ak1: %v", perms)
		}
		perms, _ = abilities(tm.user("cis_processor"), "contractor:ak1")
		if perms["view"] != false || perms["edit"] != false {
			t.Errorf("cis_processor on admin-only ak1: %v", perms)
		}
	})

	t.Run("change_request_transitions", func(t *testing.T) {
		orgWant(t, tm.designate(tm.user("owner"), tm.user("administrator"), "main_contact", false), http.StatusNoContent)
		r := a.Do("POST", tm.path("/change-requests"), tm.user("cis_processor"), map[string]any{"id": "abl-cr", "kind": "public_facing", "target": "page:pricing"})
		orgWant(t, r, http.StatusCreated)
		_, requester := abilities(tm.user("cis_processor"), "change_request:abl-cr")
		if requester["withdrawChangeRequest"] != true || requester["authoriseChangeRequest"] != false || requester["overrideChangeRequest"] != false {
			t.Errorf("the requester may: %v", requester)
		}
		_, contact := abilities(tm.user("administrator"), "change_request:abl-cr")
		if contact["authoriseChangeRequest"] != true || contact["rejectChangeRequest"] != true || contact["withdrawChangeRequest"] != false {
			t.Errorf("the main contact may: %v", contact)
		}
		if _, outsider := abilities(other.user("owner"), "change_request:abl-cr"); outsider != nil {
			t.Errorf("an outsider is told the request's transitions: %v", outsider)
		}
		orgWant(t, a.Do("POST", "/v1/change-requests/abl-cr/withdraw", tm.user("cis_processor"), nil), http.StatusOK)
		_, closed := abilities(tm.user("cis_processor"), "change_request:abl-cr")
		for action, may := range closed {
			if may != false {
				t.Errorf("on a withdrawn request the requester may still %s", action)
			}
		}
	})

	t.Run("refusals_name_the_field", func(t *testing.T) {
		for _, c := range []struct{ query, field string }{
			{"", "object"},
			{"?object=acme", "object"},
			{"?object=change_kind:abl/public_facing", "object"},
			{"?object=organisation:abl&other=1", "other"},
		} {
			before := a.snapshot()
			a.mustRefuse(t, a.Do("GET", "/v1/abilities"+c.query, tm.user("owner"), nil), refusal{status: http.StatusBadRequest, field: c.field}, before)
		}
		before := a.snapshot()
		a.mustRefuse(t, a.Do("GET", "/v1/abilities?object=organisation:abl", "", nil), refusal{status: http.StatusBadRequest, field: "Gatehouse-Actor"}, before)
	})
}

// TestOptionalReasons proves that revoking a role, removing a member and
// deleting a contractor take an optional {"reason"}, which the audit trail
// shows (X2), and go on working without a body.
func TestOptionalReasons(t *testing.T) {
	a := MustAPI(t)
	tm := newOrgTeam(t, a, "rsn")
	tm.contractor(t, "rk1", false)
	tm.contractor(t, "rk2", false)
	orgWant(t, tm.grant(tm.user("owner"), tm.user("x"), "cis_processor"), http.StatusNoContent)
	orgWant(t, tm.grant(tm.user("owner"), tm.user("y"), "cis_processor"), http.StatusNoContent)

	for _, c := range []struct{ method, path, action, reason string }{
		{"DELETE", tm.memberPath(tm.user("it_admin"), "/roles/it_admin"), "revoke_role", "left the IT team"},
		{"DELETE", tm.memberPath(tm.user("x"), ""), "remove_member", "contract ended"},
		{"DELETE", "/v1/contractors/rk1", "delete_contractor", "duplicate of rk2"},
		{"DELETE", tm.memberPath(tm.user("y"), ""), "remove_member", ""},
		{"DELETE", "/v1/contractors/rk2", "delete_contractor", ""},
	} {
		t.Run(c.action+"_"+c.reason, func(t *testing.T) {
			var body any
			if c.reason != "" {
				body = map[string]any{"reason": c.reason}
			}
			orgWant(t, a.Do(c.method, c.path, tm.user("owner"), body), http.StatusNoContent)
			events := orgAudit(t, a, "rsn", "&action="+c.action)
			if len(events) == 0 {
				t.Fatalf("no %s event", c.action)
			}
			if got, _ := events[0]["reason"].(string); got != c.reason {
				t.Errorf("%s audited reason %q, want %q", c.action, got, c.reason)
			}
		})
	}
	t.Run("unknown_field_refused", func(t *testing.T) {
		before := a.snapshot()
		a.mustRefuse(t, a.Do("DELETE", "/v1/contractors/none", tm.user("owner"), map[string]any{"why": "x"}), refusal{status: http.StatusBadRequest, field: "why"}, before)
	})
	t.Run("delete_organisation_O3", func(t *testing.T) {
		orgWant(t, a.Do("DELETE", "/v1/organisations/rsn", tm.user("owner"), map[string]any{"reason": "client left"}), http.StatusNoContent)
		events := orgAudit(t, a, "rsn", "&action=delete_organisation")
		if len(events) == 0 {
			t.Fatal("no delete_organisation event")
		}
		if got, _ := events[0]["reason"].(string); got != "client left" {
			t.Errorf("delete_organisation audited reason %q, want %q", got, "client left")
		}
	})
}
