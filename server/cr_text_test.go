package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestChangeRequestText proves the filing contract of shared/api.md
// (issue 22 item 6) through the HTTP API: a request's optional title and
// description are kept and returned in every state, open or closed, in
// lists too; a filer who leaves out the id gets one the server made; and
// text out of bounds is 400 naming its field, with nothing written (X3).
func TestChangeRequestText(t *testing.T) {
	a := MustSeededAPI(t)

	t.Run("api_md_server_makes_the_id_when_the_filer_gives_none", func(t *testing.T) {
		r := a.mustFile(pat, map[string]any{"kind": "public_facing", "target": "page:pricing", "title": "New pricing page"})
		id := str(r.Body["id"])
		if !regexp.MustCompile(`^cr-[a-z2-7]{13}$`).MatchString(id) {
			t.Fatalf("the server made the id %q", id)
		}
		if loc := r.Header.Get("Location"); loc != "/v1/change-requests/"+id {
			t.Errorf("Location %q, want the new request's path", loc)
		}
		if got := a.getCR(pat, id); got.Status != http.StatusOK || str(got.Body["title"]) != "New pricing page" {
			t.Errorf("the made id does not read back: %d %s", got.Status, got.Raw)
		}
		other := a.mustFile(pat, map[string]any{"kind": "standard"})
		if str(other.Body["id"]) == id {
			t.Errorf("two filings without an id got the same one, %q", id)
		}
	})

	t.Run("api_md_title_and_description_in_every_state", func(t *testing.T) {
		desc := "Replace the pricing table.\nKeep the old one until the end of the quarter: <old> & \"new\"."
		r := a.mustFile(pat, cr("cr-text", "public_facing", "title", "  Pricing page, v2  ", "description", desc))
		wantText := func(where string, body map[string]any) {
			t.Helper()
			if str(body["title"]) != "Pricing page, v2" || str(body["description"]) != desc {
				t.Errorf("%s: title %q, description %q", where, body["title"], body["description"])
			}
		}
		wantText("filed", r.Body)
		wantText("read", a.getCR(mia, "cr-text").Body)
		list := a.Do("GET", "/v1/organisations/globex/change-requests?awaiting=me", mia, nil)
		found := false
		for _, item := range list.Body["changeRequests"].([]any) {
			if m := item.(map[string]any); m["id"] == "cr-text" {
				found = true
				wantText("listed", m)
			}
		}
		if !found {
			t.Fatalf("cr-text is not in mia's awaiting list: %s", list.Raw)
		}
		rejected := a.Do("POST", "/v1/change-requests/cr-text/reject", mia, map[string]any{"reason": "not this quarter"})
		if rejected.Status != http.StatusOK || str(rejected.Body["status"]) != "rejected" {
			t.Fatalf("rejecting: %d %s", rejected.Status, rejected.Raw)
		}
		wantText("rejected", rejected.Body)
		if str(rejected.Body["reason"]) != "not this quarter" {
			t.Errorf("the closing reason is lost beside the text: %s", rejected.Raw)
		}
		plain := a.mustFile(pat, cr("cr-no-text", "service"))
		if _, has := plain.Body["title"]; has {
			t.Errorf("a request filed without a title answers one: %s", plain.Raw)
		}
	})

	t.Run("api_md_text_out_of_bounds_names_the_field", func(t *testing.T) {
		before := a.snapshot()
		for _, tc := range []struct {
			name, field string
			body        map[string]any
		}{
			{"title too long", "title", cr("t1", "service", "title", strings.Repeat("a", 121))},
			{"title of two lines", "title", cr("t1", "service", "title", "one\ntwo")},
			{"title with a control character", "title", cr("t1", "service", "title", "bell\u0007")},
			{"description too long", "description", cr("t1", "service", "description", strings.Repeat("d", 501))},
			{"description with a control character", "description", cr("t1", "service", "description", "esc\u001b[0m")},
			{"description escaping past a label", "description", cr("t1", "service", "description", strings.Repeat("<", 200))},
			{"title not a string", "title", cr("t1", "service", "title", 7)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a.mustRefuse(t, a.fileCR("globex", pat, tc.body), refusal{status: 400, code: "invalid_argument", field: tc.field}, before)
			})
		}
		// Without an id, the refusal is the same and nothing is made.
		a.mustRefuse(t, a.fileCR("globex", pat, map[string]any{"kind": "service", "title": strings.Repeat("a", 121)}), refusal{status: 400, code: "invalid_argument", field: "title"}, before)
	})
}
