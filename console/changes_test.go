package console_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-authz/gatehouse/console"
)

// TestConsoleFlags: raising a change request's flags on its page is
// allowed or refused exactly as POST /v1/change-requests/{id}/flags
// answers the same person (C15: approvers of security changes or charges
// and provider staff; C13: never on a closed request), and a refusal
// raises nothing.
func TestConsoleFlags(t *testing.T) {
	g := mustGate(t)
	const pending = "/change-requests/globex-cr-pending"
	flags := func(t *testing.T, who, id string, form url.Values, api map[string]any) (page, int, map[string]any) {
		t.Helper()
		b := g.signedIn(who)
		b.get("/console/change-requests/" + id)
		p := b.post("/console/change-requests/"+id+"/flags", form)
		status, body := g.api("POST", "/v1/change-requests/"+id+"/flags", "user:"+who, api)
		return p, status, body
	}
	down := func(t *testing.T) {
		t.Helper()
		if g.has("change_request:globex-cr-pending#substantial_security@user:*") || g.has("change_request:globex-cr-pending#substantial_charge@user:*") {
			t.Error("a refused request raised a flag")
		}
	}

	t.Run("C15_form_for_those_who_may_raise", func(t *testing.T) {
		shows(t, g.signedIn("mia").get("/console"+pending), "Raise a flag", "Substantial security impact (C10)")
		for _, who := range []string{"tom", "pat"} {
			lacks(t, g.signedIn(who).get("/console"+pending), "Raise a flag")
		}
	})

	for _, who := range []string{"tom", "pat", "alan"} {
		t.Run("C15_"+who+"_may_not_raise", func(t *testing.T) {
			p, status, body := flags(t, who, "globex-cr-pending", url.Values{"substantial_security": {"true"}}, map[string]any{"substantialSecurity": true})
			alike(t, p, status, body, http.StatusForbidden)
			shows(t, p, "Missing permission: raise_flags")
			down(t)
		})
	}

	t.Run("C13_never_on_a_closed_request", func(t *testing.T) {
		p, status, body := flags(t, "mia", "globex-cr-rejected", url.Values{"substantial_charge": {"true"}}, map[string]any{"substantialCharge": true})
		alike(t, p, status, body, http.StatusConflict)
		shows(t, p, "Rule C13: A request is open while it is pending or blocked.")
		if g.has("change_request:globex-cr-rejected#substantial_charge@user:*") {
			t.Error("a closed request was flagged")
		}
		lacks(t, g.signedIn("mia").get("/console/change-requests/globex-cr-rejected"), "Raise a flag")
	})

	t.Run("C15_a_flag_must_be_named", func(t *testing.T) {
		p, status, body := flags(t, "mia", "globex-cr-pending", url.Values{}, map[string]any{})
		alikeButWorded(t, p, status, body, http.StatusBadRequest)
		down(t)
	})

	t.Run("C15_finance_admin_may_not_read_it_yet", func(t *testing.T) {
		p := g.signedIn("fiona").get("/console" + pending)
		status, body := g.api("GET", "/v1"+pending, "user:fiona", nil)
		alike(t, p, status, body, http.StatusForbidden)
		// The rule stands, but the refusal says what it means: who may
		// read a request, and that she may still raise its flags.
		shows(t, p, "Missing permission: view", "A change request is shown to its requester, to holders of view_reports",
			"While it is open you may still raise its flags (C15: raise_flags), but only by its id")
		// Someone who may do neither reads only the first part.
		p = g.signedIn("pat").get("/console/change-requests/acme-cr-blocked")
		status, body = g.api("GET", "/v1/change-requests/acme-cr-blocked", "user:pat", nil)
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "A change request is shown to its requester")
		lacks(t, p, "you may still raise its flags")
	})

	for _, c := range []struct {
		name, who, field, key, shown string
	}{
		{"C11_finance_admin_raises_charge", "fiona", "substantial_charge", "substantialCharge", "substantial additional charge (C11)"},
		{"C15_staff_raise_security", "stella", "substantial_security", "substantialSecurity", "substantial security impact (C10)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := g.signedIn(c.who)
			// A finance admin may raise the charge flag of a request she may
			// not read (it needs view_reports, or a part in it): the API's
			// GET refuses her too, so the form is sent from another page.
			b.get("/console/")
			p := b.post("/console"+pending+"/flags", url.Values{c.field: {"true"}})
			// Raising a flag that is up changes nothing: the API's answer
			// to the same request afterwards is comparable.
			status, body := g.api("POST", "/v1"+pending+"/flags", "user:"+c.who, map[string]any{c.key: true})
			alike(t, p, status, body, http.StatusOK)
			shows(t, p, "The flag was raised.", c.shown)
			if body[c.key] != true {
				t.Errorf("the API reads the request as %v", body)
			}
		})
	}
	// Both flags up: nobody is offered the form any more; fiona, an
	// approver of the charge now (C11), reads the request.
	lacks(t, g.signedIn("mia").get("/console"+pending), "Raise a flag")
	p := g.signedIn("fiona").get("/console" + pending)
	shows(t, p, "Still needed authorisation, security, charge")
	lacks(t, p, "Raise a flag")
}

