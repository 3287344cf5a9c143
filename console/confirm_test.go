package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

// TestRefusalSaysWhoCouldGrant (X6): a 403 of the workflow that names a
// permission on an object says, besides the API's message, each way the
// reader could hold it, what is missing in words and who may grant it by
// name; to a reader off the team it explains nothing (X1).
func TestRefusalSaysWhoCouldGrant(t *testing.T) {
	g := mustGate(t)

	t.Run("X6_member_sees_who_may_grant", func(t *testing.T) {
		carla := g.signedIn("carla")
		carla.get("/console/organisations/brightcis")
		p := carla.post("/console/organisations/brightcis/roles", url.Values{"user": {"bill"}, "role": {"administrator"}})
		if p.Status != http.StatusForbidden {
			t.Fatalf("a cis_processor's grant answered %d", p.Status)
		}
		shows(t, p, `user:carla lacks permission "manage_members" on organisation:brightcis`, "Missing permission: manage_members", "Nothing was changed.",
			"carla may not manage members on organisation brightcis.",
			"Missing: user:carla is security admin of organisation:brightcis. Who may grant it: olivia.",
			"Missing: user:carla is owner of organisation:brightcis. Who may grant it: olivia.")
		lacks(t, p, "Who may grant it: manage_members", "Who may grant it: user:olivia")
	})

	t.Run("X1_outsider_sees_no_names", func(t *testing.T) {
		p := g.signedIn("olivia").get("/console/organisations/acme/security-admins")
		if p.Status != http.StatusForbidden {
			t.Fatalf("an outsider's page answered %d", p.Status)
		}
		// X1: off the team, the refusal explains nothing of acme's.
		shows(t, p, "Missing permission: member", "Nothing was changed.")
		lacks(t, p, "oscar", "sam", "alex", "Missing: user:olivia is")
	})

	t.Run("X1_outsider_learns_nothing_of_an_object", func(t *testing.T) {
		// c3 is brightcis's admin-only contractor (K2); oscar is acme's owner.
		oscar := g.signedIn("oscar")
		oscar.get("/console/")
		p := oscar.post("/console/contractors/c3/rename", url.Values{"name": {"Mine now"}})
		if p.Status != http.StatusForbidden {
			t.Fatalf("an outsider's rename of c3 answered %d", p.Status)
		}
		shows(t, p, "Nothing was changed.")
		lacks(t, p, "K2", "admin-only", "olivia", "Missing:")
	})
}

// confirmFormRE and hiddenRE read a confirmation page's form.
var (
	confirmFormRE = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)" class="stack" aria-label="Confirm">(.*?)</form>`)
	hiddenRE      = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	reasonRE      = regexp.MustCompile(`<input id="confirm-reason" name="reason" value="([^"]*)"`)
)

// confirmation returns the action and the fields of p's confirmation
// form, as pressing its button sends them.
func confirmation(t *testing.T, p page) (string, url.Values) {
	t.Helper()
	m := confirmFormRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("%s (%d) has no confirmation form:\n%s", p.URL, p.Status, p.Body)
	}
	form := url.Values{}
	for _, f := range hiddenRE.FindAllStringSubmatch(m[2], -1) {
		form.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	// The reason is asked again, filled in with the form's.
	if f := reasonRE.FindStringSubmatch(m[2]); f != nil && f[1] != "" {
		form.Set("reason", html.UnescapeString(f[1]))
	}
	return html.UnescapeString(m[1]), form
}

