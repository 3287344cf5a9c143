package console_test

import (
	"net/http"
	"net/url"
	"testing"
)

// refusedAlike fails the test unless the console's page p has the API's
// status want and shows the API's message.
func refusedAlike(t *testing.T, p page, status int, body map[string]any, want int) {
	t.Helper()
	if p.Status != status || status != want || !p.contains(apiError(body)) {
		t.Errorf("console %d, API %d (want %d) %q\n%s", p.Status, status, want, apiError(body), p.Body)
	}
	shows(t, p, "Nothing was changed.")
}

// TestTransferOwnership: only the owner transfers (O4), only to a team
// member (O4), never to a member designated no_financial_access (R7), each
// refused as the API refuses it with nothing changed; the owner's transfer
// makes the new owner and keeps the old one as administrator.
func TestTransferOwnership(t *testing.T) {
	g := mustGate(t)

	t.Run("O4_only_the_owner", func(t *testing.T) {
		alan := g.signedIn("alan")
		p := alan.get("/console/organisations/globex")
		lacks(t, p, "Transfer ownership")
		p = alan.post("/console/organisations/globex/transfer-ownership", url.Values{"to": {"alan"}})
		status, body := g.api("POST", "/v1/organisations/globex/transfer-ownership", "user:alan", map[string]any{"to": "user:alan"})
		refusedAlike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Missing permission: transfer_ownership")
		if !g.has("organisation:globex#owner@user:grace") || g.has("organisation:globex#owner@user:alan") {
			t.Error("a refused transfer changed the owner")
		}
	})

	t.Run("O4_only_to_a_member", func(t *testing.T) {
		grace := g.signedIn("grace")
		grace.get("/console/organisations/globex")
		p := grace.post("/console/organisations/globex/transfer-ownership", url.Values{"to": {"oscar"}})
		status, body := g.api("POST", "/v1/organisations/globex/transfer-ownership", "user:grace", map[string]any{"to": "user:oscar"})
		refusedAlike(t, p, status, body, http.StatusUnprocessableEntity)
		shows(t, p, "Rule O4: Only the owner can transfer ownership")
		if g.has("organisation:globex#owner@user:oscar") {
			t.Error("a refused transfer changed the owner")
		}
	})

	t.Run("R7_not_to_no_financial_access", func(t *testing.T) {
		oscar := g.signedIn("oscar")
		p := oscar.get("/console/organisations/acme")
		shows(t, p, "Transfer ownership", "no_financial_access")
		p = oscar.post("/console/organisations/acme/transfer-ownership", url.Values{"to": {"vic"}, "reason": {"vip"}})
		status, body := g.api("POST", "/v1/organisations/acme/transfer-ownership", "user:oscar", map[string]any{"to": "user:vic"})
		refusedAlike(t, p, status, body, http.StatusUnprocessableEntity)
		shows(t, p, "Rule R7: Decision (seed 003")
		if g.has("organisation:acme#owner@user:vic") || !g.has("organisation:acme#owner@user:oscar") {
			t.Error("a refused transfer changed the owner")
		}
	})

	t.Run("O4_owner_transfers", func(t *testing.T) {
		grace := g.signedIn("grace")
		grace.get("/console/organisations/globex")
		p := grace.post("/console/organisations/globex/transfer-ownership", url.Values{"to": {"user:alan"}, "reason": {"retiring"}})
		shows(t, p, "Ownership was transferred", "Owner: user:alan")
		lacks(t, p, "Transfer ownership")
		if !g.has("organisation:globex#owner@user:alan") || g.has("organisation:globex#owner@user:grace") || !g.has("organisation:globex#administrator@user:grace") {
			t.Error("the transfer did not move ownership as O4 says")
		}
	})
}

// TestDesignations: the owner gives and takes away a contact designation;
// a non-member is never designated (T4); verified_director is provider
// staff's (C7), and staff must give a reason; each refusal as the API's.
func TestDesignations(t *testing.T) {
	g := mustGate(t)
	grace := g.signedIn("grace")
	shows(t, grace.get("/console/organisations/globex"), "Give a designation")

	t.Run("set_and_unset", func(t *testing.T) {
		p := grace.post("/console/organisations/globex/designations", url.Values{"user": {"pat"}, "designation": {"finance_contact"}, "reason": {"covering"}})
		shows(t, p, "The designation was given.")
		if !g.has("organisation:globex#finance_contact@user:pat") {
			t.Fatal("not designated")
		}
		p = grace.post("/console/organisations/globex/members/pat/designations/finance_contact/unset", nil)
		shows(t, p, "The designation was taken away.")
		if g.has("organisation:globex#finance_contact@user:pat") {
			t.Error("not taken away")
		}
	})

	t.Run("T4_only_members", func(t *testing.T) {
		grace.get("/console/organisations/globex")
		p := grace.post("/console/organisations/globex/designations", url.Values{"user": {"oscar"}, "designation": {"main_contact"}})
		status, body := g.api("PUT", "/v1/organisations/globex/members/oscar/designations/main_contact", "user:grace", nil)
		refusedAlike(t, p, status, body, http.StatusUnprocessableEntity)
		shows(t, p, "Rule T4:")
		if g.has("organisation:globex#main_contact@user:oscar") {
			t.Error("a refused designation was written")
		}
	})

	t.Run("C7_verified_director_is_staff_only", func(t *testing.T) {
		grace.get("/console/organisations/globex")
		p := grace.post("/console/organisations/globex/designations", url.Values{"user": {"pat"}, "designation": {"verified_director"}, "reason": {"I know him"}})
		status, body := g.api("PUT", "/v1/organisations/globex/members/pat/designations/verified_director", "user:grace", map[string]any{"reason": "I know him"})
		refusedAlike(t, p, status, body, http.StatusForbidden)
		if g.has("organisation:globex#verified_director@user:pat") {
			t.Error("a refused designation was written")
		}
	})

	t.Run("C7_staff_need_a_reason", func(t *testing.T) {
		stella := g.signedIn("stella")
		stella.get("/console/")
		p := stella.post("/console/organisations/globex/designations", url.Values{"user": {"pat"}, "designation": {"verified_director"}})
		status, body := g.api("PUT", "/v1/organisations/globex/members/pat/designations/verified_director", "user:stella", nil)
		refusedAlike(t, p, status, body, http.StatusBadRequest)
		shows(t, p, "Field: reason")
		if g.has("organisation:globex#verified_director@user:pat") {
			t.Error("a refused designation was written")
		}
		p = stella.post("/console/organisations/globex/designations", url.Values{"user": {"pat"}, "designation": {"verified_director"}, "reason": {"passport seen"}})
		if !g.has("organisation:globex#verified_director@user:pat") {
			t.Errorf("staff's designation with a reason was not written: %d\n%s", p.Status, p.Body)
		}
	})

	t.Run("T3_cis_processor_cannot_designate", func(t *testing.T) {
		pat := g.signedIn("pat")
		pat.get("/console/organisations/globex")
		p := pat.post("/console/organisations/globex/members/mia/designations/main_contact/unset", nil)
		status, body := g.api("DELETE", "/v1/organisations/globex/members/mia/designations/main_contact", "user:pat", nil)
		refusedAlike(t, p, status, body, http.StatusForbidden)
		if !g.has("organisation:globex#main_contact@user:mia") {
			t.Error("a refused unset changed the designation")
		}
	})
}