// TestConsoleOverride: provider staff override an open change request on
// mitigating circumstances and a second, different staff member confirms
// (C18), each allowed or refused exactly as the API's override and
// confirm answer the same person; until confirmed the request stays
// pending, and a refusal writes nothing.
func TestConsoleOverride(t *testing.T) {
	steve := console.DevUser{ID: "steve", Note: "provider staff (test)"}
	g, twin := mustGate(t, withUsers(steve)), mustGate(t)
	g.staff("steve")
	twin.staff("steve")
	const pending = "/change-requests/globex-cr-pending"
	override := func(t *testing.T, who, id string, form url.Values) (page, int, map[string]any) {
		t.Helper()
		b := g.signedIn(who)
		b.get("/console/")
		p := b.post("/console/change-requests/"+id+"/override", form)
		status, body := g.api("POST", "/v1/change-requests/"+id+"/override", "user:"+who, map[string]any{"category": form.Get("category"), "reason": form.Get("reason")})
		return p, status, body
	}
	outage := url.Values{"category": {"outage"}, "reason": {"site down, contacts unreachable"}}
	confirm := func(t *testing.T, who string) (page, int, map[string]any) {
		t.Helper()
		b := g.signedIn(who)
		b.get("/console/")
		p := b.post("/console"+pending+"/override/confirm", nil)
		status, body := g.api("POST", "/v1"+pending+"/override/confirm", "user:"+who, nil)
		return p, status, body
	}
	notOverridden := func(t *testing.T) {
		t.Helper()
		for _, who := range []string{"mia", "stella", "steve"} {
			if g.has("change_request:globex-cr-pending#override_by@user:" + who) {
				t.Errorf("a refused request recorded %s's override", who)
			}
		}
	}

	t.Run("C18_form_for_staff_only", func(t *testing.T) {
		shows(t, g.signedIn("stella").get("/console"+pending), "Override (provider staff)", "Category (required")
		lacks(t, g.signedIn("mia").get("/console"+pending), "Override (provider staff)")
	})

	t.Run("C18_members_may_not_override", func(t *testing.T) {
		p, status, body := override(t, "mia", "globex-cr-pending", outage)
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Missing permission: override")
		notOverridden(t)
	})

	t.Run("C18_category_and_reason_required", func(t *testing.T) {
		p, status, body := override(t, "stella", "globex-cr-pending", url.Values{"reason": {"site down"}})
		alike(t, p, status, body, http.StatusBadRequest)
		shows(t, p, "Field: category")
		p, status, body = override(t, "stella", "globex-cr-pending", url.Values{"category": {"outage"}})
		alike(t, p, status, body, http.StatusBadRequest)
		shows(t, p, "Field: reason")
		notOverridden(t)
	})

	t.Run("C13_closed_or_authorised", func(t *testing.T) {
		for _, id := range []string{"globex-cr-rejected", "globex-cr-authorised"} {
			p, status, body := override(t, "stella", id, outage)
			alike(t, p, status, body, http.StatusConflict)
			if g.has("change_request:" + id + "#override_by@user:stella") {
				t.Errorf("%s was overridden", id)
			}
		}
	})

	t.Run("C18_nothing_to_confirm", func(t *testing.T) {
		p, status, body := confirm(t, "steve")
		alike(t, p, status, body, http.StatusConflict)
		shows(t, p, "Rule C18:")
	})

	t.Run("C18_staff_override", func(t *testing.T) {
		stella := g.signedIn("stella")
		stella.get("/console" + pending)
		p := stella.post("/console"+pending+"/override", outage)
		status, body := twin.api("POST", "/v1"+pending+"/override", "user:stella", map[string]any{"category": "outage", "reason": "site down, contacts unreachable"})
		alike(t, p, status, body, http.StatusOK)
		shows(t, p, "The override was recorded", "by user:stella (outage: site down, contacts unreachable), awaiting a second staff member's confirmation (C18)", "pending")
		lacks(t, p, "Override (provider staff)", "Confirm the override")
		same(t, g, twin, "change_request:globex-cr-pending#override_by@user:stella")
		if body["status"] != "pending" {
			t.Errorf("after one override the API reads %v", body["status"])
		}
	})

	t.Run("C18_once_only", func(t *testing.T) {
		p, status, body := override(t, "steve", "globex-cr-pending", outage)
		alike(t, p, status, body, http.StatusConflict)
		shows(t, p, "Rule C18:")
		if g.has("change_request:globex-cr-pending#override_by@user:steve") {
			t.Error("a second override was recorded")
		}
	})

	t.Run("C18_the_same_staff_member_may_not_confirm", func(t *testing.T) {
		p, status, body := confirm(t, "stella")
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Missing permission: confirm_override", "Rule C18:")
		p, status, body = confirm(t, "mia")
		alike(t, p, status, body, http.StatusForbidden)
		if g.has("change_request:globex-cr-pending#override_confirmed_by@user:stella") || g.has("change_request:globex-cr-pending#override_confirmed_by@user:mia") {
			t.Error("a refused confirmation was recorded")
		}
	})

	t.Run("C18_a_second_staff_member_confirms", func(t *testing.T) {
		b := g.signedIn("steve")
		shows(t, b.get("/console"+pending), "Confirm the override")
		p := b.post("/console"+pending+"/override/confirm", nil)
		status, body := twin.api("POST", "/v1"+pending+"/override/confirm", "user:steve", nil)
		alike(t, p, status, body, http.StatusOK)
		shows(t, p, "You confirmed the override.", "confirmed by user:steve", "Status Authorised")
		same(t, g, twin, "change_request:globex-cr-pending#override_confirmed_by@user:steve")
		if body["status"] != "authorised" {
			t.Errorf("after the confirmation the API reads %v", body["status"])
		}
	})
}
