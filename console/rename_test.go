package console_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestConsoleRenameContractor: renaming a contractor on the contractors
// page is allowed or refused exactly as PATCH /v1/contractors/{id}
// {"name": ...} answers the same person (manage_contractors: R4, R5, R6,
// X1; an empty name and an unknown contractor alike), and a refusal
// leaves the name as it was.
func TestConsoleRenameContractor(t *testing.T) {
	g := mustGate(t)
	rename := func(t *testing.T, who, id, name string) (page, int, map[string]any) {
		t.Helper()
		b := g.signedIn(who)
		b.get("/console/")
		p := b.post("/console/contractors/"+id+"/rename", url.Values{"name": {name}})
		status, body := g.api("PATCH", "/v1/contractors/"+id, "user:"+who, map[string]any{"name": name})
		return p, status, body
	}
	olivia := g.signedIn("olivia")
	unchanged := func(t *testing.T) {
		t.Helper()
		p := olivia.get("/console/organisations/brightcis/contractors")
		shows(t, p, "Northwind Joinery")
		lacks(t, p, "Rogue Joinery")
	}

	t.Run("R4_form_for_holders_of_manage_contractors", func(t *testing.T) {
		shows(t, olivia.get("/console/organisations/brightcis/contractors"), "New name of Northwind Joinery", "Rename")
		lacks(t, g.signedIn("carla").get("/console/organisations/brightcis/contractors"), "Rename")
	})

	for _, c := range []struct{ name, who string }{
		{"R5_cis_processor_refused", "carla"},
		{"R6_billing_manager_refused", "bill"},
		{"X1_outsider_refused", "oscar"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, status, body := rename(t, c.who, "c1", "Rogue Joinery")
			alike(t, p, status, body, http.StatusForbidden)
			shows(t, p, "Missing permission: manage_contractors")
			unchanged(t)
		})
	}

	t.Run("X3_empty_name", func(t *testing.T) {
		p, status, body := rename(t, "adam", "c1", "")
		alike(t, p, status, body, http.StatusBadRequest)
		unchanged(t)
	})

	t.Run("K1_unknown_contractor", func(t *testing.T) {
		p, status, body := rename(t, "adam", "c99", "Ghost Ltd")
		alike(t, p, status, body, http.StatusNotFound)
	})

	t.Run("R4_administrator_renames", func(t *testing.T) {
		adam := g.signedIn("adam")
		adam.get("/console/organisations/brightcis/contractors")
		p := adam.post("/console/contractors/c3/rename", url.Values{"name": {"Sentinel Guarding"}})
		// Renaming to the name it has is allowed and changes nothing, so
		// the API's answer to the same request is comparable afterwards.
		status, body := g.api("PATCH", "/v1/contractors/c3", "user:adam", map[string]any{"name": "Sentinel Guarding"})
		alike(t, p, status, body, http.StatusOK)
		shows(t, p, "The contractor was renamed.", "Sentinel Guarding")
		lacks(t, p, "Sentinel Security")
		if body["name"] != "Sentinel Guarding" || body["adminOnly"] != true {
			t.Errorf("the API reads c3 as %v", body)
		}
	})
}
