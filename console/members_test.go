package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
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
		p = alan.post("/console/organisations/globex/transfer-ownership", url.Values{"confirm": {"1"}, "to": {"alan"}})
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
		p := grace.post("/console/organisations/globex/transfer-ownership", url.Values{"confirm": {"1"}, "to": {"oscar"}})
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
		p = oscar.post("/console/organisations/acme/transfer-ownership", url.Values{"confirm": {"1"}, "to": {"vic"}, "reason": {"vip"}})
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
		p := grace.post("/console/organisations/globex/transfer-ownership", url.Values{"confirm": {"1"}, "to": {"user:alan"}, "reason": {"retiring"}})
		shows(t, p, "Ownership of globex was transferred to alan", "Owner: user:alan")
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

// TestStaffDesignations: provider staff, whom the API lets give and take
// away verified_director and unavailable_contact (provider_staff: C7, C9)
// but not list the members of a team they are not on, reach the members
// page from their organisations list and find there the forms of those
// two designations and nobody's name; what they do is allowed or refused
// exactly as PUT and DELETE /v1/organisations/{org}/members/{user}/designations/{d}
// answer stella, and an allowed change leaves the same relationships as
// the API's request does on a twin Gatehouse.
func TestStaffDesignations(t *testing.T) {
	g := mustGate(t)
	twin := mustGate(t)
	stella := g.signedIn("stella")
	designate := func(t *testing.T, user, designation, reason string) (page, int, map[string]any) {
		t.Helper()
		stella.get("/console/organisations/globex")
		p := stella.post("/console/organisations/globex/designations", url.Values{"user": {user}, "designation": {designation}, "reason": {reason}})
		status, body := twin.api("PUT", "/v1/organisations/globex/members/"+user+"/designations/"+designation, "user:stella", map[string]any{"reason": reason})
		return p, status, body
	}

	t.Run("C9_staff_find_the_organisations_they_serve", func(t *testing.T) {
		p := stella.get("/console/")
		shows(t, p, "You belong to no organisation.", "Organisations you serve as provider staff", "organisation:globex", "organisation:acme", "organisation:brightcis")
		status, body := g.api("POST", "/v1/lookup/resources", "", map[string]any{"resourceType": "organisation", "permission": "provider_staff", "subject": "user:stella"})
		if status != http.StatusOK || len(jsonStrings(body["resources"])) != 3 {
			t.Errorf("the API looks up %d %v for stella", status, body)
		}
		if !strings.Contains(p.Body, `href="/console/organisations/globex"`) {
			t.Error("the list does not link globex's members page")
		}
		lacks(t, g.signedIn("mia").get("/console/"), "Organisations you serve as provider staff")
	})

	t.Run("C7_C9_staff_see_their_forms_and_no_member", func(t *testing.T) {
		p := stella.get("/console/organisations/globex")
		if p.Status != http.StatusOK {
			t.Fatalf("staff's members page: %d\n%s", p.Status, p.Body)
		}
		shows(t, p, "globex: members", "Give a designation", "Take a designation away", "Reason (required; recorded in the audit trail)", "Security admins")
		for _, d := range []string{"verified_director", "unavailable_contact"} {
			if !strings.Contains(p.Body, `<option value="`+d+`">`) {
				t.Errorf("staff are not offered %s", d)
			}
		}
		if strings.Contains(p.Body, "<option>main_contact</option>") {
			t.Error("staff are offered main_contact, which the organisation names (manage_designations)")
		}
		// The API lists no member to stella, nor does the console.
		status, body := g.api("GET", "/v1/organisations/globex/members", "user:stella", nil)
		if status != http.StatusForbidden {
			t.Errorf("the API lists globex's members to stella: %d %v", status, body)
		}
		lacks(t, p, "Owner:", "Members with their roles", "Grant a role", "Transfer ownership", "Globex Corporation")
	})

	t.Run("C7_staff_mark_a_contact_unavailable", func(t *testing.T) {
		p, status, body := designate(t, "mia", "unavailable_contact", "HR case")
		alike(t, p, status, body, http.StatusNoContent)
		shows(t, p, "The designation was given.")
		same(t, g, twin, "organisation:globex#unavailable_contact@user:mia")
		if !g.has("organisation:globex#unavailable_contact@user:mia") {
			t.Fatal("mia is not marked unavailable")
		}
		// Never asked (C7): globex-cr-pending waits for tom alone.
		if _, body := g.api("GET", "/v1/change-requests/globex-cr-pending", "user:pat", nil); !slices.Equal(jsonStrings(body["authorisers"]), []string{"user:tom"}) {
			t.Errorf("with mia unavailable the API reads globex-cr-pending as %v", body)
		}
	})

	t.Run("C9_staff_verify_a_director", func(t *testing.T) {
		p, status, body := designate(t, "dan", "verified_director", "Companies House register checked")
		alike(t, p, status, body, http.StatusNoContent)
		same(t, g, twin, "organisation:globex#verified_director@user:dan")
		if !g.has("organisation:globex#verified_director@user:dan") {
			t.Error("dan is not verified")
		}
	})

	t.Run("C7_staff_take_it_away_naming_the_member", func(t *testing.T) {
		stella.get("/console/organisations/globex")
		p := stella.post("/console/organisations/globex/designations/unset", url.Values{"user": {"mia"}, "designation": {"unavailable_contact"}, "reason": {"case closed"}})
		status, body := twin.api("DELETE", "/v1/organisations/globex/members/mia/designations/unavailable_contact", "user:stella", map[string]any{"reason": "case closed"})
		alike(t, p, status, body, http.StatusNoContent)
		shows(t, p, "The designation was taken away.")
		same(t, g, twin, "organisation:globex#unavailable_contact@user:mia")
		if g.has("organisation:globex#unavailable_contact@user:mia") {
			t.Error("mia is still unavailable")
		}
	})

	t.Run("T3_staff_do_not_name_contacts", func(t *testing.T) {
		p, status, body := designate(t, "pat", "main_contact", "asked by phone")
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Missing permission: manage_designations")
		same(t, g, twin, "organisation:globex#main_contact@user:pat")
	})

	t.Run("T4_staff_designate_members_only", func(t *testing.T) {
		p, status, body := designate(t, "oscar", "verified_director", "checked")
		alike(t, p, status, body, http.StatusUnprocessableEntity)
		shows(t, p, "Rule T4:")
		same(t, g, twin, "organisation:globex#verified_director@user:oscar")
	})

	t.Run("X1_outsider_gets_no_page", func(t *testing.T) {
		p := g.signedIn("oscar").get("/console/organisations/globex")
		status, body := g.api("GET", "/v1/organisations/globex/members", "user:oscar", nil)
		alike(t, p, status, body, http.StatusForbidden)
		lacks(t, p, "Give a designation", "Take a designation away")
	})
}

