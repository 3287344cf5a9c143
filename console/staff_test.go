package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// staffPaths are the staff pages (issue 22 item 8), each a GET.
var staffPaths = []string{
	"/console/staff/organisations",
	"/console/staff/relationships?resource=organisation:brightcis",
	"/console/staff/permissions?tool=check&subject=carla&permission=view&resource=contractor:c3",
	"/console/staff/schema",
	"/console/staff/trail",
}

// TestStaffPagesOnlyForStaff: the staff pages open for provider staff
// (stella) alone; anyone else, the owner of an organisation included, is
// refused with 403 in plain words naming staff_member, and a form posted
// anyway changes nothing. Only staff see the platform navigation.
func TestStaffPagesOnlyForStaff(t *testing.T) {
	g := mustGate(t)
	stella, olivia := g.signedIn("stella"), g.signedIn("olivia")
	for _, path := range staffPaths {
		if p := stella.get(path); p.Status != http.StatusOK {
			t.Errorf("stella: %s answered %d:\n%s", path, p.Status, p.Body)
		}
		p := olivia.get(path)
		if p.Status != http.StatusForbidden {
			t.Errorf("olivia: %s answered %d, want 403", path, p.Status)
		}
		shows(t, p, "You may not do this here.", "These pages are for provider staff", "Missing permission: staff_member", "Nothing was changed.")
	}
	p := olivia.get("/console/")
	lacks(t, p, "Platform trail", "Check and lookup")
	p = olivia.post("/console/staff/organisations", url.Values{"id": {"sneaky"}, "name": {"Sneaky Ltd"}})
	if p.Status != http.StatusForbidden {
		t.Errorf("olivia's create answered %d, want 403", p.Status)
	}
	p = olivia.post("/console/staff/relationships", url.Values{"touch": {"organisation:brightcis#administrator@user:mallory"}, "confirm": {"1"}, "reason": {"x"}})
	if p.Status != http.StatusForbidden || g.has("organisation:brightcis#administrator@user:mallory") {
		t.Errorf("olivia's raw write answered %d; written: %v", p.Status, g.has("organisation:brightcis#administrator@user:mallory"))
	}
	if status, _ := g.api("GET", "/v1/organisations/sneaky", "user:olivia", nil); status != http.StatusNotFound {
		t.Errorf("the API reads sneaky with %d, want 404: the refused create made it", status)
	}
	p = stella.get("/console/")
	shows(t, p, "Platform", "Organisations", "Relationships", "Check and lookup", "Schema", "Platform trail")
	p = stella.get("/console/staff/schema")
	if !strings.Contains(p.Body, `<a href="/console/staff/schema" aria-current="page">Schema</a>`) {
		t.Errorf("the platform navigation does not mark Schema current:\n%s", p.Body)
	}
}

