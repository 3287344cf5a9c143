package console_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestBrowserStaffPages (issue 22 item 8): stella, the demo data's
// provider staff, walks each staff page in Chromium from the platform
// navigation: she creates (after a refused, taken id), renames and
// deletes an organisation, the delete after its dry run and with a
// reason; browses brightcis's relationships and writes one raw, after
// X4 refuses the owner's in words with her lines kept; checks, asks why
// not and looks up on live data; reads the schema with its rules; and
// reads the platform trail, filtered by organisation. olivia, an owner
// but not staff, is offered none of it and refused in plain words.
func TestBrowserStaffPages(t *testing.T) {
	c := mustChrome(t, devSignIn)
	g := mustGate(t)
	stella := c.as(t, g, "stella")

	t.Run("O1_O3_O7_organisations", func(t *testing.T) {
		stella.click("Organisations")
		if h := stella.title(); h != "Organisations of the platform" {
			t.Fatalf("the platform's Organisations link leads to %q", h)
		}
		stella.shows("BrightCIS Builders", "Globex Corporation")
		stella.shot("staff-organisations")
		stella.lacks("Delete brightcis")
		create := stella.form("Create an organisation")
		create.fill("Organisation id", "globex")
		create.fill("Name", "Northwick Ltd")
		if status := create.submit("Create"); status != http.StatusConflict {
			t.Errorf("a taken id answered %d, want 409", status)
		}
		stella.shows("Not done:", "The id globex is taken: choose another.", "Nothing was changed.")
		create = stella.form("Create an organisation")
		if v := stella.value(create.field("Name")); v != "Northwick Ltd" {
			t.Errorf("the name typed is lost: %q", v)
		}
		create.fill("Organisation id", "northwick")
		if status := create.submit("Create"); status != http.StatusOK {
			t.Fatalf("creating northwick answered %d", status)
		}
		stella.shows("The organisation Northwick Ltd (northwick) was created; you are its owner.")

		rename := stella.form("Rename northwick")
		rename.fill("New name of northwick", "Northwick Group")
		rename.submit("Rename northwick")
		stella.shows("The organisation northwick is now named Northwick Group.")
		if _, body := g.api("GET", "/v1/organisations/northwick", "user:stella", nil); body["name"] != "Northwick Group" || body["owner"] != "user:stella" {
			t.Errorf("the API reads northwick as %v", body)
		}

		stella.click("Delete northwick")
		stella.shows("Deleting the organisation northwick with everything in it", "Removed: user:stella is owner of organisation:northwick", "nothing has been changed yet")
		if !g.has("organisation:northwick#owner@user:stella") {
			t.Fatal("the dry run deleted northwick")
		}
		confirm := stella.form("Confirm")
		confirm.fill("Reason (recorded in the audit trail)", "a test organisation")
		confirm.submit("Delete northwick")
		stella.shows("The organisation northwick was deleted with everything in it.")
		if status, _ := g.api("GET", "/v1/organisations/northwick", "user:stella", nil); status != http.StatusNotFound {
			t.Errorf("the API reads northwick with %d after the delete", status)
		}
	})

	t.Run("X4_X7_relationships", func(t *testing.T) {
		stella.click("Relationships")
		browse := stella.form("Browse relationships")
		browse.fill("Object or type", "organisation:brightcis")
		browse.submit("Show")
		stella.shows("user:olivia is owner of organisation:brightcis", "user:carla is cis processor of organisation:brightcis")

		owner := "organisation:brightcis#owner@user:stella"
		write := stella.form("Add and delete relationships")
		write.write("Relationships to add", owner)
		write.fill("Reason (recorded in the audit trail)", "cover for olivia")
		if status := write.submit("Show what it would change"); status != http.StatusUnprocessableEntity {
			t.Errorf("writing the owner raw answered %d, want 422", status)
		}
		stella.shot("staff-relationships-refused")
		stella.shows("Not done: One of the organisation's rules does not allow this.", "Rule O2", "Line 1 of Relationships to add ("+owner+") is the one refused.")
		write = stella.form("Add and delete relationships")
		if v := stella.value(write.field("Relationships to add")); v != owner {
			t.Errorf("the lines typed are lost: %q", v)
		}
		if marked := stella.eval(`Array.from(document.querySelectorAll('[aria-invalid="true"]'), e => e.name)`); !slices.Equal(marked, []string{"touch"}) {
			t.Errorf("the fields marked are %v, want the relationships to add", marked)
		}

		line := "organisation:brightcis#billing_manager@user:carla"
		write.fill("Relationships to add", line)
		write.submit("Show what it would change")
		stella.shows("Writing 1 relationship: carla gains", "Added: user:carla is billing manager of organisation:brightcis", "nothing has been changed yet")
		if g.has(line) {
			t.Fatal("the dry run wrote")
		}
		stella.form("Confirm").submit("Confirm: Writing 1 relationship")
		stella.shows("Writing 1 relationship was done: added user:carla is billing manager of organisation:brightcis.")
		if !g.has(line) {
			t.Error("the confirmed write was not made")
		}
	})

	t.Run("X6_check_and_lookup", func(t *testing.T) {
		stella.click("Check and lookup")
		check := stella.form("Check: may this subject do this?")
		check.fill("Subject", "carla")
		check.fill("Permission", "view")
		check.fill("On", "contractor:c3")
		check.submit("Check")
		stella.shows("No: it is not true that carla may view on contractor:c3.", "carla may not view on contractor c3.", "Each way it could be granted")
		stella.shot("staff-check")
		check = stella.form("Check: may this subject do this?")
		check.fill("Subject", "adam")
		check.submit("Check")
		stella.shows("Yes: adam may view on contractor:c3.", "user:adam is administrator of organisation:brightcis")

		look := stella.form("Lookup: what may this subject reach?")
		look.fill("Subject", "carla")
		look.fill("Permission", "view")
		look.fill("On objects of type", "contractor")
		look.submit("Look up")
		stella.shows("What contractor may carla view?", "contractor:c1")
		if found := stella.eval(`Array.from(document.querySelectorAll('.answer li code'), e => e.textContent)`); slices.Contains(found, "contractor:c3") {
			t.Errorf("carla reaches %v, c3 among them (K2)", found)
		}
	})

	t.Run("schema_with_rule_ids", func(t *testing.T) {
		stella.click("Schema")
		stella.shows("definition contractor {", "The rules the schema names")
		stella.shot("staff-schema")
		tips := stella.eval(`Array.from(document.querySelectorAll('a.rule-ref[href="#rule-K2"]'), e => e.title)`)
		if len(tips) == 0 || !strings.HasPrefix(tips[0], "A contractor") && !strings.Contains(tips[0], "admin") {
			t.Errorf("K2 in the schema carries the tooltip %q", tips)
		}
		if n := stella.eval(`Array.from(document.querySelectorAll('dt#rule-K2'), e => e.textContent)`); !slices.Equal(n, []string{"K2"}) {
			t.Errorf("K2's footnote: %v", n)
		}
	})

	t.Run("X2_platform_trail", func(t *testing.T) {
		g.auditEvent("northwick", func(e map[string]any) bool { return e["action"] == "delete_organisation" })
		stella.click("Platform trail")
		stella.shows("northwick: stella created the organisation.", "northwick: stella renamed the organisation Northwick Group", "“a test organisation”", "brightcis: stella made a change (write relationships)")
		stella.shot("staff-trail")
		filter := stella.form("Filter the platform trail")
		filter.fill("Organisation", "globex")
		filter.submit("Filter")
		stella.shows("globex: gatehouse loaded the demo data.")
		stella.lacks("brightcis:", "northwick:")
	})

	t.Run("X1_not_for_others", func(t *testing.T) {
		olivia := c.as(t, g, "olivia")
		if n := olivia.eval(`Array.from(document.querySelectorAll('nav[aria-label="Platform"] a'), e => e.textContent)`); len(n) != 0 {
			t.Errorf("olivia is offered the staff pages %v", n)
		}
		olivia.open("/console/staff/trail")
		olivia.shows("Not done: You may not do this here.", "These pages are for provider staff")
	})
}