// TestMembersOffersWhatEachMayDo: the members page offers each person the
// grants, revocations, removals and designations the API would let them
// make, and no other (S2, T2, T3, C7, O6); what it does not offer is
// refused as the API refuses it.
func TestMembersOffersWhatEachMayDo(t *testing.T) {
	g := mustGate(t)
	page := func(who string) page { return g.signedIn(who).get("/console/organisations/globex") }

	t.Run("T3_cis_processor_is_offered_nothing", func(t *testing.T) {
		p := page("pat")
		shows(t, p, "Globex Corporation: members", "Main contact")
		lacks(t, p, "Grant a role", "Give a designation", "Revoke", "Take away", "Remove", "Actions")
	})

	t.Run("T2_administrator_grants_only_cis_processor_and_billing_manager", func(t *testing.T) {
		p := page("alan")
		shows(t, p, "Grant a role")
		lacks(t, p, "Give a designation", "Take away")
		if !strings.Contains(p.Body, `<option value="cis_processor">CIS processor</option><option value="billing_manager">Billing manager</option></select>`) || strings.Contains(p.Body, `<option value="it_admin">`) {
			t.Errorf("alan is offered other roles than T2's:\n%s", p.Body)
		}
		for label, offered := range map[string]bool{
			"Revoke cis_processor from pat": true, "Remove pat from the team": true,
			"Revoke it_admin from tom": false, "Remove tom from the team": false,
			// dora holds designations, which only manage_members takes away with her (S2).
			"Remove dora from the team": false,
		} {
			if got := strings.Contains(p.Body, `aria-label="`+label+`"`); got != offered {
				t.Errorf("%q offered to alan: %v, want %v", label, got, offered)
			}
		}
		alan := g.signedIn("alan")
		alan.get("/console/organisations/globex")
		r := alan.post("/console/organisations/globex/members/dora/remove", confirm)
		status, body := g.api("DELETE", "/v1/organisations/globex/members/dora", "user:alan", nil)
		alike(t, r, status, body, http.StatusForbidden)
		shows(t, r, "Missing permission: manage_members")
		if !g.has("organisation:globex#cis_processor@user:dora") {
			t.Error("a refused removal changed the team")
		}
	})

	t.Run("C7_owner_is_not_offered_staff_designations", func(t *testing.T) {
		p := page("grace")
		shows(t, p, "Give a designation", "Reason (recorded in the audit trail)")
		if !strings.Contains(p.Body, `aria-label="Remove pat from the team"`) {
			t.Error("the owner is not offered pat's removal")
		}
		for _, d := range []string{"verified_director", "unavailable_contact"} {
			if strings.Contains(p.Body, "<option>"+d+"</option>") {
				t.Errorf("the owner is offered %s, which only provider staff give", d)
			}
		}
		if strings.Contains(p.Body, `aria-label="Take verified_director away from dora"`) || !strings.Contains(p.Body, `aria-label="Take director away from dora"`) {
			t.Error("the owner is offered to take away what only staff take away, or not what she may")
		}
		// O6: nobody is offered the owner's removal or revocation.
		if strings.Contains(p.Body, `aria-label="Remove grace from the team"`) || strings.Contains(p.Body, `aria-label="Revoke owner from grace"`) {
			t.Error("the owner is offered her own removal or revocation (O6)")
		}
	})

	t.Run("C7_staff_who_are_members_see_both", func(t *testing.T) {
		g.staff("grace")
		p := page("grace")
		shows(t, p, "Owner: user:grace", "Reason (recorded in the audit trail; required for verified_director and unavailable_contact)")
		for _, d := range []string{"main_contact", "verified_director"} {
			if !strings.Contains(p.Body, `<option value="`+d+`">`) {
				t.Errorf("grace, owner and staff, is not offered %s", d)
			}
		}
	})
}

