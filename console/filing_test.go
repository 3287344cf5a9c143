package console_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestFileAndWithdraw: a member files a change request with its flags
// (C1, C10); an outsider's filing, a kind that does not exist and a taken
// id are refused as the API refuses them; only the requester withdraws
// (C13), never a closed request; nothing changes on a refusal.
func TestFileAndWithdraw(t *testing.T) {
	g := mustGate(t)
	pat := g.signedIn("pat")

	t.Run("C1_member_files", func(t *testing.T) {
		p := pat.get("/console/organisations/globex/change-requests")
		shows(t, p, "File a change request", "Substantial security impact")
		p = pat.post("/console/organisations/globex/change-requests", url.Values{"id": {"cr-form"}, "kind": {"public_facing"}, "target": {"page:about"}, "substantial_security": {"true"}})
		shows(t, p, "The change request was filed.", "cr-form", "page:about", "substantial security impact (C10)", "Withdraw")
		_, body := g.api("GET", "/v1/change-requests/cr-form", "user:pat", nil)
		if body["status"] != "pending" || body["substantialSecurity"] != true {
			t.Errorf("the API reads the filed request as %v", body)
		}
	})

	t.Run("X1_outsider_cannot_file", func(t *testing.T) {
		oscar := g.signedIn("oscar")
		oscar.get("/console/")
		p := oscar.post("/console/organisations/globex/change-requests", url.Values{"id": {"cr-oscar"}, "kind": {"standard"}})
		status, body := g.api("POST", "/v1/organisations/globex/change-requests", "user:oscar", map[string]any{"id": "cr-oscar", "kind": "standard"})
		refusedAlike(t, p, status, body, http.StatusForbidden)
		if g.has("change_request:cr-oscar#organisation@organisation:globex") {
			t.Error("a refused filing wrote the request")
		}
	})

	t.Run("invalid_kind_and_taken_id", func(t *testing.T) {
		pat.get("/console/organisations/globex/change-requests")
		p := pat.post("/console/organisations/globex/change-requests", url.Values{"id": {"cr-bad"}, "kind": {"teleport"}})
		status, body := g.api("POST", "/v1/organisations/globex/change-requests", "user:pat", map[string]any{"id": "cr-bad", "kind": "teleport"})
		refusedAlike(t, p, status, body, http.StatusBadRequest)
		shows(t, p, "Field: kind")
		p = pat.post("/console/organisations/globex/change-requests", url.Values{"id": {"globex-cr-pending"}, "kind": {"standard"}})
		status, body = g.api("POST", "/v1/organisations/globex/change-requests", "user:pat", map[string]any{"id": "globex-cr-pending", "kind": "standard"})
		refusedAlike(t, p, status, body, http.StatusConflict)
		_, body = g.api("GET", "/v1/change-requests/globex-cr-pending", "user:pat", nil)
		if body["kind"] != "public_facing" {
			t.Errorf("a refused filing changed globex-cr-pending: %v", body)
		}
	})

	t.Run("C13_only_the_requester_withdraws", func(t *testing.T) {
		tom := g.signedIn("tom")
		p := tom.get("/console/change-requests/cr-form")
		shows(t, p, "Authorise", "Reject")
		lacks(t, p, "Withdraw")
		p = tom.post("/console/change-requests/cr-form/withdraw", url.Values{"reason": {"mine now"}})
		status, body := g.api("POST", "/v1/change-requests/cr-form/withdraw", "user:tom", map[string]any{"reason": "mine now"})
		refusedAlike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Missing permission: withdraw")
		_, body = g.api("GET", "/v1/change-requests/cr-form", "user:pat", nil)
		if body["status"] != "pending" {
			t.Errorf("after a refused withdrawal the request is %v", body["status"])
		}
	})

	t.Run("C13_closed_request", func(t *testing.T) {
		p := pat.get("/console/change-requests/globex-cr-rejected")
		lacks(t, p, "Withdraw")
		p = pat.post("/console/change-requests/globex-cr-rejected/withdraw", nil)
		status, body := g.api("POST", "/v1/change-requests/globex-cr-rejected/withdraw", "user:pat", map[string]any{})
		refusedAlike(t, p, status, body, http.StatusConflict)
		shows(t, p, "Rule C13: A request is open while it is pending or blocked.")
		if g.has("change_request:globex-cr-rejected#withdrawn_by@user:pat") {
			t.Error("a refused withdrawal was written")
		}
	})

	t.Run("C13_requester_withdraws", func(t *testing.T) {
		pat.get("/console/change-requests/cr-form")
		p := pat.post("/console/change-requests/cr-form/withdraw", url.Values{"reason": {"filed too soon"}})
		shows(t, p, "You withdrew the change request.", "Status Withdrawn", "filed too soon")
		lacks(t, p, "Reject")
		_, body := g.api("GET", "/v1/change-requests/cr-form", "user:pat", nil)
		if body["status"] != "withdrawn" {
			t.Errorf("after withdrawing the request is %v", body["status"])
		}
	})
}
