package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAuditTrail: a holder of view_reports sees the organisation's recorded
// changes, filtered by actor; others get the 403 page naming view_reports.
func TestAuditTrail(t *testing.T) {
	g := mustGate(t)

	t.Run("refused_without_view_reports", func(t *testing.T) {
		for _, who := range []string{"bill", "carla"} {
			p := g.signedIn(who).get("/console/organisations/brightcis/audit")
			if p.Status != http.StatusForbidden {
				t.Errorf("%s: %d", who, p.Status)
			}
			shows(t, p, "Missing permission: view_reports")
			lacks(t, p, "Recorded changes")
		}
	})

	t.Run("administrator_sees_a_grant", func(t *testing.T) {
		olivia := g.signedIn("olivia")
		olivia.get("/console/organisations/brightcis")
		shows(t, olivia.post("/console/organisations/brightcis/roles", url.Values{"user": {"carla"}, "role": {"administrator"}, "reason": {"audit test"}}), "carla was made administrator of brightcis.")
		adam := g.signedIn("adam")
		var p page
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if p = adam.get("/console/organisations/brightcis/audit?actor=olivia"); p.contains("audit test") {
				break
			}
		}
		if p.Status != http.StatusOK {
			t.Fatalf("audit page: %d", p.Status)
		}
		shows(t, p, "Audit trail of brightcis", "olivia made carla Administrator.", "console", "audit test", "organisation:brightcis#administrator@user:carla", "Audit trail")
		lacks(t, adam.get("/console/organisations/brightcis/audit?actor=nobody"), "audit test")
		lacks(t, adam.get("/console/organisations/brightcis/audit?actor=olivia&until=2000-01-01"), "audit test")
		p = adam.get("/console/organisations/brightcis/audit?since=yesterday")
		if p.Status != http.StatusBadRequest {
			t.Errorf("bad since: %d", p.Status)
		}
	})
}

// TestWhy: anyone may ask why they hold a permission and sees each path in
// words; a denial says what is missing; asking about someone else is for
// provider staff only.
func TestWhy(t *testing.T) {
	g := mustGate(t)

	t.Run("allowed_path_in_words", func(t *testing.T) {
		adam := g.signedIn("adam")
		shows(t, adam.get("/console/organisations/brightcis/contractors"), "Why?")
		p := adam.get("/console/why?resource=contractor:c1&permission=view&subject=user:adam")
		if p.Status != http.StatusOK {
			t.Fatalf("why: %d", p.Status)
		}
		shows(t, p, "Allowed: user:adam has view on contractor:c1", "Path 1",
			"user:adam is administrator of organisation:brightcis", "contractor:c1 belongs to organisation:brightcis")
	})

	t.Run("denial_says_what_is_missing", func(t *testing.T) {
		p := g.signedIn("bill").get("/console/why?resource=contractor:c1&permission=view")
		if p.Status != http.StatusOK {
			t.Fatalf("why: %d", p.Status)
		}
		shows(t, p, "Denied: user:bill lacks view on contractor:c1", "No relationship grants user:bill permission view on contractor:c1", "permission view =")
	})

	t.Run("other_subject_only_for_staff", func(t *testing.T) {
		p := g.signedIn("bill").get("/console/why?resource=contractor:c1&permission=view&subject=user:adam")
		if p.Status != http.StatusForbidden {
			t.Errorf("bill asking about adam: %d", p.Status)
		}
		shows(t, p, "Missing permission: staff_member")
		p = g.signedIn("stella").get("/console/why?resource=contractor:c1&permission=view&subject=user:adam")
		if p.Status != http.StatusOK {
			t.Fatalf("stella asking about adam: %d", p.Status)
		}
		shows(t, p, "Allowed: user:adam has view on contractor:c1")
	})

	t.Run("the_organisation_menu_stays", func(t *testing.T) {
		bill := g.signedIn("bill")
		inv := bill.get("/console/organisations/brightcis/invoices")
		if !strings.Contains(inv.Body, "&amp;org=brightcis") {
			t.Error("the invoices page's Why? links do not say their organisation")
		}
		p := bill.get("/console/why?resource=invoice:inv1&permission=view&subject=user:bill&org=brightcis")
		if p.Status != http.StatusOK {
			t.Fatalf("why: %d", p.Status)
		}
		nav, ok := orgNav(p)
		if !ok || !slices.ContainsFunc(nav, func(l navLink) bool { return l.label == "Invoices" }) {
			t.Errorf("the Why? page from brightcis's invoices has no brightcis menu: %v", nav)
		}
		if !strings.Contains(p.Body, `name="org" value="brightcis"`) {
			t.Error("the Why? form does not keep the organisation")
		}
	})

	t.Run("bad_input_refused", func(t *testing.T) {
		p := g.signedIn("bill").get("/console/why?resource=c1&permission=view")
		if p.Status != http.StatusBadRequest {
			t.Errorf("bad resource: %d", p.Status)
		}
	})
}
