package console_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/console"
	"github.com/gatehouse-authz/gatehouse/console/oidctest"
)

// TestBrowser walks the console in a headless Chromium, signed in through
// the development sign-in: each walk is a rule of the seeds done the way a
// person does it, by clicking, filling labelled fields and reading the
// page, with the data checked through the store or the API after each
// step. With $GATEHOUSE_SCREENSHOTS set it saves a full-page PNG of each
// main page there.
func TestBrowser(t *testing.T) {
	c := mustChrome(t, devSignIn)
	for _, w := range walks {
		t.Run(w.name, func(t *testing.T) { w.walk(t, c, mustGate(t)) })
	}
}

// TestBrowserOIDC (issue 12) runs the same walks with everyone signing in
// through OpenID Connect, at a real provider started in the test (zitadel's
// example provider, see oidctest) whose users are the demo users, on a
// console with the development sign-in off.
func TestBrowserOIDC(t *testing.T) {
	c := mustChrome(t, oidcSignIn)
	demo, err := console.DemoUsers()
	if err != nil {
		t.Fatal(err)
	}
	var users []oidctest.User
	for _, u := range demo {
		users = append(users, oidctest.User{Subject: u.ID, Username: u.ID, Email: u.ID + "@example.com"})
	}
	p := oidctest.MustProvider(t, users...)
	for _, w := range walks {
		t.Run(w.name, func(t *testing.T) { w.walk(t, c, mustGate(t, withOIDC(p, ""), withoutDevLogin)) })
	}
}

// walks are the browser walks. Each takes a browser, which signs people
// in its own way, and a fresh Gatehouse with the demo data, so a test of
// another sign-in runs them all with its own browser and Gatehouse.
var walks = []struct {
	name string
	walk func(t *testing.T, c *chrome, g *gate)
}{
	{"O4_owner_transfers_ownership", walkOwnershipTransfer},
	{"C8_change_request_filed_escalated_and_authorised", walkChangeRequest},
	{"K2_admin_only_contractor", walkAdminOnly},
}

// walkOwnershipTransfer: seed 004's ownership transfer. olivia, the owner
// of brightcis, is refused a transfer to an outsider (O4) with nothing
// changed, then transfers to adam: brightcis has exactly one owner at each
// step (O2), olivia stays on as an administrator (O4), and only adam is
// offered the transfer form afterwards; the transfer is confirmed after
// its dry run shows who gains and loses what.
func walkOwnershipTransfer(t *testing.T, c *chrome, g *gate) {
	olivia := c.as(t, g, "olivia")
	olivia.shows("BrightCIS Builders", "organisation:brightcis")
	olivia.shot("organisations")
	olivia.click("BrightCIS Builders")
	if h := olivia.title(); h != "BrightCIS Builders: members" {
		t.Fatalf("the organisation's link leads to %q", h)
	}
	olivia.shows("Owner: user:olivia", "Transfer ownership")
	olivia.shot("members")
	olivia.phoneShot("members-phone", "/console/organisations/brightcis")
	wantOwners(t, g, "olivia")

	transfer := olivia.form("Transfer ownership")
	transfer.fill("New owner's user id", "oscar")
	transfer.fill("Reason (recorded in the audit trail)", "to the wrong person")
	if status := transfer.submit("Transfer ownership"); status != http.StatusUnprocessableEntity {
		t.Errorf("a transfer to an outsider answered %d", status)
	}
	olivia.shows("Not done: One of the organisation's rules does not allow this.", "(refused, 422)", "Rule O4: Only the owner can transfer ownership, and only to a current team member.", "Nothing was changed.")
	wantOwners(t, g, "olivia")

	olivia.click("Members")
	transfer = olivia.form("Transfer ownership")
	transfer.fill("New owner's user id", "adam")
	transfer.fill("Reason (recorded in the audit trail)", "olivia retires")
	if status := transfer.submit("Transfer ownership"); status != http.StatusOK {
		t.Errorf("the transfer to adam answered %d", status)
	}
	// The first press only tries it (X7): the confirmation says what
	// changes, and nothing is written until it is confirmed.
	olivia.shows("Transferring ownership of brightcis to adam: adam gains", "olivia loses", "nothing has been changed yet")
	wantOwners(t, g, "olivia")
	if status := olivia.form("Confirm").submit("Confirm: Transferring ownership of brightcis to adam"); status != http.StatusOK {
		t.Errorf("confirming the transfer to adam answered %d", status)
	}
	olivia.shows("Ownership of brightcis was transferred to adam; you stay on the team as an administrator.", "Owner: user:adam")
	olivia.lacks("New owner's user id")
	if r := olivia.row("olivia"); !strings.Contains(r, "Administrator") || strings.Contains(r, "Owner") {
		t.Errorf("olivia's row after the transfer: %q", r)
	}
	wantOwners(t, g, "adam")
	if !g.has("organisation:brightcis#administrator@user:olivia") {
		t.Error("olivia is not an administrator after the transfer (O4)")
	}
	if _, body := g.api("GET", "/v1/organisations/brightcis", "user:adam", nil); body["owner"] != "user:adam" {
		t.Errorf("the API reads brightcis as %v", body)
	}

	adam := c.as(t, g, "adam")
	adam.click("BrightCIS Builders")
	adam.shows("Owner: user:adam", "Transfer ownership", "New owner's user id")
}