// TestMembersOnAPhone: every cell of the members table names its column
// (data-label), which the phone layout shows beside it when the rows
// stack, and the stylesheet stacks them under 40rem; the browser test's
// phone screenshot shows it.
func TestMembersOnAPhone(t *testing.T) {
	g := mustGate(t)
	p := g.signedIn("grace").get("/console/organisations/globex")
	cells := regexp.MustCompile(`<td[^>]*>`).FindAllString(p.Body, -1)
	if len(cells) == 0 {
		t.Fatal("no table cells")
	}
	for _, c := range cells {
		if !strings.Contains(c, "data-label=") {
			t.Errorf("a cell names no column: %s", c)
		}
	}
	css := g.browser().get("/console/static/console.css")
	if !strings.Contains(css.Body, "table.rows td::before { content: attr(data-label)") || !strings.Contains(p.Body, `<table class="rows"`) {
		t.Error("the members table does not stack on a phone")
	}
}

// TestTakeAwayRecordsAReason: taking a designation away from a member's
// row records the reason typed beside the button, or, with none typed,
// that none was given and where, never nothing (X2); the API's reason is
// optional, so both are allowed as the API allows them.
func TestTakeAwayRecordsAReason(t *testing.T) {
	g := mustGate(t)
	grace := g.signedIn("grace")
	for _, c := range []struct{ user, designation, reason, recorded string }{
		{"fiona", "finance_contact", "moved to the audit team", "moved to the audit team"},
		{"tom", "technical_contact", "", "no reason given: Take away on the console's members page"},
	} {
		t.Run("X2_"+c.designation, func(t *testing.T) {
			p := grace.get("/console/organisations/globex")
			if !strings.Contains(p.Body, `Reason for taking `+c.designation+` away from `+c.user) {
				t.Fatalf("no reason field beside %s's %s", c.user, c.designation)
			}
			p = grace.post("/console/organisations/globex/members/"+c.user+"/designations/"+c.designation+"/unset", url.Values{"reason": {c.reason}})
			shows(t, p, "The designation was taken away.")
			ev := g.auditEvent("globex", func(ev map[string]any) bool {
				d, _ := ev["details"].(map[string]any)
				return ev["action"] == "unset_designation" && d["designation"] == c.designation
			})
			if ev["reason"] != c.recorded || ev["key"] != "console" {
				t.Errorf("the audit trail records %v, want reason %q by the console", ev, c.recorded)
			}
		})
	}
}
