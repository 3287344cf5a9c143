package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The browser tests of issue 22, each named after the problem it proves
// gone: the console as an administrator who never read the docs meets it.

// TestBrowserSafeByDefault (issue 22, item 2, problems 1 and 2): a grant
// picks a person from the team, a typo adds nobody until its id is
// confirmed as a new person, the role offered first is the least powerful,
// and a removal is confirmed after its dry run with a reason that the
// audit trail shows, and says who was removed from where.
func TestBrowserSafeByDefault(t *testing.T) {
	c := mustChrome(t, devSignIn)

	t.Run("typo_in_a_grant_adds_nobody_unconfirmed", func(t *testing.T) {
		g := mustGate(t)
		olivia := c.as(t, g, "olivia")
		olivia.click("BrightCIS Builders")
		grant := olivia.form("Grant a role")
		if role := olivia.value(grant.field("Role")); role != "cis_processor" {
			t.Errorf("the grant form offers %q first, not the least powerful role", role)
		}
		people := olivia.values(`#team option`)
		if !slices.Contains(people, "carla") || !slices.Contains(people, "adam") || slices.Contains(people, "pat") {
			t.Errorf("the person field offers %v, not brightcis's team", people)
		}

		grant.fill("Person (type to search the team)", "carlaa")
		if status := grant.submit("Grant"); status != http.StatusOK {
			t.Errorf("the grant to carlaa answered %d", status)
		}
		olivia.shows("carlaa is not on the team of brightcis: confirming adds a new person with the id “carlaa”", "nothing has been changed yet")
		if g.has("organisation:brightcis#cis_processor@user:carlaa") {
			t.Fatal("a typo added carlaa without a confirmation")
		}
		olivia.click("Cancel")
		if g.has("organisation:brightcis#cis_processor@user:carlaa") {
			t.Fatal("cancelling added carlaa")
		}

		grant = olivia.form("Grant a role")
		grant.fill("Person (type to search the team)", "carla")
		grant.choose("Role", "billing_manager")
		grant.fill("Reason (recorded in the audit trail)", "runs the invoices now")
		if status := grant.submit("Grant"); status != http.StatusOK {
			t.Errorf("the grant to carla answered %d", status)
		}
		olivia.shows("carla was made billing manager of brightcis.")
		if !g.has("organisation:brightcis#billing_manager@user:carla") {
			t.Error("the grant to carla, a member, did not happen")
		}

		// A new person is added once their id is confirmed.
		grant = olivia.form("Grant a role")
		grant.fill("Person (type to search the team)", "nina")
		grant.submit("Grant")
		olivia.form("Confirm").fill("Reason (recorded in the audit trail)", "nina joins in May")
		if status := olivia.form("Confirm").submit("Add nina as a new person"); status != http.StatusOK {
			t.Errorf("confirming nina answered %d", status)
		}
		olivia.shows("nina was made CIS processor of brightcis.")
		if !g.has("organisation:brightcis#cis_processor@user:nina") {
			t.Error("the confirmed new person was not added")
		}
	})

	t.Run("removal_confirmed_with_a_reason_the_trail_shows", func(t *testing.T) {
		g := mustGate(t)
		olivia := c.as(t, g, "olivia")
		olivia.click("BrightCIS Builders")
		if status := olivia.click("Remove carla from the team"); status != http.StatusOK {
			t.Errorf("Remove answered %d", status)
		}
		olivia.shows("Removing carla: carla loses view on contractors c1 and c2", "nothing has been changed yet")
		if !g.has("organisation:brightcis#cis_processor@user:carla") {
			t.Fatal("the first press removed carla")
		}
		confirm := olivia.form("Confirm")
		confirm.fill("Reason (recorded in the audit trail)", "left the company")
		if status := confirm.submit("Confirm: Removing carla"); status != http.StatusOK {
			t.Errorf("confirming the removal answered %d", status)
		}
		olivia.shows("carla was removed from brightcis.")
		if g.has("organisation:brightcis#cis_processor@user:carla") {
			t.Error("carla is still on the team")
		}
		g.auditEvent("brightcis", func(ev map[string]any) bool {
			return ev["action"] == "remove_member" && ev["reason"] == "left the company"
		})
		olivia.click("Audit trail")
		olivia.shows("left the company")
	})
}