// TestConfirmations (X7): removing a member, revoking a role,
// transferring ownership, deleting a contractor and delegating a
// security admin first show the dry run's effect and write nothing; the
// confirmation's form, sent as it is, makes the change. A refused dry run
// is the real write's refusal. Each case runs on a Gatehouse of its own.
func TestConfirmations(t *testing.T) {
	for _, c := range []struct {
		name, who, page, path string
		form                  url.Values
		// shown are on the confirmation; before holds until confirmed,
		// after once confirmed (when not empty).
		shown         []string
		before, after string
		done          string
	}{
		{
			name: "T1_remove_member", who: "olivia", page: "/console/organisations/brightcis",
			path:   "/console/organisations/brightcis/members/carla/remove",
			shown:  []string{"Removing carla: carla loses view on contractors c1 and c2; member on organisation brightcis.", "Removed: user:carla is cis processor of organisation:brightcis"},
			before: "organisation:brightcis#cis_processor@user:carla", done: "carla was removed from brightcis.",
		},
		{
			name: "T2_revoke_role", who: "olivia", page: "/console/organisations/brightcis",
			path:   "/console/organisations/brightcis/members/bill/roles/billing_manager/revoke",
			shown:  []string{"Revoking billing_manager from bill: bill loses", "view on invoices inv1 and inv2", "Removed: user:bill is billing manager of organisation:brightcis"},
			before: "organisation:brightcis#billing_manager@user:bill", done: "bill is no longer billing_manager of brightcis.",
		},
		{
			name: "O4_transfer_ownership", who: "olivia", page: "/console/organisations/brightcis",
			path: "/console/organisations/brightcis/transfer-ownership", form: url.Values{"to": {"adam"}, "reason": {"retiring"}},
			shown:  []string{"Transferring ownership of brightcis to adam:", "adam gains", "olivia loses", "delete, transfer ownership", "Added: user:adam is owner of organisation:brightcis"},
			before: "organisation:brightcis#owner@user:olivia", after: "organisation:brightcis#owner@user:adam", done: "Ownership of brightcis was transferred to adam",
		},
		{
			name: "K1_delete_contractor", who: "olivia", page: "/console/organisations/brightcis/contractors",
			path:   "/console/organisations/brightcis/contractors/c1/delete",
			shown:  []string{"Deleting contractor c1:", "olivia loses view and edit on contractor c1", "adam loses view and edit on contractor c1", "Removed: contractor:c1 belongs to organisation:brightcis"},
			before: "contractor:c1#organisation@organisation:brightcis", done: "Contractor c1 was deleted from brightcis.",
		},
		{
			name: "S3_delegate_security_admin", who: "sam", page: "/console/organisations/acme/security-admins",
			path: "/console/organisations/acme/security-admins/security_admin", form: url.Values{"user": {"ian"}, "previous_becomes_alternate": {"true"}, "reason": {"handover"}},
			shown:  []string{"Making ian security admin of acme:", "ian gains", "alex loses", "Added: user:ian is security admin of organisation:acme", "Added: user:sam is alternate security admin of organisation:acme"},
			before: "organisation:acme#security_admin@user:sam", after: "organisation:acme#security_admin@user:ian", done: "ian was made security admin of acme.",
		},
		{
			name: "S5_grant_alternate_on_the_members_page", who: "olivia", page: "/console/organisations/brightcis",
			path: "/console/organisations/brightcis/roles", form: url.Values{"user": {"adam"}, "role": {"alternate_security_admin"}},
			shown:  []string{"Making adam alternate security admin of brightcis: adam gains", "Added: user:adam is alternate security admin of organisation:brightcis"},
			before: "organisation:brightcis#administrator@user:adam", after: "organisation:brightcis#alternate_security_admin@user:adam", done: "adam was made alternate security admin of brightcis.",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := mustGate(t)
			b := g.signedIn(c.who)
			b.get(c.page)
			p := b.post(c.path, c.form)
			if p.Status != http.StatusOK {
				t.Fatalf("the first post answered %d:\n%s", p.Status, p.Body)
			}
			shows(t, p, c.shown...)
			shows(t, p, "nothing has been changed yet")
			lacks(t, p, "Nothing was changed.")
			if !g.has(c.before) || (c.after != "" && g.has(c.after)) {
				t.Fatal("the dry run changed the relationships")
			}
			action, form := confirmation(t, p)
			if action != c.path || form.Get("confirm") != "1" || form.Get("csrf") == "" {
				t.Fatalf("the confirmation posts %v to %s", form, action)
			}
			for k := range c.form {
				if form.Get(k) != c.form.Get(k) {
					t.Errorf("the confirmation carries %s=%q, the form %q", k, form.Get(k), c.form.Get(k))
				}
			}
			shows(t, b.postRaw(action, form), c.done)
			if c.after != "" && !g.has(c.after) {
				t.Errorf("%s is not there once confirmed", c.after)
			}
			if c.after == "" && g.has(c.before) {
				t.Errorf("%s is still there once confirmed", c.before)
			}
		})
	}

	g := mustGate(t)
	t.Run("X7_refused_dry_run_is_the_refusal", func(t *testing.T) {
		carla := g.signedIn("carla")
		carla.get("/console/organisations/brightcis")
		p := carla.post("/console/organisations/brightcis/members/olivia/remove", nil)
		status, body := g.api("DELETE", "/v1/organisations/brightcis/members/olivia", "user:carla", nil)
		alike(t, p, status, body, http.StatusForbidden)
		lacks(t, p, "nothing has been changed yet", "Confirm")
		if !g.has("organisation:brightcis#owner@user:olivia") {
			t.Error("a refused removal changed the team")
		}
	})

	t.Run("one_click_for_the_rest", func(t *testing.T) {
		olivia := g.signedIn("olivia")
		olivia.get("/console/organisations/brightcis")
		shows(t, olivia.post("/console/organisations/brightcis/roles", url.Values{"user": {"bill"}, "role": {"finance_admin"}}), "bill was made finance admin of brightcis.")
		if !g.has("organisation:brightcis#finance_admin@user:bill") {
			t.Error("a grant of finance_admin waited for a confirmation")
		}
	})
}

