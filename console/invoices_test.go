package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// lookupInvoices returns the invoices the API's lookup lists for user (K3).
func (g *gate) lookupInvoices(user string) []string {
	g.t.Helper()
	status, body := g.api("POST", "/v1/lookup/resources", "", map[string]any{"resourceType": "invoice", "permission": "view", "subject": "user:" + user})
	if status != http.StatusOK {
		g.t.Fatalf("lookup: %d %v", status, body)
	}
	var out []string
	rs, _ := body["resources"].([]any)
	for _, r := range rs {
		s, _ := r.(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestConsoleInvoices covers the invoices page: it lists exactly the
// invoices the API's lookup gives the person (K3), refuses everyone
// without view_billing with 403 naming it (R5, R7, X1), pages its list,
// and creates an invoice exactly when POST /v1/organisations/{org}/invoices
// allows the same person (manage_billing: O5, R3, R4, R6, R7), with the
// same refusal and nothing written otherwise.
func TestConsoleInvoices(t *testing.T) {
	g := mustGate(t)

	t.Run("R6_billing_manager_sees_the_invoices", func(t *testing.T) {
		p := g.signedIn("bill").get("/console/organisations/brightcis/invoices")
		if p.Status != http.StatusOK {
			t.Fatalf("page: %d", p.Status)
		}
		shows(t, p, "BrightCIS Builders: invoices", "inv1 Why? 120.00 GBP", "inv2 Why? 89.50 GBP")
		lacks(t, p, "inv3", "Create an invoice")
		if got := g.lookupInvoices("bill"); !slices.Equal(got, []string{"invoice:inv1", "invoice:inv2"}) {
			t.Errorf("the API lists %v for bill", got)
		}
	})

	t.Run("R1_it_manager_sees_acme_invoices", func(t *testing.T) {
		p := g.signedIn("ian").get("/console/organisations/acme/invoices")
		shows(t, p, "inv3 Why? 2400.00 EUR")
		lacks(t, p, "inv1", "Create an invoice")
		if got := g.lookupInvoices("ian"); !slices.Equal(got, []string{"invoice:inv3"}) {
			t.Errorf("the API lists %v for ian", got)
		}
	})

	for _, c := range []struct{ name, who, org string }{
		{"R5_cis_processor_refused", "carla", "brightcis"},
		{"R2_it_admin_refused", "ivy", "acme"},
		{"R7_no_financial_access_refused", "vic", "acme"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := g.signedIn(c.who).get("/console/organisations/" + c.org + "/invoices")
			if p.Status != http.StatusForbidden {
				t.Errorf("page: %d", p.Status)
			}
			shows(t, p, "Missing permission: view_billing", "Nothing was changed.")
			lacks(t, p, "inv1", "inv3")
			if got := g.lookupInvoices(c.who); len(got) != 0 {
				t.Errorf("the API lists %v for %s", got, c.who)
			}
		})
	}

	t.Run("X1_outsider_refused", func(t *testing.T) {
		p := g.signedIn("oscar").get("/console/organisations/brightcis/invoices")
		status, body := g.api("GET", "/v1/organisations/brightcis", "user:oscar", nil)
		alike(t, p, status, body, http.StatusForbidden)
		lacks(t, p, "inv1")
	})

	create := func(t *testing.T, who, org string, form url.Values) (page, int, map[string]any) {
		t.Helper()
		b := g.signedIn(who)
		b.get("/console/")
		p := b.post("/console/organisations/"+org+"/invoices", form)
		status, body := g.api("POST", "/v1/organisations/"+org+"/invoices", "user:"+who, map[string]any{"id": form.Get("id"), "amount": form.Get("amount"), "currency": form.Get("currency")})
		return p, status, body
	}
	inv9 := url.Values{"id": {"inv9"}, "amount": {"10.00"}, "currency": {"GBP"}}

	for _, c := range []struct{ name, who, org string }{
		{"R6_billing_manager_cannot_create", "bill", "brightcis"},
		{"R4_administrator_cannot_create", "adam", "brightcis"},
		{"R7_no_financial_access_cannot_create", "vic", "acme"},
		{"X1_outsider_cannot_create", "grace", "acme"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, status, body := create(t, c.who, c.org, inv9)
			alike(t, p, status, body, http.StatusForbidden)
			if g.has("invoice:inv9#organisation@organisation:" + c.org) {
				t.Error("a refused create wrote the invoice")
			}
		})
	}

	t.Run("X3_malformed", func(t *testing.T) {
		for field, form := range map[string]url.Values{
			"amount":   {"id": {"inv9"}, "amount": {"-5"}, "currency": {"GBP"}},
			"currency": {"id": {"inv9"}, "amount": {"5"}, "currency": {"XYZ"}},
			"id":       {"id": {"in v9"}, "amount": {"5"}, "currency": {"GBP"}},
		} {
			p, status, body := create(t, "olivia", "brightcis", form)
			alike(t, p, status, body, http.StatusBadRequest)
			shows(t, p, "Field: "+field)
		}
		if g.has("invoice:inv9#organisation@organisation:brightcis") {
			t.Error("a refused create wrote the invoice")
		}
	})

	t.Run("K1_taken_id", func(t *testing.T) {
		p, status, body := create(t, "fran", "acme", url.Values{"id": {"inv1"}, "amount": {"5"}, "currency": {"EUR"}})
		alike(t, p, status, body, http.StatusConflict)
		if g.has("invoice:inv1#organisation@organisation:acme") {
			t.Error("a refused create moved inv1")
		}
	})

	twin := mustGate(t)
	for _, c := range []struct{ name, who, org, id string }{
		{"O5_owner_creates", "olivia", "brightcis", "inv8"},
		{"R3_finance_admin_creates", "fran", "acme", "inv9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := g.signedIn(c.who)
			b.get("/console/organisations/" + c.org + "/invoices")
			shows(t, b.last, "Create an invoice")
			p := b.post("/console/organisations/"+c.org+"/invoices", url.Values{"id": {c.id}, "amount": {"42.50"}, "currency": {"EUR"}})
			status, body := twin.api("POST", "/v1/organisations/"+c.org+"/invoices", "user:"+c.who, map[string]any{"id": c.id, "amount": "42.50", "currency": "EUR"})
			alike(t, p, status, body, http.StatusCreated)
			shows(t, p, "The invoice was created.", c.id+" Why? 42.50 EUR")
			same(t, g, twin, "invoice:"+c.id+"#organisation@organisation:"+c.org)
			if !g.has("invoice:" + c.id + "#organisation@organisation:" + c.org) {
				t.Error("the invoice was not written")
			}
		})
	}

	t.Run("pages_like_the_api", func(t *testing.T) {
		for i := range 30 {
			status, body := g.api("POST", "/v1/organisations/acme/invoices", "user:oscar", map[string]any{"id": fmt.Sprintf("bulk%02d", i), "amount": "1", "currency": "GBP"})
			if status != http.StatusCreated {
				t.Fatalf("creating bulk%02d: %d %v", i, status, body)
			}
		}
		if n := pagesThrough(t, g.signedIn("ian"), "/console/organisations/acme/invoices", "bulk%02d Why?", 30); n != 30 {
			t.Errorf("paging through the invoices showed %d of 30", n)
		}
	})
}