// TestStaffOrganisations: provider staff create, rename and delete
// organisations through the workflow commands of POST, PATCH and DELETE
// /v1/organisations: each answers as the API answers the same person
// (O1: the creator owns it; O7: edit_details; O3: the owner alone
// deletes, after a dry run and with a reason the trail records).
func TestStaffOrganisations(t *testing.T) {
	g := mustGate(t)
	stella := g.signedIn("stella")
	stella.get("/console/staff/organisations")

	t.Run("O1_create", func(t *testing.T) {
		p := stella.post("/console/staff/organisations", url.Values{"id": {"northwick"}, "name": {"Northwick Ltd"}})
		shows(t, p, "The organisation Northwick Ltd (northwick) was created; you are its owner.", "Northwick Ltd")
		status, body := g.api("GET", "/v1/organisations/northwick", "user:stella", nil)
		if status != http.StatusOK || body["owner"] != "user:stella" || body["name"] != "Northwick Ltd" {
			t.Errorf("the API reads northwick as %d %v", status, body)
		}
	})

	t.Run("O1_taken_id_as_the_API", func(t *testing.T) {
		stella.get("/console/staff/organisations")
		p := stella.post("/console/staff/organisations", url.Values{"id": {"globex"}, "name": {"Globex Two"}})
		status, body := g.api("POST", "/v1/organisations", "user:stella", map[string]any{"id": "globex", "name": "Globex Two"})
		alike(t, p, status, body, http.StatusConflict)
		// The form comes back with what was typed.
		if !strings.Contains(p.Body, `value="Globex Two"`) {
			t.Errorf("the refused form lost its name:\n%s", p.Body)
		}
	})

	t.Run("X3_empty_name_marked", func(t *testing.T) {
		stella.get("/console/staff/organisations")
		p := stella.post("/console/staff/organisations", url.Values{"id": {"emptyco"}, "name": {""}})
		status, body := g.api("POST", "/v1/organisations", "user:stella", map[string]any{"id": "emptyco", "name": ""})
		alike(t, p, status, body, http.StatusBadRequest)
		shows(t, p, "Please check the field marked below (name).")
		if !strings.Contains(p.Body, `id="o-name" name="name" required value="" aria-invalid="true"`) || !strings.Contains(p.Body, `value="emptyco"`) {
			t.Errorf("the name field is not marked, or the id was lost:\n%s", p.Body)
		}
	})

	t.Run("O7_rename_as_the_API", func(t *testing.T) {
		p := stella.get("/console/staff/organisations")
		shows(t, p, "New name of northwick")
		lacks(t, p, "New name of brightcis", "Delete brightcis")
		p = stella.post("/console/staff/organisations/northwick/rename", url.Values{"name": {"Northwick Group"}})
		shows(t, p, "The organisation northwick is now named Northwick Group.")
		status, body := g.api("PATCH", "/v1/organisations/northwick", "user:stella", map[string]any{"name": "Northwick Group"})
		alike(t, p, status, body, http.StatusOK)
		if body["name"] != "Northwick Group" {
			t.Errorf("the API reads northwick as %v", body)
		}
	})

	t.Run("O7_rename_refused_off_the_team", func(t *testing.T) {
		stella.get("/console/staff/organisations")
		p := stella.post("/console/staff/organisations/brightcis/rename", url.Values{"name": {"Stolen"}})
		status, body := g.api("PATCH", "/v1/organisations/brightcis", "user:stella", map[string]any{"name": "Stolen"})
		alike(t, p, status, body, http.StatusForbidden)
	})

	t.Run("O3_delete_refused_to_all_but_the_owner", func(t *testing.T) {
		stella.get("/console/staff/organisations")
		p := stella.post("/console/staff/organisations/brightcis/delete", nil)
		status, body := g.api("DELETE", "/v1/organisations/brightcis?dryRun=true", "user:stella", nil)
		alike(t, p, status, body, http.StatusForbidden)
		if !g.has("organisation:brightcis#owner@user:olivia") {
			t.Error("brightcis lost its owner")
		}
	})

	t.Run("O3_delete_after_a_dry_run_with_a_reason", func(t *testing.T) {
		stella.get("/console/staff/organisations")
		p := stella.post("/console/staff/organisations/northwick/delete", nil)
		shows(t, p, "Confirm: Deleting the organisation northwick", "This was a dry run: nothing has been changed yet.",
			"Removed: user:stella is owner of organisation:northwick")
		if !g.has("organisation:northwick#owner@user:stella") {
			t.Fatal("the dry run deleted northwick")
		}
		p = stella.post("/console/staff/organisations/northwick/delete", url.Values{"confirm": {"1"}, "reason": {"Test organisation no longer needed"}})
		shows(t, p, "The organisation northwick was deleted with everything in it.")
		lacks(t, p, "Northwick Group")
		if status, _ := g.api("GET", "/v1/organisations/northwick", "user:stella", nil); status != http.StatusNotFound {
			t.Errorf("the API reads northwick with %d after its delete, want 404", status)
		}
		ev := g.auditEvent("northwick", func(e map[string]any) bool { return e["action"] == "delete_organisation" })
		if ev["reason"] != "Test organisation no longer needed" {
			t.Errorf("the delete's reason in the trail is %v", ev["reason"])
		}
	})
}

