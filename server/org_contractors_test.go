package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestContractorRules proves rules K1-K3 of domain.md, and the invoice
// endpoint, through the HTTP API.
func TestContractorRules(t *testing.T) {
	a := MustAPI(t)
	tm := newOrgTeam(t, a, "kay")
	other := newOrgTeam(t, a, "kay2")

	t.Run("K1_a_contractor_belongs_to_exactly_one_organisation", func(t *testing.T) {
		r := a.Do("POST", tm.path("/contractors"), tm.user("administrator"), map[string]any{"id": "k1", "name": "Northwind", "adminOnly": false})
		orgWant(t, r, http.StatusCreated)
		if r.Body["id"] != "k1" || r.Body["name"] != "Northwind" || r.Body["adminOnly"] != false || r.Body["organisation"] != "kay" {
			t.Errorf("answer %s", r.Raw)
		}
		for _, c := range []struct {
			name string
			team orgTeam
		}{{"in another organisation", other}, {"in the same organisation", tm}} {
			t.Run(c.name, func(t *testing.T) {
				before := a.snapshot()
				r := a.Do("POST", c.team.path("/contractors"), c.team.user("owner"), map[string]any{"id": "k1", "name": "Imposter"})
				a.mustRefuse(t, r, refusal{status: http.StatusConflict, code: "conflict", rule: "K1", field: "id"}, before)
			})
		}
		if got := a.Relationships("contractor:k1"); len(slices.DeleteFunc(got, func(s string) bool { return !strings.Contains(s, "#organisation@") })) != 1 {
			t.Errorf("k1 has organisations %v", got)
		}
	})

	t.Run("K1_creating_needs_manage_contractors", func(t *testing.T) {
		for _, role := range []string{"it_manager", "it_admin", "finance_admin", "billing_manager", "cis_processor"} {
			before := a.snapshot()
			r := a.Do("POST", tm.path("/contractors"), tm.user(role), map[string]any{"id": "k1-" + role})
			a.mustRefuse(t, r, refusal{status: http.StatusForbidden, code: "permission_denied", permission: "manage_contractors"}, before)
		}
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{"name": "no id"}, "id"},
			{map[string]any{"id": "a:b"}, "id"},
			{map[string]any{"id": "k1x", "adminOnly": "yes"}, "adminOnly"},
			{map[string]any{"id": "k1x", "organisation": "kay2"}, "organisation"},
		} {
			before := a.snapshot()
			a.mustRefuse(t, a.Do("POST", tm.path("/contractors"), tm.user("owner"), c.body), refusal{status: http.StatusBadRequest, field: c.field}, before)
		}
	})

	t.Run("K2_admin_only_hidden_from_cis_processor_and_it_manager_until_lifted", func(t *testing.T) {
		orgWant(t, a.Do("POST", tm.path("/contractors"), tm.user("administrator"), map[string]any{"id": "k2", "name": "Sentinel", "adminOnly": true}), http.StatusCreated)
		visible := func(want map[string]bool) {
			t.Helper()
			for _, role := range orgRoles() {
				if got := a.Allowed("contractor:k2", "view", tm.user(role)); got != want[role] {
					t.Errorf("%s sees k2: %v, want %v", role, got, want[role])
				}
			}
		}
		admins := map[string]bool{"owner": true, "security_admin": true, "alternate_security_admin": true, "administrator": true}
		visible(admins)

		// Lifting the flag shows it at once: the very next check sees it.
		r := a.Do("PATCH", "/v1/contractors/k2", tm.user("administrator"), map[string]any{"adminOnly": false})
		orgWant(t, r, http.StatusOK)
		if r.Body["adminOnly"] != false || r.Body["name"] != "Sentinel" || r.Body["organisation"] != "kay" {
			t.Errorf("answer %s", r.Raw)
		}
		all := map[string]bool{"it_manager": true, "cis_processor": true}
		for k := range admins {
			all[k] = true
		}
		visible(all)
		orgWant(t, a.Do("PATCH", "/v1/contractors/k2", tm.user("security_admin"), map[string]any{"adminOnly": true}), http.StatusOK)
		visible(admins)
	})

	t.Run("K2_patch_renames_and_refuses_what_it_must", func(t *testing.T) {
		r := a.Do("PATCH", "/v1/contractors/k2", tm.user("owner"), map[string]any{"name": "Sentinel Security"})
		orgWant(t, r, http.StatusOK)
		if r.Body["name"] != "Sentinel Security" || r.Body["adminOnly"] != true {
			t.Errorf("answer %s", r.Raw)
		}
		labels := slices.DeleteFunc(a.Relationships("contractor:k2"), func(s string) bool { return !strings.Contains(s, "#label@") })
		if len(labels) != 1 {
			t.Errorf("labels %v", labels)
		}
		for _, c := range []struct {
			name, actor, path string
			body              any
			want              refusal
		}{
			{"cis processor", tm.user("cis_processor"), "/v1/contractors/k2", map[string]any{"adminOnly": false}, refusal{status: http.StatusForbidden, permission: "manage_contractors"}},
			{"another organisation's owner", other.user("owner"), "/v1/contractors/k2", map[string]any{"adminOnly": false}, refusal{status: http.StatusForbidden, permission: "manage_contractors"}},
			{"unknown contractor", tm.user("owner"), "/v1/contractors/nobody", map[string]any{"adminOnly": false}, refusal{status: http.StatusNotFound}},
			{"nothing to change", tm.user("owner"), "/v1/contractors/k2", map[string]any{}, refusal{status: http.StatusBadRequest, field: "body"}},
			{"empty name", tm.user("owner"), "/v1/contractors/k2", map[string]any{"name": ""}, refusal{status: http.StatusBadRequest, field: "name"}},
			{"unknown field", tm.user("owner"), "/v1/contractors/k2", map[string]any{"organisation": "kay2"}, refusal{status: http.StatusBadRequest, field: "organisation"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := a.snapshot()
				a.mustRefuse(t, a.Do("PATCH", c.path, c.actor, c.body), c.want, before)
			})
		}
	})

	t.Run("K3_lookup_returns_exactly_the_contractors_and_invoices_a_user_may_view", func(t *testing.T) {
		lt := newOrgTeam(t, a, "look")
		for _, id := range []string{"look-1", "look-2", "look-3"} {
			lt.contractor(t, id, false)
			lt.contractor(t, id+"-admin", true)
		}
		orgWant(t, a.Do("POST", lt.path("/invoices"), lt.user("finance_admin"), map[string]any{"id": "look-inv", "amount": "12.50", "currency": "CHF"}), http.StatusCreated)
		open := []string{"contractor:look-1", "contractor:look-2", "contractor:look-3"}
		every := append(slices.Clone(open), "contractor:look-1-admin", "contractor:look-2-admin", "contractor:look-3-admin")
		slices.Sort(every)
		inv := []string{"invoice:look-inv"}
		for _, c := range []struct {
			role                  string
			contractors, invoices []string
		}{
			{"owner", every, inv},
			{"security_admin", every, inv},
			{"alternate_security_admin", every, inv},
			{"administrator", every, inv},
			{"it_manager", open, inv},
			{"it_admin", nil, nil},
			{"finance_admin", nil, inv},
			{"billing_manager", nil, inv},
			{"cis_processor", open, nil},
		} {
			t.Run(c.role, func(t *testing.T) {
				for _, q := range []struct {
					typ  string
					want []string
				}{{"contractor", c.contractors}, {"invoice", c.invoices}} {
					var got []string
					for _, res := range lookupAll(t, a, q.typ, "view", lt.user(c.role)) {
						if strings.HasPrefix(res, q.typ+":look-") {
							got = append(got, res)
						}
					}
					slices.Sort(got)
					if !slices.Equal(got, q.want) {
						t.Errorf("%s sees %v, want %v", q.typ, got, q.want)
					}
				}
			})
		}
	})

	t.Run("K_delete_contractor_needs_manage_contractors_and_leaves_nothing", func(t *testing.T) {
		tm.contractor(t, "kdel", true)
		before := a.snapshot()
		a.mustRefuse(t, a.Do("DELETE", "/v1/contractors/kdel", tm.user("it_manager"), nil), refusal{status: http.StatusForbidden, permission: "manage_contractors"}, before)
		orgWant(t, a.Do("DELETE", "/v1/contractors/kdel", tm.user("administrator"), nil), http.StatusNoContent)
		if got := a.Relationships("contractor:kdel"); len(got) != 0 {
			t.Errorf("left behind %v", got)
		}
		if a.Allowed("contractor:kdel", "view", tm.user("owner")) {
			t.Error("the owner still sees a deleted contractor")
		}
		before = a.snapshot()
		a.mustRefuse(t, a.Do("DELETE", "/v1/contractors/kdel", tm.user("administrator"), nil), refusal{status: http.StatusNotFound}, before)
		// The id is free again.
		other.contractor(t, "kdel", false)
	})

	t.Run("O5_R3_invoices_need_manage_billing_and_a_decimal_amount_and_ISO_4217_currency", func(t *testing.T) {
		r := a.Do("POST", tm.path("/invoices"), tm.user("finance_admin"), map[string]any{"id": "kinv", "amount": "120.00", "currency": "GBP"})
		orgWant(t, r, http.StatusCreated)
		if r.Body["id"] != "kinv" || r.Body["amount"] != "120.00" || r.Body["currency"] != "GBP" || r.Body["organisation"] != "kay" {
			t.Errorf("answer %s", r.Raw)
		}
		if !a.Allowed("invoice:kinv", "view", tm.user("billing_manager")) || a.Allowed("invoice:kinv", "view", tm.user("cis_processor")) {
			t.Error("invoice visibility is wrong")
		}
		for _, role := range []string{"administrator", "it_manager", "it_admin", "billing_manager", "cis_processor"} {
			before := a.snapshot()
			r := a.Do("POST", tm.path("/invoices"), tm.user(role), map[string]any{"id": "kinv-" + role, "amount": "1", "currency": "GBP"})
			a.mustRefuse(t, r, refusal{status: http.StatusForbidden, permission: "manage_billing"}, before)
		}
		for _, c := range []struct {
			amount, currency, field string
		}{
			{"", "GBP", "amount"},
			{"-1.00", "GBP", "amount"},
			{"1e3", "GBP", "amount"},
			{"12.345678", "GBP", "amount"},
			{"abc", "GBP", "amount"},
			{"01.00", "GBP", "amount"},
			{"1,000.00", "GBP", "amount"},
			{"1.", "GBP", "amount"},
			{"1.00", "", "currency"},
			{"1.00", "gbp", "currency"},
			{"1.00", "GB", "currency"},
			{"1.00", "XYZ", "currency"},
			{"1.00", "POUND", "currency"},
		} {
			t.Run(c.field+"_"+c.amount+"_"+c.currency, func(t *testing.T) {
				before := a.snapshot()
				r := a.Do("POST", tm.path("/invoices"), tm.user("owner"), map[string]any{"id": "kbad", "amount": c.amount, "currency": c.currency})
				a.mustRefuse(t, r, refusal{status: http.StatusBadRequest, code: "invalid_argument", field: c.field}, before)
			})
		}
		before := a.snapshot()
		a.mustRefuse(t, a.Do("POST", tm.path("/invoices"), tm.user("owner"), map[string]any{"id": "kbad", "amount": 12.5, "currency": "GBP"}), refusal{status: http.StatusBadRequest, field: "amount"}, before)
		a.mustRefuse(t, a.Do("POST", other.path("/invoices"), other.user("owner"), map[string]any{"id": "kinv", "amount": "1.00", "currency": "JPY"}), refusal{status: http.StatusConflict}, before)
	})
}
