package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestDirectorTier: seed 003's last tier, completed in the console. With
// every contact of globex unavailable (C7), marked so by provider staff
// on the members page, pat's request escalates past the alternate
// contact to the verified director (C8); dora, a member (T4), finds it in
// her "Awaiting me" and authorises it; dan, a director nobody verified,
// is never asked and is refused as the API refuses him (C9).
func TestDirectorTier(t *testing.T) {
	g := mustGate(t)
	stella := g.signedIn("stella")
	for _, who := range []string{"mia", "tom", "alan"} {
		stella.get("/console/organisations/globex")
		p := stella.post("/console/organisations/globex/designations", url.Values{"user": {who}, "designation": {"unavailable_contact"}, "reason": {"away"}})
		shows(t, p, "The designation was given.")
	}

	pat := g.signedIn("pat")
	pat.get("/console/organisations/globex/change-requests")
	p := pat.post("/console/organisations/globex/change-requests", url.Values{"id": {"cr-director"}, "kind": {"service"}})
	shows(t, p, "The change request was filed.", "Who must authorise Verified director (escalated)", "Who may act now dora")
	status, body := g.api("GET", "/v1/change-requests/cr-director", "user:pat", nil)
	if status != http.StatusOK || body["tier"] != "verified_director" || !slices.Equal(jsonStrings(body["authorisers"]), []string{"user:dora"}) {
		t.Fatalf("the API reads cr-director as %d %v", status, body)
	}

	t.Run("C9_unverified_director_never_asked", func(t *testing.T) {
		dan := g.signedIn("dan")
		shows(t, dan.get("/console/organisations/globex/change-requests?awaiting=me"), "Nothing is awaiting you.")
		dan.get("/console/change-requests/cr-director")
		p := dan.post("/console/change-requests/cr-director/authorise", url.Values{"note": {"I am a director"}})
		status, body := g.api("POST", "/v1/change-requests/cr-director/authorise", "user:dan", map[string]any{"note": "I am a director"})
		alike(t, p, status, body, http.StatusForbidden)
		shows(t, p, "Missing permission: authorise_director")
		if g.has("change_request:cr-director#authorised_by@user:dan") {
			t.Error("a refused authorisation was written")
		}
	})

	t.Run("C8_verified_director_authorises", func(t *testing.T) {
		dora := g.signedIn("dora")
		shows(t, dora.get("/console/"), "Globex Corporation")
		p := dora.get("/console/organisations/globex/change-requests?awaiting=me")
		// The demo's own pending request escalated with it: the console
		// lists what the API lists for her.
		shows(t, p, "Open requests awaiting you")
		if ids := awaiting(t, g, "dora"); !slices.Equal(ids, []string{"cr-director", "globex-cr-pending"}) {
			t.Errorf("the API lists %v awaiting dora", ids)
		} else {
			shows(t, p, ids...)
		}
		p = dora.get("/console/change-requests/cr-director")
		shows(t, p, "This request is awaiting you.", "Who must authorise Verified director (escalated)")
		p = dora.post("/console/change-requests/cr-director/authorise", url.Values{"note": {"as registered director"}})
		shows(t, p, "You authorised or approved the change request.", "Status Authorised", "Authorised by dora")
		_, body = g.api("GET", "/v1/change-requests/cr-director", "user:pat", nil)
		if body["status"] != "authorised" || !slices.Equal(jsonStrings(body["authorisedBy"]), []string{"user:dora"}) {
			t.Errorf("the API reads cr-director as %v", body)
		}
		p = dora.get("/console/organisations/globex/change-requests?awaiting=me")
		lacks(t, p, "cr-director")
		if ids := awaiting(t, g, "dora"); !slices.Equal(ids, []string{"globex-cr-pending"}) {
			t.Errorf("after authorising, the API lists %v awaiting dora", ids)
		}
	})
}

// awaiting returns the ids of globex's change requests that the API lists
// as awaiting user:<who> (C14).
func awaiting(t *testing.T, g *gate, who string) []string {
	t.Helper()
	status, body := g.api("GET", "/v1/organisations/globex/change-requests?awaiting=me", "user:"+who, nil)
	if status != http.StatusOK {
		t.Fatalf("awaiting %s: %d %v", who, status, body)
	}
	var ids []string
	list, _ := body["changeRequests"].([]any)
	for _, cr := range list {
		m, _ := cr.(map[string]any)
		id, _ := m["id"].(string)
		ids = append(ids, id)
	}
	return ids
}