// TestStaffRelationships: provider staff browse any object's
// relationships, as GET /v1/relationships reads them, and add or delete
// them through the raw write of POST /v1/relationships after a dry run:
// X4's refusals come back as the API's (O2's 422, platform#staff's 403),
// on the same page with the lines kept and the field marked, in words.
func TestStaffRelationships(t *testing.T) {
	g := mustGate(t)
	stella := g.signedIn("stella")

	t.Run("X3_browse_as_the_API_reads", func(t *testing.T) {
		p := stella.get("/console/staff/relationships?resource=organisation:brightcis")
		_, body := g.api("GET", "/v1/relationships?resource=organisation:brightcis", "", nil)
		rels, _ := body["relationships"].([]any)
		if len(rels) == 0 {
			t.Fatalf("the API reads no relationships of brightcis: %v", body)
		}
		for _, r := range rels {
			if !p.contains(r.(string)) {
				t.Errorf("the page lacks %s", r)
			}
		}
		shows(t, p, "user:olivia is owner of organisation:brightcis")
		// Delete is offered only where X4 lets the raw write delete.
		if strings.Contains(p.Body, `name="delete" value="organisation:brightcis#owner@user:olivia"`) || !strings.Contains(p.Body, `name="delete" value="organisation:brightcis#cis_processor@user:carla"`) {
			t.Errorf("Delete is offered for the owner (O2), or not for carla's role:\n%s", p.Body)
		}
		p = stella.get("/console/staff/relationships?resource=organisation:brightcis&relation=nonsense")
		status, body := g.api("GET", "/v1/relationships?resource=organisation:brightcis&relation=nonsense", "", nil)
		alike(t, p, status, body, http.StatusBadRequest)
	})

	t.Run("X4_owner_refused_as_the_API", func(t *testing.T) {
		stella.get("/console/staff/relationships")
		line := "organisation:brightcis#owner@user:stella"
		p := stella.post("/console/staff/relationships", url.Values{"touch": {"organisation:brightcis#cis_processor@user:zed\n" + line}, "reason": {"take over"}})
		status, body := g.api("POST", "/v1/relationships", "", map[string]any{"touch": []string{"organisation:brightcis#cis_processor@user:zed", line}, "reason": "take over"})
		alike(t, p, status, body, http.StatusUnprocessableEntity)
		shows(t, p, "Line 2 of Relationships to add ("+line+") is the one refused.", "use that instead")
		if !strings.Contains(p.Body, `aria-invalid="true" aria-describedby="refusal-title" class="invalid">organisation:brightcis#cis_processor@user:zed`) {
			t.Errorf("the refused lines are not kept in a marked field:\n%s", p.Body)
		}
		if g.has(line) || g.has("organisation:brightcis#cis_processor@user:zed") {
			t.Error("the refused write was made")
		}
	})

	t.Run("X4_platform_staff_needs_a_platform_key", func(t *testing.T) {
		stella.get("/console/staff/relationships")
		line := "platform:provider#staff@user:mallory"
		p := stella.post("/console/staff/relationships", url.Values{"touch": {line}})
		status, body := g.api("POST", "/v1/relationships", "", map[string]any{"touch": []string{line}})
		alike(t, p, status, body, http.StatusForbidden)
		if g.has(line) {
			t.Error("mallory became staff")
		}
	})

	t.Run("X7_dry_run_then_write_as_the_API", func(t *testing.T) {
		stella.get("/console/staff/relationships")
		line := "organisation:brightcis#billing_manager@user:carla"
		p := stella.post("/console/staff/relationships", url.Values{"touch": {line}})
		shows(t, p, "Confirm: Writing 1 relationship", "carla gains", "Added: user:carla is billing manager of organisation:brightcis", "This was a dry run")
		if g.has(line) {
			t.Fatal("the dry run wrote")
		}
		p = stella.post("/console/staff/relationships", url.Values{"touch": {line}, "confirm": {"1"}, "reason": {"Covering for bill"}})
		shows(t, p, "Writing 1 relationship was done: added user:carla is billing manager of organisation:brightcis.", line)
		if !g.has(line) {
			t.Fatal("the confirmed write was not made")
		}
		status, body := g.api("POST", "/v1/relationships", "", map[string]any{"touch": []string{line}, "reason": "Covering for bill"})
		alike(t, p, status, body, http.StatusOK)
		ev := g.auditEvent("brightcis", func(e map[string]any) bool {
			return e["action"] == "write_relationships" && e["actor"] == "user:stella"
		})
		if ev["reason"] != "Covering for bill" {
			t.Errorf("the write's reason in the trail is %v", ev["reason"])
		}
	})

	t.Run("T1_delete_from_the_list", func(t *testing.T) {
		line := "organisation:brightcis#billing_manager@user:carla"
		p := stella.get("/console/staff/relationships?resource=organisation:brightcis&subject=user:carla")
		if !strings.Contains(p.Body, `name="delete" value="`+line+`"`) {
			t.Fatalf("the list offers no Delete for %s:\n%s", line, p.Body)
		}
		p = stella.post("/console/staff/relationships", url.Values{"delete": {line}})
		shows(t, p, "Removed: user:carla is billing manager of organisation:brightcis")
		p = stella.post("/console/staff/relationships", url.Values{"delete": {line}, "confirm": {"1"}, "reason": {"bill is back"}})
		shows(t, p, "was done: removed user:carla is billing manager")
		if g.has(line) || !g.has("organisation:brightcis#cis_processor@user:carla") {
			t.Error("the delete did not remove only the billing manager role")
		}
	})
}

