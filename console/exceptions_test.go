package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestConsoleExceptions: the exceptions page lists what
// GET /v1/organisations/{org}/exceptions lists for the same person (main
// contacts and provider staff, C14) and refuses whom it refuses; granting
// and revoking are allowed or refused exactly as the API's POST and DELETE
// answer the same person (C6: main contacts only, members only, never
// standard; C7: not while unavailable), and a refusal changes nothing.
func TestConsoleExceptions(t *testing.T) {
	g := mustGate(t)
	const about = "change_target:globex/public_facing/page/about#exception@user:pat"
	grant := func(t *testing.T, who string, form url.Values) (page, int, map[string]any) {
		t.Helper()
		b := g.signedIn(who)
		b.get("/console/")
		p := b.post("/console/organisations/globex/exceptions", form)
		body := map[string]any{"user": "user:" + form.Get("user"), "kind": form.Get("kind")}
		if v := form.Get("target"); v != "" {
			body["target"] = v
		}
		if v := form.Get("expires_at"); v != "" {
			body["expiresAt"] = v
		}
		status, answer := g.api("POST", "/v1/organisations/globex/exceptions", "user:"+who, body)
		return p, status, answer
	}
	pat := url.Values{"user": {"pat"}, "kind": {"public_facing"}, "target": {"page:about"}}

	t.Run("C14_main_contact_sees_the_page", func(t *testing.T) {
		p := g.signedIn("mia").get("/console/organisations/globex/exceptions")
		if p.Status != http.StatusOK {
			t.Fatalf("page: %d", p.Status)
		}
		shows(t, p, "Exceptions of globex", "There are no exceptions in force.", "Grant an exception")
	})

	t.Run("C14_staff_list_but_do_not_grant", func(t *testing.T) {
		p := g.signedIn("stella").get("/console/organisations/globex/exceptions")
		if p.Status != http.StatusOK {
			t.Fatalf("page: %d", p.Status)
		}
		lacks(t, p, "Grant an exception")
	})

	for _, c := range []struct{ name, who string }{
		{"C14_technical_contact_refused", "tom"},
		{"C14_owner_not_main_contact_refused", "grace"},
		{"X1_outsider_refused", "oscar"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := g.signedIn(c.who).get("/console/organisations/globex/exceptions")
			status, body := g.api("GET", "/v1/organisations/globex/exceptions", "user:"+c.who, nil)
			alike(t, p, status, body, http.StatusForbidden)
			shows(t, p, "Missing permission: view_exceptions")
		})
	}

	for _, who := range []string{"tom", "stella", "grace"} {
		t.Run("C6_"+who+"_may_not_grant", func(t *testing.T) {
			p, status, body := grant(t, who, pat)
			alike(t, p, status, body, http.StatusForbidden)
			shows(t, p, "Missing permission: main_contacts")
			if g.has(about) {
				t.Error("a refused grant was written")
			}
		})
	}

	t.Run("C6_members_only", func(t *testing.T) {
		p, status, body := grant(t, "mia", url.Values{"user": {"oscar"}, "kind": {"public_facing"}})
		alike(t, p, status, body, http.StatusUnprocessableEntity)
		shows(t, p, "Rule C6: A main contact can grant a user an exception", "Field: user")
		if g.has("change_kind:globex/public_facing#exception@user:oscar") {
			t.Error("a refused grant was written")
		}
	})

	t.Run("C6_never_standard", func(t *testing.T) {
		p, status, body := grant(t, "mia", url.Values{"user": {"pat"}, "kind": {"standard"}})
		alike(t, p, status, body, http.StatusUnprocessableEntity)
		shows(t, p, "Field: kind")
	})

	t.Run("X3_expiry", func(t *testing.T) {
		p, status, body := grant(t, "mia", url.Values{"user": {"pat"}, "kind": {"public_facing"}, "expires_at": {"soon"}})
		alikeButWorded(t, p, status, body, http.StatusBadRequest)
		p, status, body = grant(t, "mia", url.Values{"user": {"pat"}, "kind": {"public_facing"}, "expires_at": {"2001-01-01T00:00:00Z"}})
		alike(t, p, status, body, http.StatusBadRequest)
		if g.has("change_kind:globex/public_facing#exception@user:pat") {
			t.Error("a refused grant was written")
		}
	})

	t.Run("C6_main_contact_grants", func(t *testing.T) {
		mia := g.signedIn("mia")
		mia.get("/console/organisations/globex/exceptions")
		p := mia.post("/console/organisations/globex/exceptions", url.Values{"user": {"pat"}, "kind": {"public_facing"}, "target": {"page:about"}, "expires_at": {"2099-01-31"}, "reason": {"about page owner"}})
		// Granting again replaces the expiry with the same one: the API's
		// answer to the same grant afterwards is comparable.
		status, body := g.api("POST", "/v1/organisations/globex/exceptions", "user:mia", map[string]any{"user": "user:pat", "kind": "public_facing", "target": "page:about", "expiresAt": "2099-01-31T00:00:00Z", "reason": "about page owner"})
		alike(t, p, status, body, http.StatusCreated)
		shows(t, p, "The exception was granted.", "pat public_facing page:about 2099-01-31 00:00 UTC")
		if !g.has(about) {
			t.Fatal("the exception was not written")
		}
		_, body = g.api("GET", "/v1/organisations/globex/exceptions", "user:mia", nil)
		if ex, _ := body["exceptions"].([]any); len(ex) != 1 {
			t.Errorf("the API lists %v", body)
		} else if e, _ := ex[0].(map[string]any); e["user"] != "user:pat" || e["target"] != "page:about" || e["expiresAt"] != "2099-01-31T00:00:00Z" {
			t.Errorf("the API lists %v", e)
		}
		shows(t, g.signedIn("stella").get("/console/organisations/globex/exceptions"), "pat public_facing page:about")
	})

	t.Run("C6_only_main_contacts_revoke", func(t *testing.T) {
		tom := g.signedIn("tom")
		tom.get("/console/")
		p := tom.post("/console/organisations/globex/exceptions/pat/public_facing/revoke", nil)
		status, body := g.api("DELETE", "/v1/organisations/globex/exceptions/pat/public_facing", "user:tom", nil)
		alike(t, p, status, body, http.StatusForbidden)
		if !g.has(about) {
			t.Error("a refused revocation removed the exception")
		}
	})

	t.Run("C7_unavailable_main_contact_may_not_grant", func(t *testing.T) {
		if status, body := g.api("PUT", "/v1/organisations/globex/members/mia/designations/unavailable_contact", "user:stella", map[string]any{"reason": "on leave"}); status != http.StatusNoContent {
			t.Fatalf("marking mia unavailable: %d %v", status, body)
		}
		defer g.api("DELETE", "/v1/organisations/globex/members/mia/designations/unavailable_contact", "user:stella", map[string]any{"reason": "back"})
		p, status, body := grant(t, "mia", url.Values{"user": {"pat"}, "kind": {"service"}})
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Rule C7: A contact marked unavailable_contact is never asked and cannot authorise.")
		if g.has("change_kind:globex/service#exception@user:pat") {
			t.Error("a refused grant was written")
		}
	})

	t.Run("pages_like_the_api", func(t *testing.T) {
		for i := range 30 {
			if status, body := g.api("POST", "/v1/organisations/globex/exceptions", "user:mia", map[string]any{"user": "user:tom", "kind": "public_facing", "target": fmt.Sprintf("page:p%02d", i)}); status != http.StatusCreated {
				t.Fatalf("granting: %d %v", status, body)
			}
		}
		b := g.signedIn("mia")
		if n := pagesThrough(t, b, "/console/organisations/globex/exceptions", "tom public_facing page:p%02d", 30); n != 30 {
			t.Errorf("paging through the exceptions showed %d of 30", n)
		}
		b.post("/console/organisations/globex/exceptions/tom/public_facing/revoke", nil)
		// X2: with no reason typed, the trail says so and where.
		ev := g.auditEvent("globex", func(ev map[string]any) bool {
			d, _ := ev["details"].(map[string]any)
			return ev["action"] == "revoke_exception" && d["user"] == "user:tom"
		})
		if ev["reason"] != "no reason given: Revoke on the console's exceptions page" {
			t.Errorf("the audit trail records %v", ev)
		}
	})

	t.Run("C6_main_contact_revokes", func(t *testing.T) {
		mia := g.signedIn("mia")
		shows(t, mia.get("/console/organisations/globex/exceptions"), "Revoke", "Reason for revoking every public_facing exception of pat")
		p := mia.post("/console/organisations/globex/exceptions/pat/public_facing/revoke", url.Values{"reason": {"the about page moved to marketing"}})
		// Revoking what is gone changes nothing: comparable afterwards.
		status, body := g.api("DELETE", "/v1/organisations/globex/exceptions/pat/public_facing", "user:mia", nil)
		alike(t, p, status, body, http.StatusNoContent)
		shows(t, p, "The exceptions were revoked.", "There are no exceptions in force.")
		if g.has(about) {
			t.Error("the exception was not revoked")
		}
		// X2: the reason typed beside the button is the one recorded.
		ev := g.auditEvent("globex", func(ev map[string]any) bool {
			d, _ := ev["details"].(map[string]any)
			return ev["action"] == "revoke_exception" && d["user"] == "user:pat"
		})
		if ev["reason"] != "the about page moved to marketing" {
			t.Errorf("the audit trail records %v", ev)
		}
	})
}

