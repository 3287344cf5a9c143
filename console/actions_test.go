package console_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestMembers covers the members page and its grant, revoke and remove
// forms, each refused exactly when the API refuses the same request (S2,
// T2, T3, O2, O6), with the API's message and nothing changed.
func TestMembers(t *testing.T) {
	g := mustGate(t)
	grace := g.signedIn("grace")
	p := grace.get("/console/organisations/globex")
	if p.Status != http.StatusOK {
		t.Fatalf("members page: %d", p.Status)
	}
	shows(t, p, "Globex Corporation: members", "Owner: user:grace", "Main contact", "Technical contact", "Verified director", "Grant a role")

	t.Run("X1_outsider_cannot_see_members", func(t *testing.T) {
		b := g.signedIn("oscar")
		p := b.get("/console/organisations/globex")
		status, body := g.api("GET", "/v1/organisations/globex/members", "user:oscar", nil)
		if p.Status != status || status != http.StatusForbidden || !p.contains(apiError(body)) {
			t.Errorf("console %d, API %d %q\n%s", p.Status, status, apiError(body), p.Body)
		}
		lacks(t, p, "main_contact")
	})

	t.Run("T3_cis_processor_cannot_grant", func(t *testing.T) {
		carla := g.signedIn("carla")
		carla.get("/console/organisations/brightcis")
		p := carla.post("/console/organisations/brightcis/roles", url.Values{"user": {"bill"}, "role": {"administrator"}})
		status, body := g.api("PUT", "/v1/organisations/brightcis/members/bill/roles/administrator", "user:carla", nil)
		if p.Status != status || status != http.StatusForbidden || !p.contains(apiError(body)) {
			t.Errorf("console %d, API %d %q\n%s", p.Status, status, apiError(body), p.Body)
		}
		shows(t, p, "Missing permission: manage_members", "Nothing was changed.")
		if g.has("organisation:brightcis#administrator@user:bill") {
			t.Error("a refused grant changed the team")
		}
	})

	t.Run("O2_owner_is_never_granted", func(t *testing.T) {
		grace.get("/console/organisations/globex")
		p := grace.post("/console/organisations/globex/roles", url.Values{"user": {"pat"}, "role": {"owner"}})
		status, body := g.api("PUT", "/v1/organisations/globex/members/pat/roles/owner", "user:grace", nil)
		if p.Status != status || status != http.StatusUnprocessableEntity || !p.contains(apiError(body)) {
			t.Errorf("console %d, API %d %q", p.Status, status, apiError(body))
		}
		shows(t, p, "Rule O2: An organisation has exactly one owner at every moment, under concurrent requests too.")
	})

	t.Run("T2_administrator_grants_and_revokes_billing_manager", func(t *testing.T) {
		alan := g.signedIn("alan")
		alan.get("/console/organisations/globex")
		p := alan.post("/console/organisations/globex/roles", url.Values{"user": {"pat"}, "role": {"billing_manager"}, "reason": {"invoices"}})
		shows(t, p, "pat was made billing manager of globex.")
		if !g.has("organisation:globex#billing_manager@user:pat") {
			t.Fatal("not granted")
		}
		p = alan.post("/console/organisations/globex/members/pat/roles/billing_manager/revoke", confirm)
		shows(t, p, "pat is no longer billing_manager of globex.")
		if g.has("organisation:globex#billing_manager@user:pat") {
			t.Error("not revoked")
		}
		// An administrator may not revoke it_admin (T2): same 403 as the API.
		p = alan.post("/console/organisations/globex/members/tom/roles/it_admin/revoke", confirm)
		status, body := g.api("DELETE", "/v1/organisations/globex/members/tom/roles/it_admin", "user:alan", nil)
		if p.Status != status || status != http.StatusForbidden || !p.contains(apiError(body)) {
			t.Errorf("console %d, API %d %q", p.Status, status, apiError(body))
		}
		if !g.has("organisation:globex#it_admin@user:tom") {
			t.Error("a refused revoke changed the team")
		}
	})

	t.Run("O6_owner_is_never_removed", func(t *testing.T) {
		mia := g.signedIn("grace")
		mia.get("/console/organisations/globex")
		p := mia.post("/console/organisations/globex/members/grace/remove", confirm)
		status, body := g.api("DELETE", "/v1/organisations/globex/members/grace", "user:grace", nil)
		if p.Status != status || p.Status < 400 || !p.contains(apiError(body)) {
			t.Errorf("console %d, API %d %q", p.Status, status, apiError(body))
		}
		if !g.has("organisation:globex#owner@user:grace") {
			t.Error("the owner was removed")
		}
	})

	t.Run("T1_remove_member", func(t *testing.T) {
		grace.get("/console/organisations/globex")
		p := grace.post("/console/organisations/globex/members/dan/remove", confirm)
		shows(t, p, "dan was removed from globex.")
		if g.has("organisation:globex#director@user:dan") {
			t.Error("dan still holds director")
		}
	})
}

