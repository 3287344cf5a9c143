package console_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
)

// apiRaw sends GET path to the API as actor, accepting accept, and returns
// its status and body as they came.
func (g *gate) apiRaw(path, actor, accept string) (int, string) {
	g.t.Helper()
	req, err := http.NewRequestWithContext(g.t.Context(), http.MethodGet, g.URL+path, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Gatehouse-Actor", actor)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// csvRows parses a CSV export, failing the test if it does not parse.
func csvRows(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV (%v):\n%s", err, body)
	}
	return rows
}

// TestAccessReviewExport (issue 22 item 6: "members exportable as CSV for
// an access review"): the members page offers the export to those the
// API's review answers (view_reports holders and provider staff), and
// the file is the API's Accept: text/csv export, byte for byte; anyone
// else sees no link and is refused as the API refuses them (X1).
func TestAccessReviewExport(t *testing.T) {
	g := mustGate(t)

	t.Run("X1_view_reports_exports_what_the_API_exports", func(t *testing.T) {
		olivia := g.signedIn("olivia")
		shows(t, olivia.get("/console/organisations/brightcis"), "Export the access review as CSV")
		p := olivia.get("/console/organisations/brightcis/access.csv")
		status, want := g.apiRaw("/v1/organisations/brightcis/access", "user:olivia", "text/csv")
		if p.Status != http.StatusOK || status != http.StatusOK || p.Body != want {
			t.Fatalf("the console's export (%d) is not the API's (%d):\n%s\n---\n%s", p.Status, status, p.Body, want)
		}
		rows := csvRows(t, p.Body)
		if strings.Join(rows[0], ",") != "user,permission,object,via,until" || len(rows) < 10 {
			t.Errorf("the export has %d rows, headed %v", len(rows), rows[0])
		}
		found := false
		for _, r := range rows {
			found = found || (r[0] == "user:carla" && r[1] == "view" && r[2] == "contractor:c1")
		}
		if !found {
			t.Errorf("the export lacks carla's view of c1:\n%s", p.Body)
		}
	})

	t.Run("X1_others_see_no_link_and_are_refused_alike", func(t *testing.T) {
		carla := g.signedIn("carla")
		lacks(t, carla.get("/console/organisations/brightcis"), "Export the access review")
		p := carla.get("/console/organisations/brightcis/access.csv")
		status, body := g.api("GET", "/v1/organisations/brightcis/access", "user:carla", nil)
		refusedAlike(t, p, status, body, http.StatusForbidden)
	})
}

// TestAuditTrailFiltersAndExport (issue 22 item 5: "filters (actor,
// action, date), CSV export"): the audit page filters by action with the
// API's action filter, alone or with the actor, keeps the filter in its
// form, and exports what the filter matches as CSV, oldest first, each
// action's sentence beside its parts; only for view_reports (X2).
func TestAuditTrailFiltersAndExport(t *testing.T) {
	g := mustGate(t)
	for _, step := range []struct{ path, actor string }{
		{"/v1/organisations/brightcis/members/nina/roles/cis_processor", "user:olivia"},
		{"/v1/organisations/brightcis/members/nora/roles/cis_processor", "user:adam"},
	} {
		if status, body := g.api("PUT", step.path, step.actor, map[string]any{"reason": "joins the processing team"}); status != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %v", step.path, status, body)
		}
	}
	if status, body := g.api("POST", "/v1/organisations/brightcis/contractors", "user:olivia", map[string]any{"id": "c9", "name": "Ninth"}); status != http.StatusCreated {
		t.Fatalf("creating c9: %d %v", status, body)
	}
	olivia := g.signedIn("olivia")

	t.Run("X2_filtered_by_action_and_actor", func(t *testing.T) {
		p := olivia.get("/console/organisations/brightcis/audit?action=grant_role")
		shows(t, p, "olivia made nina CIS processor.", "adam made nora CIS processor.")
		lacks(t, p, "created contractor c9")
		if !strings.Contains(p.Body, `<option value="grant_role" selected>Role granted</option>`) {
			t.Errorf("the action filter is not kept in the form:\n%s", p.Body)
		}
		p = olivia.get("/console/organisations/brightcis/audit?action=grant_role&actor=adam")
		shows(t, p, "adam made nora CIS processor.")
		lacks(t, p, "olivia made nina")
		p = olivia.get("/console/organisations/brightcis/audit?action=create_contractor")
		shows(t, p, "olivia created contractor c9")
		lacks(t, p, "made nina")
	})

	t.Run("X2_csv_export_of_the_filter", func(t *testing.T) {
		p := olivia.get("/console/organisations/brightcis/audit?action=grant_role")
		if !strings.Contains(p.Body, `href="/console/organisations/brightcis/audit.csv?action=grant_role" download`) {
			t.Fatalf("the page offers no export of its filter:\n%s", p.Body)
		}
		p = olivia.get("/console/organisations/brightcis/audit.csv?action=grant_role")
		rows := csvRows(t, p.Body)
		if p.Status != http.StatusOK || len(rows) != 3 || strings.Join(rows[0], ",") != "at,actor,action,what,reason,key,changes" {
			t.Fatalf("the export (%d) has rows %v", p.Status, rows)
		}
		if rows[1][1] != "user:olivia" || rows[1][3] != "olivia made nina CIS processor." || rows[1][4] != "joins the processing team" ||
			rows[2][1] != "user:adam" || !strings.Contains(rows[2][6], "organisation:brightcis#cis_processor@user:nora") {
			t.Errorf("the export is not the two grants, oldest first: %v", rows)
		}
	})

	t.Run("X2_without_view_reports_refused_alike", func(t *testing.T) {
		carla := g.signedIn("carla")
		p := carla.get("/console/organisations/brightcis/audit.csv")
		status, body := g.api("GET", "/v1/organisations/brightcis/members/olivia/access", "user:carla", nil)
		if p.Status != http.StatusForbidden || status != http.StatusForbidden {
			t.Fatalf("carla's export answered %d (the API's view_reports refusal %d %v)", p.Status, status, body)
		}
		shows(t, p, "Missing permission: view_reports")
	})
}