// TestConsoleSubstantial: the always-substantial page is for holders of
// manage_members (C15), who declare a kind or one target of it always
// substantial and lift it, each allowed or refused exactly as the API's
// PUT and DELETE /v1/organisations/{org}/substantial/{kind} answer the
// same person; a declared kind flags a request filed through the console.
func TestConsoleSubstantial(t *testing.T) {
	g := mustGate(t)
	const decl = "change_target:globex/public_facing/page/about#always_security@user:*"

	t.Run("C15_page_needs_manage_members", func(t *testing.T) {
		p := g.signedIn("mia").get("/console/organisations/globex/substantial")
		if p.Status != http.StatusForbidden {
			t.Errorf("mia: %d", p.Status)
		}
		shows(t, p, "Missing permission: manage_members")
		p = g.signedIn("oscar").get("/console/organisations/globex/substantial")
		status, body := g.api("GET", "/v1/organisations/globex", "user:oscar", nil)
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, g.signedIn("grace").get("/console/organisations/globex/substantial"), "No kind is declared always substantial.", "Declare a kind always substantial")
	})

	declare := func(t *testing.T, who, kind, target string) (page, int, map[string]any) {
		t.Helper()
		b := g.signedIn(who)
		b.get("/console/")
		p := b.post("/console/organisations/globex/substantial", url.Values{"kind": {kind}, "target": {target}, "security": {"true"}})
		q := ""
		if target != "" {
			q = "?target=" + url.QueryEscape(target)
		}
		status, body := g.api("PUT", "/v1/organisations/globex/substantial/"+kind+q, "user:"+who, map[string]any{"security": true})
		return p, status, body
	}

	t.Run("C15_it_manager_may_not_declare", func(t *testing.T) {
		p, status, body := declare(t, "mia", "public_facing", "page:about")
		alike(t, p, status, body, http.StatusForbidden)
		if g.has(decl) {
			t.Error("a refused declaration was written")
		}
	})

	t.Run("C2_unknown_kind", func(t *testing.T) {
		p, status, body := declare(t, "grace", "teleport", "")
		alike(t, p, status, body, http.StatusBadRequest)
		shows(t, p, "Field: kind")
	})

	t.Run("C15_declared_kind_flags_requests_when_filed", func(t *testing.T) {
		grace := g.signedIn("grace")
		grace.get("/console/organisations/globex/substantial")
		p := grace.post("/console/organisations/globex/substantial", url.Values{"kind": {"public_facing"}, "target": {"page:about"}, "security": {"true"}})
		// Declaring what is declared changes nothing: comparable afterwards.
		status, body := g.api("PUT", "/v1/organisations/globex/substantial/public_facing?target=page:about", "user:grace", map[string]any{"security": true})
		alike(t, p, status, body, http.StatusNoContent)
		shows(t, p, "The declaration was saved.", "public_facing page:about yes no")
		if !g.has(decl) {
			t.Fatal("the declaration was not written")
		}
		pat := g.signedIn("pat")
		pat.get("/console/organisations/globex/change-requests")
		p = pat.post("/console/organisations/globex/change-requests", url.Values{"id": {"cr-about"}, "kind": {"public_facing"}, "target": {"page:about"}})
		shows(t, p, "The change request was filed.", "substantial security impact (C10)")
	})

	t.Run("C15_it_manager_may_not_lift", func(t *testing.T) {
		mia := g.signedIn("mia")
		mia.get("/console/")
		p := mia.post("/console/organisations/globex/substantial/public_facing/unset", url.Values{"target": {"page:about"}})
		status, body := g.api("DELETE", "/v1/organisations/globex/substantial/public_facing?target=page:about", "user:mia", nil)
		alike(t, p, status, body, http.StatusForbidden)
		if !g.has(decl) {
			t.Error("a refused lift removed the declaration")
		}
	})

	t.Run("pages_its_list", func(t *testing.T) {
		for i := range 30 {
			if status, body := g.api("PUT", fmt.Sprintf("/v1/organisations/globex/substantial/service?target=svc:s%02d", i), "user:grace", map[string]any{"charge": true}); status != http.StatusNoContent {
				t.Fatalf("declaring: %d %v", status, body)
			}
		}
		if n := pagesThrough(t, g.signedIn("grace"), "/console/organisations/globex/substantial", "service svc:s%02d no yes", 30); n != 30 {
			t.Errorf("paging through the declarations showed %d of 30", n)
		}
	})

	t.Run("C15_owner_lifts", func(t *testing.T) {
		grace := g.signedIn("grace")
		grace.get("/console/organisations/globex/substantial")
		p := grace.post("/console/organisations/globex/substantial/public_facing/unset", url.Values{"target": {"page:about"}})
		status, body := g.api("DELETE", "/v1/organisations/globex/substantial/public_facing?target=page:about", "user:grace", nil)
		alike(t, p, status, body, http.StatusNoContent)
		shows(t, p, "The declaration was lifted.")
		lacks(t, p, "public_facing page:about")
		if g.has(decl) {
			t.Error("the declaration was not lifted")
		}
	})
}