// TestContractors: a billing manager sees no contractors (R6), a CIS
// processor sees all but the admin-only one (K2, R5), the owner sees all
// and flips the flag, which shows c3 to the CIS processor at once; a CIS
// processor's flip is refused as the API refuses it.
func TestContractors(t *testing.T) {
	g := mustGate(t)
	bill := g.signedIn("bill")
	p := bill.get("/console/organisations/brightcis/contractors")
	shows(t, p, "There are no contractors here that you may view.")
	lacks(t, p, "Northwind Joinery", "Harbour Plumbing", "Sentinel Security")
	_, body := g.api("POST", "/v1/lookup/resources", "", map[string]any{"resourceType": "contractor", "permission": "view", "subject": "user:bill"})
	if rs, _ := body["resources"].([]any); len(rs) != 0 {
		t.Errorf("the API lists %v for bill", rs)
	}

	carla := g.signedIn("carla")
	p = carla.get("/console/organisations/brightcis/contractors")
	shows(t, p, "Northwind Joinery", "Harbour Plumbing")
	lacks(t, p, "Sentinel Security", "Make admin-only")

	p = carla.post("/console/contractors/c1/admin-only", url.Values{"admin_only": {"true"}})
	status, apiBody := g.api("PATCH", "/v1/contractors/c1", "user:carla", map[string]any{"adminOnly": true})
	if p.Status != status || status != http.StatusForbidden || !p.contains(apiError(apiBody)) {
		t.Errorf("carla's flip: console %d, API %d %q\n%s", p.Status, status, apiError(apiBody), p.Body)
	}
	if g.has("contractor:c1#admin_only@user:*") {
		t.Error("a refused flip changed c1")
	}

	olivia := g.signedIn("olivia")
	p = olivia.get("/console/organisations/brightcis/contractors")
	shows(t, p, "Sentinel Security (admin-only)", "Lift admin-only", "Make admin-only")
	p = olivia.post("/console/contractors/c3/admin-only", url.Values{"admin_only": {"false"}})
	shows(t, p, "The contractor is visible to every role that may view contractors again.")
	shows(t, carla.get("/console/organisations/brightcis/contractors"), "Sentinel Security")
}