// TestStaffPermissions: the check, why-not and lookup tool answers as
// POST /v1/explain and /v1/lookup/* do, with the chains and the ways in
// words, and refuses what the API refuses, naming the field.
func TestStaffPermissions(t *testing.T) {
	g := mustGate(t)
	stella := g.signedIn("stella")
	tool := func(q url.Values) page { return stella.get("/console/staff/permissions?" + q.Encode()) }

	t.Run("K2_allowed_with_its_chain", func(t *testing.T) {
		p := tool(url.Values{"tool": {"check"}, "subject": {"adam"}, "permission": {"view"}, "resource": {"contractor:c3"}})
		_, body := g.api("POST", "/v1/explain", "", map[string]any{"resource": "contractor:c3", "permission": "view", "subject": "user:adam"})
		if body["allowed"] != true {
			t.Fatalf("the API says %v", body)
		}
		shows(t, p, "Yes: adam may view on contractor:c3.", "user:adam is administrator of organisation:brightcis")
	})

	t.Run("X6_denied_with_why_not", func(t *testing.T) {
		p := tool(url.Values{"tool": {"check"}, "subject": {"carla"}, "permission": {"view"}, "resource": {"contractor:c3"}})
		_, body := g.api("POST", "/v1/explain", "", map[string]any{"resource": "contractor:c3", "permission": "view", "subject": "user:carla"})
		if body["allowed"] != false || body["summary"] == nil {
			t.Fatalf("the API says %v", body)
		}
		shows(t, p, "No: it is not true that carla may view on contractor:c3.", "carla may not view on contractor c3.", "Each way it could be granted")
	})

	t.Run("X3_unknown_permission_as_the_API", func(t *testing.T) {
		p := tool(url.Values{"tool": {"check"}, "subject": {"carla"}, "permission": {"fly"}, "resource": {"contractor:c3"}})
		status, body := g.api("POST", "/v1/check", "", map[string]any{"resource": "contractor:c3", "permission": "fly", "subject": "user:carla"})
		alike(t, p, status, body, http.StatusBadRequest)
		if !strings.Contains(p.Body, `value="fly" aria-invalid="true"`) {
			t.Errorf("the permission field is not kept and marked:\n%s", p.Body)
		}
	})

	t.Run("K3_lookup_resources_as_the_API", func(t *testing.T) {
		p := tool(url.Values{"tool": {"resources"}, "subject": {"carla"}, "permission": {"view"}, "resource_type": {"contractor"}})
		_, body := g.api("POST", "/v1/lookup/resources", "", map[string]any{"resourceType": "contractor", "permission": "view", "subject": "user:carla"})
		found, _ := body["resources"].([]any)
		if len(found) == 0 {
			t.Fatalf("the API finds nothing: %v", body)
		}
		for _, r := range found {
			shows(t, p, r.(string))
		}
		lacks(t, p, "contractor:c3")
	})

	t.Run("lookup_subjects_as_the_API", func(t *testing.T) {
		p := tool(url.Values{"tool": {"subjects"}, "permission": {"view"}, "resource": {"contractor:c3"}})
		_, body := g.api("POST", "/v1/lookup/subjects", "", map[string]any{"resource": "contractor:c3", "permission": "view", "subjectType": "user"})
		found, _ := body["subjects"].([]any)
		if len(found) == 0 {
			t.Fatalf("the API finds nobody: %v", body)
		}
		for _, s := range found {
			shows(t, p, s.(string))
		}
		if strings.Contains(p.Body, "<li><code>user:carla</code></li>") {
			t.Error("carla is listed as one who may view c3 (K2)")
		}
	})
}

