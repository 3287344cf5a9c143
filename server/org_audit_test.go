package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEverywhereRules proves rules X1-X3 of domain.md for the organisation
// endpoints, through the HTTP API.
func TestEverywhereRules(t *testing.T) {
	a := MustAPI(t)
	tm := newOrgTeam(t, a, "ex")
	tm.contractor(t, "ex-open", false)
	tm.contractor(t, "ex-secret", true)
	orgWant(t, a.Do("POST", tm.path("/invoices"), tm.user("owner"), map[string]any{"id": "ex-inv", "amount": "3.00", "currency": "GBP"}), http.StatusCreated)
	neighbour := newOrgTeam(t, a, "ex2")

	t.Run("X1_outsiders_hold_nothing", func(t *testing.T) {
		perms := map[string][]string{
			"organisation:ex": {
				"member", "delete", "transfer_ownership", "delegate_security_admin", "delegate_alternate_security_admin",
				"manage_members", "manage_team_members", "edit_details", "view_billing", "manage_billing", "manage_contractors",
				"view_services", "view_reports", "request_user_changes", "request_config_changes", "request_services",
				"approve_config_changes", "approve_spending", "approve_security_changes", "approve_charges", "manage_designations",
			},
			"contractor:ex-open":   {"view", "edit"},
			"contractor:ex-secret": {"view", "edit"},
			"invoice:ex-inv":       {"view", "pay", "approve"},
		}
		outsiders := []string{"user:outsider", neighbour.user("owner"), neighbour.user("security_admin"), neighbour.user("administrator")}
		for _, u := range outsiders {
			for res, ps := range perms {
				for _, p := range ps {
					if a.Allowed(res, p, u) {
						t.Errorf("outsider %s holds %s on %s", u, p, res)
					}
				}
			}
			for _, typ := range []string{"contractor", "invoice"} {
				for _, res := range lookupAll(t, a, typ, "view", u) {
					if strings.Contains(res, ":ex-") {
						t.Errorf("outsider %s finds %s", u, res)
					}
				}
			}
			before := a.snapshot()
			a.mustRefuse(t, a.Do("PATCH", "/v1/contractors/ex-open", u, map[string]any{"adminOnly": true}), refusal{status: http.StatusForbidden, permission: "manage_contractors"}, before)
		}
	})

	t.Run("X2_every_change_is_recorded_with_who_what_why_newest_first", func(t *testing.T) {
		// Before the team's creation, whose events are listed too: on
		// Postgres a write waits up to a Watch heartbeat for its record.
		start := time.Now().Add(-time.Second)
		at := newOrgTeam(t, a, "aud")
		ann := "user:x2-ann"
		steps := []struct {
			actor, method, path string
			body                any
			action              string
		}{
			{at.user("owner"), "PUT", at.memberPath("x2-ann", "/roles/it_admin"), map[string]any{"reason": "new hire"}, "grant_role"},
			{at.user("security_admin"), "PUT", at.memberPath("x2-ann", "/designations/main_contact"), nil, "set_designation"},
			{at.user("administrator"), "POST", at.path("/contractors"), map[string]any{"id": "aud-c", "adminOnly": true}, "create_contractor"},
			{at.user("administrator"), "PATCH", "/v1/contractors/aud-c", map[string]any{"adminOnly": false}, "update_contractor"},
			{at.user("finance_admin"), "POST", at.path("/invoices"), map[string]any{"id": "aud-inv", "amount": "7.00", "currency": "GBP"}, "create_invoice"},
			{at.user("owner"), "POST", at.path("/transfer-ownership"), map[string]any{"to": ann, "reason": "succession"}, "transfer_ownership"},
			{ann, "DELETE", at.memberPath(at.user("owner"), "/roles/administrator"), nil, "revoke_role"},
			{ann, "DELETE", "/v1/contractors/aud-c", nil, "delete_contractor"},
			{ann, "DELETE", at.memberPath(at.user("cis_processor"), ""), nil, "remove_member"},
		}
		for _, s := range steps {
			if r := a.Do(s.method, s.path, s.actor, s.body); r.Status >= 300 {
				t.Fatalf("%s %s as %s: %d %s", s.method, s.path, s.actor, r.Status, r.Raw)
			}
		}
		// A refusal records nothing.
		orgWant(t, at.grant(at.user("cis_processor"), "user:nobody", "it_admin"), http.StatusForbidden)

		evs := orgAudit(t, a, "aud", "")
		var actions []string
		var prev time.Time
		for i, ev := range evs {
			ts, err := time.Parse(time.RFC3339Nano, ev["at"].(string))
			if err != nil || ts.Before(start) {
				t.Errorf("event time %v", ev["at"])
			}
			if i > 0 && ts.After(prev) {
				t.Errorf("event %d is newer than event %d", i, i-1)
			}
			prev = ts
			if ev["actor"] == "" || ev["organisation"] != "aud" || ev["zedToken"] == "" || len(ev["changes"].([]any)) == 0 {
				t.Errorf("event %v", ev)
			}
			actions = append(actions, ev["action"].(string))
		}
		var want []string
		for i := len(steps) - 1; i >= 0; i-- {
			want = append(want, steps[i].action)
		}
		if !slices.Equal(actions[:len(want)], want) {
			t.Errorf("actions newest first %v, want %v before the team's creation", actions, want)
		}
		if evs[0]["actor"] != ann {
			t.Errorf("newest event by %v", evs[0]["actor"])
		}
		if ev := evs[3]; ev["reason"] != "succession" || !strings.Contains(strings.Join(strs(ev["changes"]), " "), "delete organisation:aud#owner@"+at.user("owner")) {
			t.Errorf("transfer event %v", ev)
		}

		mine := orgAudit(t, a, "aud", "&actor="+at.user("administrator"))
		if len(mine) != 2 || mine[0]["action"] != "update_contractor" || mine[1]["action"] != "create_contractor" {
			t.Errorf("events by the administrator: %v", mine)
		}
		r := a.Do("GET", "/v1/audit?organisation=aud&limit=2", "", nil)
		orgWant(t, r, http.StatusOK)
		if len(r.Body["events"].([]any)) != 2 || r.Body["cursor"] == nil {
			t.Errorf("first page %s", r.Raw)
		}
	})

	t.Run("X3_every_organisation_endpoint_needs_an_actor", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"POST", "/v1/organisations"},
			{"GET", "/v1/organisations/ex"},
			{"DELETE", "/v1/organisations/ex"},
			{"POST", "/v1/organisations/ex/transfer-ownership"},
			{"GET", "/v1/organisations/ex/members"},
			{"PUT", "/v1/organisations/ex/members/bob/roles/it_admin"},
			{"DELETE", "/v1/organisations/ex/members/bob/roles/it_admin"},
			{"DELETE", "/v1/organisations/ex/members/ex-it_admin"},
			{"PUT", "/v1/organisations/ex/members/bob/designations/director"},
			{"DELETE", "/v1/organisations/ex/members/bob/designations/director"},
			{"POST", "/v1/organisations/ex/contractors"},
			{"PATCH", "/v1/contractors/ex-open"},
			{"DELETE", "/v1/contractors/ex-open"},
			{"POST", "/v1/organisations/ex/invoices"},
		} {
			t.Run(c.method+"_"+c.path, func(t *testing.T) {
				before := a.snapshot()
				a.mustRefuse(t, a.Do(c.method, c.path, "", map[string]any{}), refusal{status: http.StatusBadRequest, code: "invalid_argument", field: "Gatehouse-Actor"}, before)
			})
		}
	})

	t.Run("X3_malformed_requests_name_the_field", func(t *testing.T) {
		own := tm.user("owner")
		for _, c := range []struct {
			name, method, path string
			body               any
			field              string
		}{
			{"transfer without to", "POST", tm.path("/transfer-ownership"), map[string]any{}, "to"},
			{"transfer to a number", "POST", tm.path("/transfer-ownership"), map[string]any{"to": 5}, "to"},
			{"transfer to a wildcard", "POST", tm.path("/transfer-ownership"), map[string]any{"to": "user:*"}, "to"},
			{"transfer with an unknown field", "POST", tm.path("/transfer-ownership"), map[string]any{"to": tm.user("it_admin"), "force": true}, "force"},
			{"grant with a malformed body", "PUT", tm.memberPath("bob", "/roles/it_admin"), "{", "body"},
			{"grant with requestedBy off security_admin", "PUT", tm.memberPath("bob", "/roles/it_admin"), map[string]any{"requestedBy": "user:dora"}, "requestedBy"},
			{"contractor body not an object", "POST", tm.path("/contractors"), "[]", "body"},
			{"invoice without body", "POST", tm.path("/invoices"), nil, "body"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := a.snapshot()
				a.mustRefuse(t, a.Do(c.method, c.path, own, c.body), refusal{status: http.StatusBadRequest, code: "invalid_argument", field: c.field}, before)
			})
		}
	})
}