// TestChangeRequests: "awaiting me" lists globex-cr-pending for mia and
// nothing for pat (C14); a non-contact's authorisation is refused as the
// API refuses it and changes nothing (C4); a closed request's refusal
// names C13 with its sentence; mia authorises; tom rejects with a reason.
func TestChangeRequests(t *testing.T) {
	g := mustGate(t)
	mia := g.signedIn("mia")
	p := mia.get("/console/organisations/globex/change-requests?awaiting=me")
	shows(t, p, "globex-cr-pending", "Open requests awaiting you")
	lacks(t, p, "globex-cr-authorised", "globex-cr-rejected")

	pat := g.signedIn("pat")
	shows(t, pat.get("/console/organisations/globex/change-requests?awaiting=me"), "Nothing is awaiting you.")
	p = pat.get("/console/organisations/globex/change-requests")
	shows(t, p, "globex-cr-pending", "globex-cr-authorised", "globex-cr-withdrawn")
	p = pat.get("/console/organisations/globex/change-requests?status=rejected")
	shows(t, p, "globex-cr-rejected")
	lacks(t, p, "globex-cr-pending")

	t.Run("X1_outsider", func(t *testing.T) {
		oscar := g.signedIn("oscar")
		p := oscar.get("/console/organisations/globex/change-requests")
		status, body := g.api("GET", "/v1/organisations/globex/change-requests", "user:oscar", nil)
		if p.Status != status || status != http.StatusForbidden || !p.contains(apiError(body)) {
			t.Errorf("list: console %d, API %d %q", p.Status, status, apiError(body))
		}
		p = oscar.get("/console/change-requests/globex-cr-pending")
		status, body = g.api("GET", "/v1/change-requests/globex-cr-pending", "user:oscar", nil)
		if p.Status != status || status != http.StatusForbidden || !p.contains(apiError(body)) {
			t.Errorf("read: console %d, API %d %q", p.Status, status, apiError(body))
		}
	})

	t.Run("C4_non_contact_cannot_authorise", func(t *testing.T) {
		for _, who := range []string{"fiona", "pat"} {
			b := g.signedIn(who)
			b.get("/console/change-requests/globex-cr-pending")
			p := b.post("/console/change-requests/globex-cr-pending/authorise", nil)
			status, body := g.api("POST", "/v1/change-requests/globex-cr-pending/authorise", "user:"+who, nil)
			if p.Status != status || status != http.StatusForbidden || !p.contains(apiError(body)) {
				t.Errorf("%s: console %d, API %d %q\n%s", who, p.Status, status, apiError(body), p.Body)
			}
		}
		_, body := g.api("GET", "/v1/change-requests/globex-cr-pending", "user:mia", nil)
		if body["status"] != "pending" {
			t.Errorf("after refusals the request is %v", body["status"])
		}
	})

	t.Run("C13_closed_request", func(t *testing.T) {
		tom := g.signedIn("tom")
		tom.get("/console/change-requests/globex-cr-rejected")
		p := tom.post("/console/change-requests/globex-cr-rejected/authorise", nil)
		status, body := g.api("POST", "/v1/change-requests/globex-cr-rejected/authorise", "user:tom", nil)
		if p.Status != status || status != http.StatusConflict || !p.contains(apiError(body)) {
			t.Errorf("console %d, API %d %q", p.Status, status, apiError(body))
		}
		shows(t, p, "Rule C13: A request is open while it is pending or blocked.")
	})

	t.Run("C4_main_contact_authorises", func(t *testing.T) {
		p := mia.get("/console/change-requests/globex-cr-pending")
		shows(t, p, "This request is awaiting you.", "public_facing", "page:pricing")
		p = mia.post("/console/change-requests/globex-cr-pending/authorise", url.Values{"note": {"fine"}})
		shows(t, p, "You authorised or approved the change request.", "authorised")
		_, body := g.api("GET", "/v1/change-requests/globex-cr-pending", "user:mia", nil)
		if body["status"] != "authorised" {
			t.Errorf("after authorising the request is %v", body["status"])
		}
		shows(t, mia.get("/console/organisations/globex/change-requests?awaiting=me"), "Nothing is awaiting you.")
	})

	t.Run("C13_reject_with_reason", func(t *testing.T) {
		// A fresh pending request, filed through the API by pat.
		status, body := g.api("POST", "/v1/organisations/globex/change-requests", "user:pat", map[string]any{"id": "cr-console", "kind": "public_facing", "target": "page:about"})
		if status != http.StatusCreated {
			t.Fatalf("filing: %d %v", status, body)
		}
		tom := g.signedIn("tom")
		tom.get("/console/change-requests/cr-console")
		p := tom.post("/console/change-requests/cr-console/reject", url.Values{"reason": {"not this quarter"}})
		shows(t, p, "You rejected the change request.", "rejected", "not this quarter")
	})
}