// TestStaffSchema: the schema page shows the schema the API reads, each
// rule ID in it linked to its sentence (in a tooltip and the footnotes).
func TestStaffSchema(t *testing.T) {
	g := mustGate(t)
	p := g.signedIn("stella").get("/console/staff/schema")
	_, body := g.api("GET", "/v1/schema", "", nil)
	if s, _ := body["schema"].(string); !strings.Contains(s, "definition contractor") {
		t.Fatalf("the API's schema: %v", body)
	}
	shows(t, p, "definition contractor {", "permission edit = organisation->manage_contractors", "The rules the schema names")
	if !strings.Contains(p.Body, `<a class="rule-ref" href="#rule-K2" title="`) || !strings.Contains(p.Body, `<dt id="rule-K2">K2</dt>`) {
		t.Errorf("K2 is not linked to its footnote:\n%s", p.Body)
	}
}

// TestStaffTrail: the platform trail lists the changes of every
// organisation, newest first, each after the organisation it is of and
// in the audit page's words, filtered by organisation.
func TestStaffTrail(t *testing.T) {
	g := mustGate(t)
	stella := g.signedIn("stella")
	stella.get("/console/staff/organisations")
	stella.post("/console/staff/organisations", url.Values{"id": {"northwick"}, "name": {"Northwick Ltd"}})
	g.auditEvent("northwick", func(e map[string]any) bool { return e["action"] == "create_organisation" })
	p := stella.get("/console/staff/trail")
	// Each sentence starts with its organisation's name, a link.
	shows(t, p, "northwick : stella created the organisation.", "brightcis : ", "globex : gatehouse loaded the demo data.")
	p = stella.get("/console/staff/trail?organisation=globex")
	shows(t, p, "globex : ")
	lacks(t, p, "brightcis : ", "northwick : ")
	p = stella.get("/console/staff/trail?organisation=globex&platform=true")
	if p.Status != http.StatusBadRequest {
		t.Errorf("an organisation with platform=true answered %d, want 400", p.Status)
	}
	shows(t, p, "Nothing was changed.")
}
