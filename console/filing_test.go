package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
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
		shows(t, p, "The change request was filed. Its id is cr-form.", "page:about", "substantial security impact (C10)", "Withdraw")
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

// TestFileWithTitle (issue 22 item 6; shared/api.md's filing contract): a
// request is filed with a title and description and no id, the workflow
// makes its id, and its page, headed by its title, shows the description;
// the list names it by its title; the API reads back the same text. Text
// out of bounds is refused as the API refuses it, the input kept and the
// field marked, and nothing is written.
func TestFileWithTitle(t *testing.T) {
	g := mustGate(t)
	pat := g.signedIn("pat")

	t.Run("api_md_titled_request_without_an_id", func(t *testing.T) {
		p := pat.get("/console/organisations/globex/change-requests")
		shows(t, p, "Title (optional)", "Description (optional)", "Request id (optional)")
		p = pat.post("/console/organisations/globex/change-requests", url.Values{
			"title": {"New pricing page"}, "description": {"Two tiers instead of three.\nKeep the old page until March."},
			"kind": {"public_facing"}, "target": {"page:pricing"},
		})
		m := regexp.MustCompile(`“New pricing page” has the id (cr-[a-z2-7]{13})\.`).FindStringSubmatch(unescape(p.Body))
		if m == nil {
			t.Fatalf("the filing does not say the id it made:\n%s", p.Body)
		}
		id := m[1]
		shows(t, p, "Two tiers instead of three.", "Request id "+id)
		if !strings.Contains(p.Body, "<h1>New pricing page</h1>") {
			t.Errorf("the request's page is not headed by its title:\n%s", p.Body)
		}
		_, body := g.api("GET", "/v1/change-requests/"+id, "user:pat", nil)
		if body["title"] != "New pricing page" || body["description"] != "Two tiers instead of three.\nKeep the old page until March." {
			t.Errorf("the API reads the filed request as %v", body)
		}
		p = pat.get("/console/organisations/globex/change-requests")
		if !strings.Contains(p.Body, `<a href="/console/change-requests/`+id+`">New pricing page</a>`) {
			t.Errorf("the list does not name %s by its title:\n%s", id, p.Body)
		}
	})

	t.Run("api_md_text_out_of_bounds_refused_alike", func(t *testing.T) {
		long := strings.Repeat("x", 121)
		pat.get("/console/organisations/globex/change-requests")
		p := pat.post("/console/organisations/globex/change-requests", url.Values{"id": {"cr-long"}, "title": {long}, "kind": {"service"}, "description": {"kept"}})
		status, body := g.api("POST", "/v1/organisations/globex/change-requests", "user:pat", map[string]any{"id": "cr-long", "kind": "service", "title": long, "description": "kept"})
		refusedAlike(t, p, status, body, http.StatusBadRequest)
		shows(t, p, "Field: title")
		if !strings.Contains(p.Body, ">kept</textarea>") || !strings.Contains(p.Body, `name="title" maxlength="120" autocomplete="off" placeholder="one line: what is to change, e.g. New pricing page" value="`+long+`" aria-invalid="true"`) {
			t.Errorf("the title is not kept and marked:\n%s", p.Body)
		}
		if g.has("change_request:cr-long#organisation@organisation:globex") {
			t.Error("a refused filing wrote the request")
		}
	})
}