// TestPersonPage (issue 21; issue 22 item 6): a member's page lists their
// roles and designations in plain words, what they can reach, each
// permission with the relationships that grant it, and the changes they
// made lately as the audit page's sentences; the person, holders of view_reports and provider
// staff open it, the members table links it for them, and anyone else
// is refused naming view_reports.
func TestPersonPage(t *testing.T) {
	g := mustGate(t)
	olivia := g.signedIn("olivia")
	olivia.get("/console/organisations/brightcis")
	shows(t, olivia.post("/console/organisations/brightcis/roles", url.Values{"user": {"bill"}, "role": {"finance_admin"}, "reason": {"person page"}}), "bill was made finance admin of brightcis.")
	g.auditEvent("brightcis", func(ev map[string]any) bool { return ev["reason"] == "person page" })

	t.Run("view_reports_holder_sees_a_member", func(t *testing.T) {
		p := olivia.get("/console/organisations/brightcis/members/carla")
		if p.Status != http.StatusOK {
			t.Fatalf("carla's page: %d\n%s", p.Status, p.Body)
		}
		shows(t, p, "Roles CIS processor Designations none", "What carla can reach in brightcis", "view contractor:c1", "view contractor:c2",
			"user:carla is cis processor of organisation:brightcis", "organisation:brightcis#cis_processor@user:carla")
		lacks(t, p, "contractor:c3", "view_billing")
	})

	t.Run("recent_changes", func(t *testing.T) {
		p := g.signedIn("adam").get("/console/organisations/brightcis/members/olivia")
		shows(t, p, "Roles Owner", "Recent changes by olivia", "olivia made bill Finance admin.", "person page", "organisation:brightcis#finance_admin@user:bill")
	})

	t.Run("a_person_sees_themselves_only", func(t *testing.T) {
		carla := g.signedIn("carla")
		p := carla.get("/console/organisations/brightcis/members/carla")
		if p.Status != http.StatusOK {
			t.Fatalf("carla's own page: %d", p.Status)
		}
		p = carla.get("/console/organisations/brightcis/members/bill")
		status, body := g.api("GET", "/v1/organisations/brightcis/members/bill/access", "user:carla", nil)
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Missing permission: view_reports")
	})

	t.Run("linked_from_the_members_table", func(t *testing.T) {
		if p := olivia.get("/console/organisations/brightcis"); !regexp.MustCompile(`href="/console/organisations/brightcis/members/carla"`).MatchString(p.Body) {
			t.Errorf("olivia's members table does not link carla's page:\n%s", p.Body)
		}
		p := g.signedIn("carla").get("/console/organisations/brightcis")
		if !regexp.MustCompile(`href="/console/organisations/brightcis/members/carla"`).MatchString(p.Body) ||
			regexp.MustCompile(`href="/console/organisations/brightcis/members/bill"`).MatchString(p.Body) {
			t.Errorf("carla's members table links the wrong pages:\n%s", p.Body)
		}
	})
}
