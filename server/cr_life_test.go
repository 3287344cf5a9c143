package server_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestChangeRequestLife proves through the HTTP API the rules that make a
// change request's whole life (C2, C13-C18) and the organisation rules
// added with them (O7, R7, T4), on the demo data of seed/seed.go: globex
// has mia (IT manager, main contact), tom (IT admin, technical contact),
// fiona (finance admin, finance contact), alan (administrator, alternate
// contact), pat (CIS processor) and grace (owner); stella is staff.
func TestChangeRequestLife(t *testing.T) {
	a := MustSeededAPI(t)
	const (
		mia, tom, fiona, pat, grace, stella = "user:mia", "user:tom", "user:fiona", "user:pat", "user:grace", "user:stella"
		sue                                 = "user:sue"
	)
	a.Touch("platform:provider#staff@" + sue)

	t.Run("C13_an_authoriser_rejects_and_the_closed_request_refuses_every_change", func(t *testing.T) {
		a.mustFile(pat, cr("life-reject", "public_facing", "target", "page:about"))
		before := a.snapshot()
		a.mustRefuse(t, a.Do("POST", "/v1/change-requests/life-reject/reject", tom, map[string]any{"reason": " "}), refusal{status: http.StatusBadRequest, field: "reason"}, before)
		a.mustRefuse(t, a.Do("POST", "/v1/change-requests/life-reject/reject", pat, map[string]any{"reason": "no"}), refusal{status: http.StatusForbidden}, before)
		r := a.Do("POST", "/v1/change-requests/life-reject/reject", tom, map[string]any{"reason": "the about page is frozen"})
		wantState(t, r, http.StatusOK, state{status: "rejected", tier: "none"})
		if r.Body["closedBy"] != tom || r.Body["reason"] != "the about page is frozen" || r.Body["closedAt"] == nil {
			t.Errorf("a closed request says who closed it, when and why: %s", r.Raw)
		}
		before = a.snapshot()
		for _, try := range []struct {
			path, actor string
			body        any
		}{
			{"/authorise", mia, map[string]any{"note": "too late"}},
			{"/reject", mia, map[string]any{"reason": "again"}},
			{"/withdraw", pat, nil},
			{"/flags", stella, map[string]any{"substantialSecurity": true}},
			{"/override", stella, map[string]any{"category": "outage", "reason": "x"}},
		} {
			r := a.Do("POST", "/v1/change-requests/life-reject"+try.path, try.actor, try.body)
			a.mustRefuse(t, r, refusal{status: http.StatusConflict, rule: "C13"}, before)
		}
		wantState(t, a.getCR(pat, "life-reject"), http.StatusOK, state{status: "rejected", tier: "none"})
	})

	t.Run("C13_the_requester_withdraws_their_own_open_request", func(t *testing.T) {
		a.mustFile(pat, cr("life-withdraw", "service"))
		before := a.snapshot()
		a.mustRefuse(t, a.Do("POST", "/v1/change-requests/life-withdraw/withdraw", tom, nil), refusal{status: http.StatusForbidden}, before)
		r := a.Do("POST", "/v1/change-requests/life-withdraw/withdraw", pat, map[string]any{"reason": "done another way"})
		wantState(t, r, http.StatusOK, state{status: "withdrawn", tier: "none"})
		if r.Body["closedBy"] != pat {
			t.Errorf("closedBy: %s", r.Raw)
		}
	})

	t.Run("C14_members_list_what_they_may_view_and_awaiting_me_lists_what_they_may_decide", func(t *testing.T) {
		a.mustFile("user:alan", cr("life-list", "public_facing", "target", "page:team"))
		ids := func(r Response) []string {
			t.Helper()
			if r.Status != http.StatusOK {
				t.Fatalf("list: %d %s", r.Status, r.Raw)
			}
			var out []string
			list, _ := r.Body["changeRequests"].([]any)
			for _, c := range list {
				out = append(out, str(c.(map[string]any)["id"]))
			}
			return out
		}
		all := ids(a.Do("GET", "/v1/organisations/globex/change-requests", mia, nil))
		if !slices.Contains(all, "life-list") || !slices.Contains(all, "life-reject") {
			t.Errorf("mia (view_reports) lists %v", all)
		}
		own := ids(a.Do("GET", "/v1/organisations/globex/change-requests", pat, nil))
		if slices.Contains(own, "life-list") || !slices.Contains(own, "life-reject") {
			t.Errorf("pat (no view_reports) lists %v, want only their own", own)
		}
		if got := ids(a.Do("GET", "/v1/organisations/globex/change-requests?status=rejected", mia, nil)); !slices.Contains(got, "life-reject") || slices.Contains(got, "life-list") {
			t.Errorf("status=rejected lists %v", got)
		}
		if got := ids(a.Do("GET", "/v1/organisations/globex/change-requests?awaiting=me", mia, nil)); !slices.Contains(got, "life-list") || slices.Contains(got, "life-reject") {
			t.Errorf("awaiting=me for the main contact lists %v", got)
		}
		if got := ids(a.Do("GET", "/v1/organisations/globex/change-requests?awaiting=me", pat, nil)); len(got) != 0 {
			t.Errorf("awaiting=me for pat, who may decide nothing, lists %v", got)
		}
		if got := ids(a.Do("GET", "/v1/organisations/globex/change-requests", stella, nil)); !slices.Contains(got, "life-list") {
			t.Errorf("staff list %v", got)
		}
		if r := a.Do("GET", "/v1/organisations/globex/change-requests", "user:mallory", nil); r.Status != http.StatusForbidden {
			t.Errorf("an outsider lists: %d %s", r.Status, r.Raw)
		}
		if r := a.Do("GET", "/v1/organisations/globex/change-requests?awaiting=you", mia, nil); r.Status != http.StatusBadRequest || r.ErrorField() != "awaiting" {
			t.Errorf("awaiting=you: %d %s", r.Status, r.Raw)
		}
		if r := a.Do("GET", "/v1/organisations/globex/exceptions", mia, nil); r.Status != http.StatusOK {
			t.Errorf("the main contact lists exceptions: %d %s", r.Status, r.Raw)
		}
		if r := a.Do("GET", "/v1/organisations/globex/exceptions", pat, nil); r.Status != http.StatusForbidden {
			t.Errorf("pat lists exceptions: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("C15_an_approver_raises_a_flag_and_a_declared_kind_is_always_substantial", func(t *testing.T) {
		a.mustFile("user:alan", cr("life-flag", "service"))
		before := a.snapshot()
		a.mustRefuse(t, a.Do("POST", "/v1/change-requests/life-flag/flags", pat, map[string]any{"substantialCharge": true}), refusal{status: http.StatusForbidden}, before)
		r := a.Do("POST", "/v1/change-requests/life-flag/flags", fiona, map[string]any{"substantialCharge": true})
		if r.Status != http.StatusOK || r.Body["substantialCharge"] != true || !slices.Contains(strs(r.Body["approvalsNeeded"]), "charge") {
			t.Fatalf("raised: %d %s", r.Status, r.Raw)
		}
		// An approver of charges may raise the security flag without
		// becoming one who may read the request (C14): she learns its
		// flags and status, not its requester, kind or authorisers.
		a.mustFile("user:alan", cr("life-flag-blind", "service"))
		if r := a.Do("GET", "/v1/change-requests/life-flag-blind", fiona, nil); r.Status != http.StatusForbidden {
			t.Fatalf("fiona reads a service request: %d %s", r.Status, r.Raw)
		}
		r = a.Do("POST", "/v1/change-requests/life-flag-blind/flags", fiona, map[string]any{"substantialSecurity": true})
		if r.Status != http.StatusOK || r.Body["substantialSecurity"] != true || r.Body["status"] == "" {
			t.Fatalf("fiona raises the security flag: %d %s", r.Status, r.Raw)
		}
		if r.Body["requester"] != "" || r.Body["kind"] != "" || len(strs(r.Body["authorisers"])) != 0 {
			t.Errorf("raising a flag showed fiona a request she may not read: %s", r.Raw)
		}
		if r := a.Do("PUT", "/v1/organisations/globex/substantial/access_permissions", pat, map[string]any{"security": true}); r.Status != http.StatusForbidden {
			t.Errorf("pat declares: %d %s", r.Status, r.Raw)
		}
		if r := a.Do("PUT", "/v1/organisations/globex/substantial/access_permissions", grace, map[string]any{"security": true}); r.Status != http.StatusNoContent {
			t.Fatalf("the owner declares: %d %s", r.Status, r.Raw)
		}
		filed := a.mustFile(tom, cr("life-declared", "access_permissions", "substantialSecurity", false))
		if filed.Body["substantialSecurity"] != true {
			t.Errorf("a request of a declared kind is not flagged: %s", filed.Raw)
		}
		if r := a.Do("DELETE", "/v1/organisations/globex/substantial/access_permissions", grace, nil); r.Status != http.StatusNoContent {
			t.Errorf("lifting the declaration: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("C2_C16_configuration_and_spending_need_their_approval", func(t *testing.T) {
		for _, kind := range []string{"configuration", "spending"} {
			r := a.mustFile(pat, cr("life-"+kind, kind))
			if !slices.Contains(strs(r.Body["approvalsNeeded"]), kind) {
				t.Fatalf("%s: approvals needed %v", kind, strs(r.Body["approvalsNeeded"]))
			}
			// The technical contact authorises (C2: their area); the IT manager approves.
			a.authorise(tom, "life-"+kind, "ok")
			r = a.authorise(mia, "life-"+kind, "approved")
			if r.Status != http.StatusOK || r.Body["status"] != "authorised" {
				t.Errorf("%s after authorisation and approval: %d %s", kind, r.Status, r.Raw)
			}
		}
	})

	t.Run("C17_nobody_authorises_a_request_about_themselves", func(t *testing.T) {
		r := a.mustFile(pat, cr("life-recuse", "user_management", "target", "user:tom"))
		if slices.Contains(strs(r.Body["authorisers"]), tom) || r.Body["targetUser"] != tom {
			t.Fatalf("tom may authorise a change about himself: %s", r.Raw)
		}
		before := a.snapshot()
		a.mustRefuse(t, a.authorise(tom, "life-recuse", "me"), refusal{status: http.StatusForbidden}, before)
		if r := a.authorise(mia, "life-recuse", "checked"); r.Status != http.StatusOK || r.Body["status"] != "authorised" {
			t.Errorf("the main contact authorises: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("C18_a_staff_override_stands_once_a_second_staff_member_confirms", func(t *testing.T) {
		a.mustFile(pat, cr("life-override", "public_facing", "target", "page:status"))
		before := a.snapshot()
		a.mustRefuse(t, a.Do("POST", "/v1/change-requests/life-override/override", stella, map[string]any{"category": "outage"}), refusal{status: http.StatusBadRequest, field: "reason"}, before)
		a.mustRefuse(t, a.Do("POST", "/v1/change-requests/life-override/override", mia, map[string]any{"category": "outage", "reason": "x"}), refusal{status: http.StatusForbidden}, before)
		r := a.Do("POST", "/v1/change-requests/life-override/override", stella, map[string]any{"category": "outage", "reason": "status page must say we are down"})
		if r.Status != http.StatusOK || r.Body["status"] != "pending" || r.Body["overrideBy"] != stella {
			t.Fatalf("override: %d %s", r.Status, r.Raw)
		}
		before = a.snapshot()
		a.mustRefuse(t, a.Do("POST", "/v1/change-requests/life-override/override/confirm", stella, nil), refusal{status: http.StatusForbidden, permission: "confirm_override"}, before)
		r = a.Do("POST", "/v1/change-requests/life-override/override/confirm", sue, nil)
		if r.Status != http.StatusOK || r.Body["status"] != "authorised" || r.Body["overrideConfirmedBy"] != sue {
			t.Errorf("confirmed: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("R7_no_financial_access_takes_billing_away_and_blocks_ownership", func(t *testing.T) {
		if a.Allowed("organisation:acme", "view_billing", "user:vic") || a.Allowed("invoice:inv3", "view", "user:vic") {
			t.Error("vic (IT manager, no_financial_access) sees billing")
		}
		if !a.Allowed("organisation:acme", "view_services", "user:vic") {
			t.Error("vic lost view_services")
		}
		before := a.snapshot()
		a.mustRefuse(t, a.Do("POST", "/v1/organisations/acme/transfer-ownership", "user:oscar", map[string]any{"to": "user:vic"}), refusal{status: http.StatusUnprocessableEntity, rule: "R7"}, before)
		a.mustRefuse(t, a.Do("PUT", "/v1/organisations/acme/members/oscar/designations/no_financial_access", "user:oscar", nil), refusal{status: http.StatusUnprocessableEntity, rule: "R7"}, before)
	})

	t.Run("O7_edit_details_holders_rename_the_organisation", func(t *testing.T) {
		before := a.snapshot()
		a.mustRefuse(t, a.Do("PATCH", "/v1/organisations/globex", pat, map[string]any{"name": "Pat's Globex"}), refusal{status: http.StatusForbidden, permission: "edit_details"}, before)
		r := a.Do("PATCH", "/v1/organisations/globex", "user:alan", map[string]any{"name": "Globex Group"})
		if r.Status != http.StatusOK || r.Body["name"] != "Globex Group" {
			t.Fatalf("rename: %d %s", r.Status, r.Raw)
		}
		if got := a.Do("GET", "/v1/organisations/globex", pat, nil); got.Body["name"] != "Globex Group" {
			t.Errorf("read back: %s", got.Raw)
		}
	})

	t.Run("T4_only_members_are_designated", func(t *testing.T) {
		before := a.snapshot()
		a.mustRefuse(t, a.Do("PUT", "/v1/organisations/globex/members/nobody/designations/main_contact", grace, nil), refusal{status: http.StatusUnprocessableEntity, rule: "T4"}, before)
	})
}
