package console_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestConsoleDelegation covers the security administration page and its
// delegations (S1, S3, S4, S5, S7): each is allowed or refused exactly as
// PUT /v1/organisations/{org}/members/{user}/roles/{role} answers the same
// person, with the same permission or rule named and nothing changed on a
// refusal; an allowed one leaves the same relationships as the API's
// request does on a twin Gatehouse.
func TestConsoleDelegation(t *testing.T) {
	g := mustGate(t)
	put := func(actor, org, user, role, query string, body map[string]any) (int, map[string]any) {
		return g.api("PUT", "/v1/organisations/"+org+"/members/"+user+"/roles/"+role+query, "user:"+actor, body)
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		if !g.has("organisation:acme#security_admin@user:sam") || !g.has("organisation:acme#alternate_security_admin@user:alex") ||
			g.has("organisation:acme#security_admin@user:ian") || g.has("organisation:acme#alternate_security_admin@user:ian") {
			t.Error("a refused delegation changed acme's SA or ASA")
		}
	}

	t.Run("S4_page_offers_what_each_may_do", func(t *testing.T) {
		p := g.signedIn("sam").get("/console/organisations/acme/security-admins")
		if p.Status != http.StatusOK {
			t.Fatalf("page: %d", p.Status)
		}
		shows(t, p, "Acme Ltd: security administration", "Security admin sam", "Alternate security admin alex",
			"Delegate the security admin", "Delegate the alternate security admin", "becomes the alternate")
		lacks(t, p, "Provider staff: delegate")
		p = g.signedIn("alex").get("/console/organisations/acme/security-admins")
		shows(t, p, "Delegate the alternate security admin")
		lacks(t, p, "Delegate the security admin")
		p = g.signedIn("ian").get("/console/organisations/acme/security-admins")
		shows(t, p, "You may not delegate either role", "Security admin sam")
		lacks(t, p, "Delegate the")
	})

	t.Run("X1_outsider_refused", func(t *testing.T) {
		p := g.signedIn("olivia").get("/console/organisations/acme/security-admins")
		status, body := g.api("GET", "/v1/organisations/acme", "user:olivia", nil)
		alike(t, p, status, body, http.StatusForbidden)
		lacks(t, p, "sam", "alex")
	})

	t.Run("S4_alternate_cannot_delegate_sa", func(t *testing.T) {
		alex := g.signedIn("alex")
		alex.get("/console/organisations/acme/security-admins")
		p := alex.post("/console/organisations/acme/security-admins/security_admin", url.Values{"confirm": {"1"}, "user": {"ian"}})
		status, body := put("alex", "acme", "ian", "security_admin", "", nil)
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Missing permission: delegate_security_admin")
		unchanged(t)
	})

	t.Run("S5_it_manager_cannot_delegate_asa", func(t *testing.T) {
		ian := g.signedIn("ian")
		ian.get("/console/organisations/acme/security-admins")
		p := ian.post("/console/organisations/acme/security-admins/alternate_security_admin", url.Values{"confirm": {"1"}, "user": {"ian"}})
		status, body := put("ian", "acme", "ian", "alternate_security_admin", "", nil)
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Missing permission: delegate_alternate_security_admin")
		unchanged(t)
	})

	t.Run("S1_the_sa_is_never_also_the_asa", func(t *testing.T) {
		sam := g.signedIn("sam")
		sam.get("/console/organisations/acme/security-admins")
		p := sam.post("/console/organisations/acme/security-admins/alternate_security_admin", url.Values{"confirm": {"1"}, "user": {"sam"}})
		status, body := put("sam", "acme", "sam", "alternate_security_admin", "", nil)
		alike(t, p, status, body, http.StatusUnprocessableEntity)
		shows(t, p, "Rule S1: There is at most one SA and at most one ASA, and they are different users.")
		unchanged(t)
	})

	t.Run("S3_only_sa_and_asa_here", func(t *testing.T) {
		sam := g.signedIn("sam")
		sam.get("/console/organisations/acme/security-admins")
		p := sam.post("/console/organisations/acme/security-admins/administrator", url.Values{"confirm": {"1"}, "user": {"ian"}})
		if p.Status != http.StatusBadRequest {
			t.Errorf("delegating administrator here: %d", p.Status)
		}
		shows(t, p, "Field: role", "Nothing was changed.")
		if g.has("organisation:acme#administrator@user:ian") {
			t.Error("a refused delegation granted a role")
		}
	})

	t.Run("S7_staff_need_an_available_verified_director_and_a_reason", func(t *testing.T) {
		stella := g.signedIn("stella")
		p := stella.get("/console/organisations/acme/security-admins")
		if p.Status != http.StatusOK {
			t.Fatalf("staff's page: %d\n%s", p.Status, p.Body)
		}
		shows(t, p, "Provider staff: delegate a security admin (S7)")
		lacks(t, p, "Security admin sam", "Delegate the alternate")
		// acme's SA and ASA are available: staff may not step in.
		p = stella.post("/console/organisations/acme/security-admins/security_admin", url.Values{"confirm": {"1"}, "user": {"ian"}, "requested_by": {"oscar"}, "reason": {"phone call"}})
		status, body := put("stella", "acme", "ian", "security_admin", "", map[string]any{"requestedBy": "user:oscar", "reason": "phone call"})
		alike(t, p, status, body, http.StatusUnprocessableEntity)
		shows(t, p, "Rule S7:")
		unchanged(t)
		// globex has neither, but dan is a director nobody verified (C9).
		p = stella.post("/console/organisations/globex/security-admins/security_admin", url.Values{"confirm": {"1"}, "user": {"alan"}, "requested_by": {"dan"}, "reason": {"phone call"}})
		status, body = put("stella", "globex", "alan", "security_admin", "", map[string]any{"requestedBy": "user:dan", "reason": "phone call"})
		alike(t, p, status, body, http.StatusUnprocessableEntity)
		// dora is verified, but staff must say why.
		p = stella.post("/console/organisations/globex/security-admins/security_admin", url.Values{"confirm": {"1"}, "user": {"alan"}, "requested_by": {"user:dora"}})
		status, body = put("stella", "globex", "alan", "security_admin", "", map[string]any{"requestedBy": "user:dora"})
		alike(t, p, status, body, http.StatusBadRequest)
		// Without requested_by staff hold nothing here at all.
		p = stella.post("/console/organisations/globex/security-admins/security_admin", url.Values{"confirm": {"1"}, "user": {"alan"}, "reason": {"phone call"}})
		status, body = put("stella", "globex", "alan", "security_admin", "", map[string]any{"reason": "phone call"})
		alike(t, p, status, body, http.StatusForbidden)
		if g.has("organisation:globex#security_admin@user:alan") {
			t.Error("a refused S7 delegation was written")
		}
	})

	// The allowed delegations change the data, so each is made through the
	// console here and through the API on a twin, and the two compared.
	twin := mustGate(t)
	acme := []string{
		"organisation:acme#security_admin@user:sam", "organisation:acme#security_admin@user:ian",
		"organisation:acme#alternate_security_admin@user:alex", "organisation:acme#alternate_security_admin@user:ivy",
		"organisation:acme#alternate_security_admin@user:sam", "organisation:acme#it_manager@user:ian",
	}

	t.Run("S5_sa_delegates_a_new_asa", func(t *testing.T) {
		sam := g.signedIn("sam")
		sam.get("/console/organisations/acme/security-admins")
		p := sam.post("/console/organisations/acme/security-admins/alternate_security_admin", url.Values{"confirm": {"1"}, "user": {"ivy"}, "reason": {"alex moved on"}})
		status, body := twin.api("PUT", "/v1/organisations/acme/members/ivy/roles/alternate_security_admin", "user:sam", map[string]any{"reason": "alex moved on"})
		alike(t, p, status, body, http.StatusNoContent)
		shows(t, p, "ivy was made alternate security admin of acme.", "Alternate security admin ivy")
		same(t, g, twin, acme...)
		// alex held nothing else, so left the team (T4).
		same(t, g, twin, "organisation:acme#alternate_security_admin@user:alex")
		if !g.has("organisation:acme#alternate_security_admin@user:ivy") || g.has("organisation:acme#alternate_security_admin@user:alex") {
			t.Error("ivy did not replace alex as the ASA")
		}
	})

	t.Run("S3_outgoing_sa_becomes_the_asa", func(t *testing.T) {
		sam := g.signedIn("sam")
		sam.get("/console/organisations/acme/security-admins")
		p := sam.post("/console/organisations/acme/security-admins/security_admin", url.Values{"confirm": {"1"}, "user": {"ian"}, "previous_becomes_alternate": {"true"}, "reason": {"handover"}})
		status, body := twin.api("PUT", "/v1/organisations/acme/members/ian/roles/security_admin?previousBecomesAlternate=true", "user:sam", map[string]any{"reason": "handover"})
		alike(t, p, status, body, http.StatusNoContent)
		same(t, g, twin, acme...)
		if !g.has("organisation:acme#security_admin@user:ian") || !g.has("organisation:acme#alternate_security_admin@user:sam") || g.has("organisation:acme#alternate_security_admin@user:ivy") {
			t.Error("the delegation did not make ian the SA and sam the ASA (S3)")
		}
		// sam is the ASA now: the page offers only the ASA form (S4).
		p = sam.get("/console/organisations/acme/security-admins")
		shows(t, p, "Security admin ian", "Alternate security admin sam", "Delegate the alternate security admin")
		lacks(t, p, "Delegate the security admin")
	})

	t.Run("S7_staff_delegate_at_a_verified_directors_request", func(t *testing.T) {
		stella := g.signedIn("stella")
		stella.get("/console/organisations/globex/security-admins")
		p := stella.post("/console/organisations/globex/security-admins/security_admin", url.Values{"confirm": {"1"}, "user": {"alan"}, "requested_by": {"dora"}, "reason": {"no SA or ASA; dora asked by phone"}})
		status, body := twin.api("PUT", "/v1/organisations/globex/members/alan/roles/security_admin", "user:stella", map[string]any{"requestedBy": "user:dora", "reason": "no SA or ASA; dora asked by phone"})
		alike(t, p, status, body, http.StatusNoContent)
		shows(t, p, "alan was made security admin of globex.")
		same(t, g, twin, "organisation:globex#security_admin@user:alan")
		if !g.has("organisation:globex#security_admin@user:alan") {
			t.Error("staff's S7 delegation was not written")
		}
	})
}