// value returns the value of the form field sel.
func (p *tab) value(sel chromedp.Search) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(sel))
	if err != nil {
		p.fatalf("reading the value of %s: %v", sel, err)
	}
	return v
}

// values returns the value of every element the CSS selector css
// matches (the options of a datalist), in order.
func (p *tab) values(css string) []string {
	p.t.Helper()
	return p.eval(`Array.from(document.querySelectorAll(` + jsString(css) + `), e => e.value)`)
}

// eval returns the string array the JavaScript expression js evaluates to.
func (p *tab) eval(js string) []string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
	if err != nil {
		p.fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// TestBrowserOnlyWhatOneMayDo (issue 22, item 3, problem 3): a change
// request's page offers Authorise and Reject only to those the workflow
// says it awaits. pat, who filed globex-cr-pending, sees neither (the
// API would refuse him, lacking authorise_main) but may withdraw it; mia,
// its main contact, sees both.
func TestBrowserOnlyWhatOneMayDo(t *testing.T) {
	c := mustChrome(t, devSignIn)
	g := mustGate(t)
	pat := c.as(t, g, "pat")
	pat.click("Globex Corporation")
	pat.click("Change requests")
	pat.click("globex-cr-pending")
	if bs := pat.buttons(); slices.Contains(bs, "Authorise") || slices.Contains(bs, "Reject") || !slices.Contains(bs, "Withdraw") {
		t.Errorf("pat, its requester, is offered %v", bs)
	}
	pat.shows("Waiting for mia, tom to authorise or reject it.")
	if status, _ := g.api("POST", "/v1/change-requests/globex-cr-pending/authorise", "user:pat", map[string]any{}); status != http.StatusForbidden {
		t.Errorf("the API lets pat authorise (%d): the page should offer it", status)
	}

	mia := c.as(t, g, "mia")
	mia.open("/console/change-requests/globex-cr-pending")
	if bs := mia.buttons(); !slices.Contains(bs, "Authorise") || !slices.Contains(bs, "Reject") || slices.Contains(bs, "Withdraw") {
		t.Errorf("mia, its main contact, is offered %v", bs)
	}
}

// buttons returns the text of every button in the page's main part.
func (p *tab) buttons() []string {
	p.t.Helper()
	return p.eval(`Array.from(document.querySelectorAll('main button'), b => b.textContent.trim())`)
}

// TestBrowserErrorsThatHelp (issue 22, item 4, problem 4): a refused form
// comes back on its own page, with what was typed, the refused field
// marked, the organisation's menu and a sentence in plain words; and
// authorising a request someone already authorised says who did, not the
// rule of who authorises (C4).
func TestBrowserErrorsThatHelp(t *testing.T) {
	c := mustChrome(t, devSignIn)
	g := mustGate(t)

	t.Run("invalid_field_keeps_the_input_and_the_menu", func(t *testing.T) {
		pat := c.as(t, g, "pat")
		pat.click("Globex Corporation")
		pat.click("Change requests")
		file := pat.form("File a change request")
		file.fill("Request id (optional)", "cr pricing 2")
		file.fill("Target (optional, e.g. page:about)", "share:finance")
		if status := file.submit("File"); status != http.StatusBadRequest {
			t.Errorf("an id with spaces answered %d", status)
		}
		if h := pat.title(); h != "Change requests" {
			t.Errorf("the refusal is on a page headed %q, not the form's own", h)
		}
		pat.shows("Not done: Please check the field marked below (id).", `"cr pricing 2" may contain only letters`)
		file = pat.form("File a change request")
		if v := pat.value(file.field("Target (optional, e.g. page:about)")); v != "share:finance" {
			t.Errorf("the target typed is lost: %q", v)
		}
		if v := pat.value(file.field("Request id (optional)")); v != "cr pricing 2" {
			t.Errorf("the id typed is lost: %q", v)
		}
		if marked := pat.eval(`Array.from(document.querySelectorAll('[aria-invalid="true"]'), e => e.name)`); !slices.Equal(marked, []string{"id"}) {
			t.Errorf("the fields marked are %v, want the id", marked)
		}
		if menu := pat.read("the menu", `//nav[@aria-label="Organisation"]`); !strings.Contains(menu, "Members") || !strings.Contains(menu, "Change requests") {
			t.Errorf("the organisation's menu is gone: %q", menu)
		}
	})

	t.Run("C4_already_authorised_says_by_whom", func(t *testing.T) {
		mia := c.as(t, g, "mia")
		mia.open("/console/change-requests/globex-cr-pending")
		// tom, the other main contact, authorises it meanwhile.
		if status, body := g.api("POST", "/v1/change-requests/globex-cr-pending/authorise", "user:tom", map[string]any{}); status != http.StatusOK {
			t.Fatalf("tom's authorisation: %d %v", status, body)
		}
		mia.form("Authorise").submit("Authorise")
		mia.shows("Not done: Already authorised by tom: nothing is left to authorise.", "Status Authorised")
		mia.lacks("Rule C4")
		if h := mia.title(); h != "Change request globex-cr-pending" {
			t.Errorf("the refusal is on a page headed %q", h)
		}
	})
}

// TestBrowserSignposts (issue 22, items 6 and 7, problems 7 and 8): every
// page of an organisation names it, its menu marks the page the reader is
// on and counts what awaits them; roles, designations, tiers and statuses
// read in plain words, their API names and rules in a tooltip; and on a
// phone every button of the members table is a tap target of at least
// 44 by 44 px.
func TestBrowserSignposts(t *testing.T) {
	c := mustChrome(t, devSignIn)
	g := mustGate(t)
	mia := c.as(t, g, "mia")
	mia.click("Globex Corporation")
	if cur := mia.current(); cur != "Members" {
		t.Errorf("the menu marks %q on the members page", cur)
	}
	menu := mia.read("the menu", `//nav[@aria-label="Organisation"]`)
	if !strings.HasPrefix(menu, "Globex Corporation Members") || !strings.Contains(menu, "Awaiting me 1") {
		t.Errorf("the menu reads %q: want the organisation's name first and one request awaiting mia", menu)
	}
	if row := mia.row("mia"); !strings.Contains(row, "Main contact") || strings.Contains(row, "main_contact") {
		t.Errorf("mia's row reads %q, not in plain words", row)
	}
	if tip := mia.eval(`Array.from(document.querySelectorAll('table.rows .word'), e => e.title)`); !slices.Contains(tip, "main_contact (rule C4)") {
		t.Errorf("the tooltips are %v", tip)
	}

	mia.click("Awaiting me")
	if cur := mia.current(); cur != "Awaiting me" {
		t.Errorf("the menu marks %q on the awaiting page", cur)
	}
	mia.shows("globex-cr-pending", "Waiting for authorisation")
	mia.click("globex-cr-pending")
	if cur := mia.current(); cur != "Change requests" {
		t.Errorf("the menu marks %q on a change request", cur)
	}
	mia.shows("Status Waiting for authorisation", "Who must authorise Main or technical contact")
	mia.lacks("Tier", "main_contact")
	if menu := mia.read("the menu", `//nav[@aria-label="Organisation"]`); !strings.HasPrefix(menu, "Globex Corporation") {
		t.Errorf("a change request's page does not name its organisation: %q", menu)
	}

	grace := c.as(t, g, "grace")
	phone := grace.phone("/console/organisations/globex")
	var sizes []struct {
		Name string
		W, H float64
	}
	phone.evalInto(`Array.from(document.querySelectorAll('table.rows button'), b => { const r = b.getBoundingClientRect(); return {name: b.getAttribute('aria-label'), w: r.width, h: r.height} })`, &sizes)
	if len(sizes) < 7 {
		t.Fatalf("the members table has %d buttons for grace", len(sizes))
	}
	for _, s := range sizes {
		if s.W < 44 || s.H < 44 {
			t.Errorf("%q is %.0f x %.0f px on a phone, under 44 x 44", s.Name, s.W, s.H)
		}
	}
	phone.shot("members-phone-targets")
}

// TestBrowserFilingNeedsNoID (issue 22 item 6, problem 7: "change
// requests with no title or description (the requester must invent an
// id)"): pat files a request with a title and a description and leaves
// the id blank; the workflow makes one, the success names the request,
// its page is headed by the title and shows the description, and the
// list links it by its title.
func TestBrowserFilingNeedsNoID(t *testing.T) {
	c := mustChrome(t, devSignIn)
	g := mustGate(t)
	pat := c.as(t, g, "pat")
	pat.click("Globex Corporation")
	pat.click("Change requests")
	file := pat.form("File a change request")
	file.fill("Title (optional)", "New pricing page")
	file.write("Description (optional)", "Two tiers instead of three.")
	file.choose("Kind", "public_facing")
	file.fill("Target (optional, e.g. page:about)", "page:pricing")
	if status := file.submit("File"); status != http.StatusOK {
		t.Fatalf("filing without an id answered %d", status)
	}
	if h := pat.title(); h != "New pricing page" {
		t.Errorf("the request's page is headed %q, not its title", h)
	}
	said := pat.read("the confirmation", `//p[@role="status"]`)
	m := regexp.MustCompile(`^The change request was filed\. “New pricing page” has the id (cr-[a-z2-7]{13})\.$`).FindStringSubmatch(said)
	if m == nil {
		t.Fatalf("the confirmation reads %q", said)
	}
	pat.shows("Two tiers instead of three.", "Request id "+m[1], "Withdraw")
	if _, body := g.api("GET", "/v1/change-requests/"+m[1], "user:pat", nil); body["title"] != "New pricing page" || body["description"] != "Two tiers instead of three." {
		t.Errorf("the API reads the request as %v", body)
	}
	pat.click("Change requests")
	pat.click("New pricing page")
	if h := pat.title(); h != "New pricing page" {
		t.Errorf("the list's link by title opens a page headed %q", h)
	}
}

// TestBrowserContractorPage (issue 22 item 6, problem 7: "no page per
// contractor"): olivia opens an admin-only contractor from the list and
// reads what it is and who may see it and why (K2); carla, a CIS
// processor, finds no link to it and is refused it by address.
func TestBrowserContractorPage(t *testing.T) {
	c := mustChrome(t, devSignIn)
	g := mustGate(t)
	olivia := c.as(t, g, "olivia")
	olivia.click("BrightCIS Builders")
	olivia.click("Contractors")
	if status := olivia.click("Sentinel Security (admin-only)"); status != http.StatusOK {
		t.Fatalf("the contractor's page answered %d", status)
	}
	if h := olivia.title(); h != "Sentinel Security (admin-only)" {
		t.Errorf("the contractor's page is headed %q", h)
	}
	if cur := olivia.current(); cur != "Contractors" {
		t.Errorf("the menu marks %q on a contractor's page", cur)
	}
	olivia.shows("Admin-only Yes: only the owner, the security admins and administrators see it", "Who may view or edit it, and why", "user:adam is administrator of organisation:brightcis")
	olivia.lacks("carla")

	carla := c.as(t, g, "carla")
	carla.click("BrightCIS Builders")
	carla.click("Contractors")
	carla.lacks("Sentinel Security")
	carla.open("/console/contractors/c3")
	carla.shows("Missing permission: view")
	carla.lacks("Sentinel Security")
}

// current returns the label of the menu's link marked as the current page.
func (p *tab) current() string {
	p.t.Helper()
	cur := p.eval(`Array.from(document.querySelectorAll('nav.org a[aria-current="page"]'), a => a.textContent.trim())`)
	if len(cur) != 1 {
		p.t.Errorf("the menu marks %d links as the current page: %v", len(cur), cur)
		return ""
	}
	return cur[0]
}

// evalInto evaluates the JavaScript expression js into out.
func (p *tab) evalInto(js string, out any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js))
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		p.fatalf("evaluating %s: %v", js, err)
	}
}

