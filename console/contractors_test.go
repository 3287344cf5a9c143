package console_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestCreateDeleteContractor: the owner creates an admin-only contractor
// (K1, K2), which a CIS processor does not see, and deletes it; a billing
// manager and a CIS processor are refused both, as the API refuses them,
// and a taken id is refused alike; nothing changes on a refusal.
func TestCreateDeleteContractor(t *testing.T) {
	g := mustGate(t)

	for _, who := range []string{"bill", "carla"} {
		t.Run(who+"_refused", func(t *testing.T) {
			b := g.signedIn(who)
			p := b.get("/console/organisations/brightcis/contractors")
			lacks(t, p, "Create a contractor", "Delete")
			p = b.post("/console/organisations/brightcis/contractors", url.Values{"id": {"c8"}, "name": {"Rogue Ltd"}})
			status, body := g.api("POST", "/v1/organisations/brightcis/contractors", "user:"+who, map[string]any{"id": "c8", "name": "Rogue Ltd"})
			refusedAlike(t, p, status, body, http.StatusForbidden)
			if g.has("contractor:c8#organisation@organisation:brightcis") {
				t.Error("a refused create wrote the contractor")
			}
			p = b.post("/console/organisations/brightcis/contractors/c1/delete", confirm)
			status, body = g.api("DELETE", "/v1/contractors/c1", "user:"+who, nil)
			refusedAlike(t, p, status, body, http.StatusForbidden)
			if !g.has("contractor:c1#organisation@organisation:brightcis") {
				t.Error("a refused delete removed c1")
			}
		})
	}

	olivia := g.signedIn("olivia")
	t.Run("K1_taken_id", func(t *testing.T) {
		olivia.get("/console/organisations/brightcis/contractors")
		p := olivia.post("/console/organisations/brightcis/contractors", url.Values{"id": {"c1"}, "name": {"Impostor"}})
		status, body := g.api("POST", "/v1/organisations/brightcis/contractors", "user:olivia", map[string]any{"id": "c1", "name": "Impostor"})
		refusedAlike(t, p, status, body, http.StatusConflict)
		shows(t, olivia.get("/console/organisations/brightcis/contractors"), "Northwind Joinery")
	})

	t.Run("K2_create_admin_only_and_delete", func(t *testing.T) {
		p := olivia.get("/console/organisations/brightcis/contractors")
		shows(t, p, "Create a contractor")
		p = olivia.post("/console/organisations/brightcis/contractors", url.Values{"id": {"c9"}, "name": {"Quiet Locksmiths"}, "admin_only": {"true"}})
		shows(t, p, "The contractor was created.", "Quiet Locksmiths")
		if !g.has("contractor:c9#organisation@organisation:brightcis") || !g.has("contractor:c9#admin_only@user:*") {
			t.Fatal("c9 was not created admin-only in brightcis")
		}
		lacks(t, g.signedIn("carla").get("/console/organisations/brightcis/contractors"), "Quiet Locksmiths")
		p = olivia.post("/console/organisations/brightcis/contractors/c9/delete", confirm)
		shows(t, p, "was deleted from brightcis.")
		lacks(t, p, "Quiet Locksmiths")
		if g.has("contractor:c9#organisation@organisation:brightcis") {
			t.Error("c9 was not deleted")
		}
	})
}