// wantOwners fails the test unless org brightcis has exactly the one
// owner user:<want> (O2).
func wantOwners(t *testing.T, g *gate, want string) {
	t.Helper()
	rels, _, err := g.Store.ReadRelationships(t.Context(), gatehouse.Filter{
		ResourceType: gatehouse.TypeOrganisation, ResourceID: "brightcis", Relation: gatehouse.RoleOwner,
	}, gatehouse.Consistency{FullyConsistent: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 || rels[0].Subject != gatehouse.User(want) {
		t.Errorf("brightcis's owners are %v, want exactly user:%s (O2)", rels, want)
	}
}

// walkChangeRequest: seed 003's change authorisation, from filing through
// escalation to authorisation. pat, a team member, files a non-standard
// request (C1), which waits for the main and technical contacts, mia and
// tom (C4). grace, the owner, takes their contact designations away, so
// it escalates to the alternate contact, alan (C8), and leaves mia's
// "awaiting me"; alan finds it awaiting him and authorises it.
func walkChangeRequest(t *testing.T, c *chrome, g *gate) {
	pat := c.as(t, g, "pat")
	pat.click("Globex Corporation")
	pat.click("Change requests")
	file := pat.form("File a change request")
	file.fill("Request id (optional)", "cr-browser")
	file.choose("Kind", gatehouse.KindAccessPermissions)
	file.fill("Target (optional, e.g. page:about)", "share:finance")
	if status := file.submit("File"); status != http.StatusOK {
		t.Errorf("filing answered %d", status)
	}
	pat.shows("The change request was filed.", "access_permissions", "share:finance", "Waiting for authorisation", "Who must authorise Main or technical contact", "Who may act now mia, tom", "Withdraw")
	wantRequest(t, g, "pending", "main_contact", "user:mia", "user:tom")
	pat.click("Change requests")
	pat.shows("cr-browser")
	pat.shot("change-requests")

	mia := c.as(t, g, "mia")
	mia.click("Awaiting me")
	mia.shows("Open requests awaiting you", "cr-browser")

	// The organisation names its contacts: its owner takes the
	// designations away (marking a contact unavailable is provider
	// staff's, TestStaffDesignations).
	grace := c.as(t, g, "grace")
	grace.click("Globex Corporation")
	grace.phoneShot("members-designations-phone", "/console/organisations/globex")
	takeAway := func(designation, who string) {
		t.Helper()
		if status := grace.click("Take " + designation + " away from " + who); status != http.StatusOK {
			t.Errorf("taking %s away from %s answered %d", designation, who, status)
		}
		grace.shows("The designation was taken away.")
		if r := grace.row(who); strings.Contains(r, designation) {
			t.Errorf("%s's row still shows %s: %q", who, designation, r)
		}
		if g.has("organisation:globex#" + designation + "@user:" + who) {
			t.Fatalf("%s still holds %s", who, designation)
		}
	}
	takeAway(gatehouse.DesignationMainContact, "mia")
	takeAway(gatehouse.DesignationTechnicalContact, "tom")

	pat.click("cr-browser")
	pat.shows("Waiting for authorisation", "Who must authorise Alternate contact (escalated)", "Who may act now alan")
	wantRequest(t, g, "pending", "alternate_contact", "user:alan")
	mia.reload()
	mia.shows("Nothing is awaiting you.")
	alan := c.as(t, g, "alan")
	alan.click("Awaiting me")
	alan.shows("cr-browser")

	alan.click("cr-browser")
	alan.shows("This request is awaiting you.", "Who must authorise Alternate contact (escalated)", "Who may act now alan")
	alan.shot("change-request")
	authorise := alan.form("Authorise")
	authorise.fill("Note (optional)", "checked with pat")
	if status := authorise.submit("Authorise"); status != http.StatusOK {
		t.Errorf("authorising answered %d", status)
	}
	alan.shows("You authorised or approved the change request.", "Status Authorised", "Authorised by alan")
	alan.lacks("Reject")
	_, body := g.api("GET", "/v1/change-requests/cr-browser", "user:pat", nil)
	if body["status"] != "authorised" || !slices.Equal(jsonStrings(body["authorisedBy"]), []string{"user:alan"}) {
		t.Errorf("the API reads cr-browser as %v", body)
	}
	alan.click("Awaiting me")
	alan.shows("Open requests awaiting you")
	alan.lacks("cr-browser")

	grace.click("Audit trail")
	grace.shows("grace took Technical contact away from tom.", "grace took Main contact away from mia.")
	grace.shot("audit")
}

// wantRequest fails the test unless the API reads cr-browser with status,
// tier and authorisers.
func wantRequest(t *testing.T, g *gate, status, tier string, authorisers ...string) {
	t.Helper()
	code, body := g.api("GET", "/v1/change-requests/cr-browser", "user:pat", nil)
	if code != http.StatusOK || body["status"] != status || body["tier"] != tier || !slices.Equal(jsonStrings(body["authorisers"]), authorisers) {
		t.Errorf("the API reads cr-browser as %d %v, want %s in tier %s awaiting %v", code, body, status, tier, authorisers)
	}
}

// walkAdminOnly: seed 004's admin-only contractors (K2). olivia, the
// owner, makes Northwind Joinery admin-only; carla, a CIS processor, signed
// in in her own browser, no longer sees it (R5), adam, an administrator,
// still does (R4), and carla's "why?" says why not.
func walkAdminOnly(t *testing.T, c *chrome, g *gate) {
	carla := c.as(t, g, "carla")
	carla.click("BrightCIS Builders")
	carla.click("Contractors")
	carla.shows("Northwind Joinery", "Harbour Plumbing")
	carla.lacks("Sentinel Security", "Make admin-only")

	olivia := c.as(t, g, "olivia")
	olivia.click("BrightCIS Builders")
	olivia.click("Contractors")
	olivia.shows("Sentinel Security (admin-only)")
	if r := olivia.row("Northwind Joinery"); !strings.Contains(r, "no") {
		t.Errorf("Northwind Joinery's row before the flip: %q", r)
	}
	if status := olivia.click("Make Northwind Joinery admin-only"); status != http.StatusOK {
		t.Errorf("the flip answered %d", status)
	}
	olivia.shows("The contractor is now admin-only.")
	if r := olivia.row("Northwind Joinery"); !strings.Contains(r, "yes Lift admin-only") {
		t.Errorf("Northwind Joinery's row after the flip: %q", r)
	}
	if !g.has("contractor:c1#admin_only@user:*") {
		t.Fatal("c1 is not admin-only")
	}
	olivia.shot("contractors")

	carla.reload()
	carla.shows("Harbour Plumbing")
	carla.lacks("Northwind Joinery")
	if rs := lookupContractors(t, g, "carla"); slices.Contains(rs, "contractor:c1") || !slices.Contains(rs, "contractor:c2") {
		t.Errorf("the API lists %v for carla after the flip", rs)
	}
	adam := c.as(t, g, "adam")
	adam.click("BrightCIS Builders")
	adam.click("Contractors")
	adam.shows("Northwind Joinery")
	if rs := lookupContractors(t, g, "adam"); !slices.Contains(rs, "contractor:c1") {
		t.Errorf("the API lists %v for adam after the flip", rs)
	}

	carla.click("Why may you view Harbour Plumbing?")
	carla.shows("Allowed: user:carla has view on contractor:c2")
	ask := carla.form("Ask why")
	ask.fill("Resource", "contractor:c1")
	ask.submit("Ask")
	carla.shows("Denied: user:carla lacks view on contractor:c1")
	carla.shot("why")
}

// lookupContractors lists, through the API, the contractors user:<id> may view (K3).
func lookupContractors(t *testing.T, g *gate, id string) []string {
	t.Helper()
	status, body := g.api("POST", "/v1/lookup/resources", "", map[string]any{"resourceType": "contractor", "permission": "view", "subject": "user:" + id})
	if status != http.StatusOK {
		t.Fatalf("lookup for %s: %d %v", id, status, body)
	}
	return jsonStrings(body["resources"])
}

// jsonStrings reads a JSON array of strings.
func jsonStrings(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