// TestBrowserAuditTrailReads (issue 22, item 5, problem 6): the audit
// trail says each action as a sentence, with its reason and links to the
// people it names, one row for one click (an authorisation that settles
// the request it completed, one write), and shows no raw relationship
// or base64 label until asked what changed.
func TestBrowserAuditTrailReads(t *testing.T) {
	c := mustChrome(t, devSignIn)
	g := mustGate(t)
	if status, body := g.api("POST", "/v1/organisations/brightcis/transfer-ownership", "user:olivia", map[string]any{"to": "user:adam", "reason": "Olivia leaves at month end"}); status != http.StatusOK {
		t.Fatalf("transfer: %d %v", status, body)
	}
	if status, body := g.api("PATCH", "/v1/contractors/c1", "user:adam", map[string]any{"name": "Northwind Carpentry"}); status != http.StatusOK {
		t.Fatalf("rename: %d %v", status, body)
	}
	g.auditEvent("brightcis", func(ev map[string]any) bool { return ev["action"] == "update_contractor" })

	adam := c.as(t, g, "adam")
	adam.click("BrightCIS Builders")
	adam.click("Audit trail")
	adam.shows("olivia transferred ownership of brightcis to adam. “Olivia leaves at month end”", "adam renamed contractor c1 to Northwind Carpentry.")
	adam.lacks("touch organisation:brightcis", "label:eyJ")
	adam.click("olivia")
	if h := adam.title(); !strings.Contains(h, "olivia") {
		t.Errorf("the trail's link to olivia leads to %q", h)
	}

	if status, body := g.api("POST", "/v1/change-requests/globex-cr-pending/authorise", "user:mia", map[string]any{}); status != http.StatusOK {
		t.Fatalf("authorise: %d %v", status, body)
	}
	g.auditEvent("globex", func(ev map[string]any) bool {
		d, _ := ev["details"].(map[string]any)
		return ev["action"] == "authorise_change_request" && d["changeRequest"] == "globex-cr-pending" && d["settled"] == "true"
	})
	grace := c.as(t, g, "grace")
	grace.open("/console/organisations/globex/audit")
	rows := grace.eval(`Array.from(document.querySelectorAll('.trail > li .sentence'), e => e.textContent.trim())`)
	var about []string
	for _, r := range rows {
		if strings.Contains(r, "globex-cr-pending") && !strings.Contains(r, "loaded the demo data") {
			about = append(about, r)
		}
	}
	if !slices.Equal(about, []string{"mia authorised change request globex-cr-pending; it needs nothing more."}) {
		t.Errorf("the authorisation reads as %q, want one row", about)
	}
}

// TestRefusedFormsComeBack (issue 22, item 4): every form that names
// things comes back on its own page when refused, as the API refuses it,
// with what was typed and the refused field marked.
func TestRefusedFormsComeBack(t *testing.T) {
	g := mustGate(t)
	for _, c := range []struct {
		name, who, page, path string
		form                  url.Values
		title                 string
		status                int
		kept                  []string
		marked                string
	}{
		{
			name: "R3_invoice_amount", who: "olivia", page: "/console/organisations/brightcis/invoices",
			path: "/console/organisations/brightcis/invoices", form: url.Values{"id": {"inv9"}, "amount": {"12,50"}, "currency": {"EUR"}},
			title: "BrightCIS Builders: invoices", status: http.StatusBadRequest, kept: []string{`value="inv9"`, `value="12,50"`, `value="EUR"`}, marked: "amount",
		},
		{
			name: "C6_exception_in_the_past", who: "mia", page: "/console/organisations/globex/exceptions",
			path: "/console/organisations/globex/exceptions", form: url.Values{"user": {"pat"}, "kind": {"public_facing"}, "target": {"page:about"}, "expires_at": {"2001-01-01"}},
			title: "Exceptions of globex", status: http.StatusBadRequest, kept: []string{`value="pat"`, `value="page:about"`, `<option selected>public_facing</option>`}, marked: "expires_at",
		},
		{
			name: "T4_designating_an_outsider", who: "grace", page: "/console/organisations/globex",
			path: "/console/organisations/globex/designations", form: url.Values{"user": {"oscar"}, "designation": {"finance_contact"}, "reason": {"books"}},
			title: "Globex Corporation: members", kept: []string{`value="oscar"`, `value="books"`, `<option value="finance_contact" selected>`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := g.signedIn(c.who)
			b.get(c.page)
			p := b.post(c.path, c.form)
			if c.status != 0 && p.Status != c.status || p.Status < 400 {
				t.Errorf("answered %d, want %d", p.Status, c.status)
			}
			shows(t, p, c.title, "Not done:")
			for _, k := range c.kept {
				if !strings.Contains(p.Body, k) {
					t.Errorf("the page does not keep %s", k)
				}
			}
			if c.marked != "" && !regexp.MustCompile(`name="`+c.marked+`"[^>]*aria-invalid="true"`).MatchString(p.Body) {
				t.Errorf("the field %s is not marked", c.marked)
			}
		})
	}
}
