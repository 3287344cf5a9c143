package console_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestContractorPage (issue 22 item 6: "a page per contractor"): the
// contractors list links each contractor to its page, which says what it
// is (name, organisation, the K2 admin-only flag in plain words), offers
// the forms to manage it only to who holds edit (R4), and says who may
// view or edit it and why, from the workflow's access review: a
// reviewer sees everyone on the team, anyone else who may view it only
// their own reasons; someone who may not view it is refused with the
// permission named and who could grant it (K2, X1, X6), as the API's
// check answers.
func TestContractorPage(t *testing.T) {
	g := mustGate(t)

	t.Run("K2_admin_only_contractor_as_its_reviewer_sees_it", func(t *testing.T) {
		olivia := g.signedIn("olivia")
		p := olivia.get("/console/organisations/brightcis/contractors")
		if !strings.Contains(p.Body, `<a href="/console/contractors/c3">Sentinel Security (admin-only)</a>`) {
			t.Fatalf("the list does not link c3 to its page:\n%s", p.Body)
		}
		p = olivia.get("/console/contractors/c3")
		shows(t, p, "Sentinel Security (admin-only)", "Organisation brightcis",
			"Admin-only Yes: only the owner, the security admins and administrators see it",
			"Who may view or edit it, and why", "user:adam is administrator of organisation:brightcis")
		rows := whoMay(p)
		if !rows["olivia view"] || !rows["adam view"] || !rows["adam edit"] || rows["carla view"] {
			t.Errorf("who may act on c3: %v; want the owner and the administrator, not the CIS processor (K2)", rows)
		}
		shows(t, p, "Manage", "Rename", "Lift admin-only", "Delete Sentinel Security (admin-only)")
		if !strings.Contains(p.Body, `aria-current="page">Contractors</a>`) {
			t.Errorf("the menu does not mark Contractors on a contractor's page:\n%s", p.Body)
		}
	})

	t.Run("K2_unflagged_contractor_lists_the_cis_processor", func(t *testing.T) {
		adam := g.signedIn("adam")
		p := adam.get("/console/contractors/c1")
		shows(t, p, "Northwind Joinery", "Admin-only No: every role that may view contractors sees it", "user:carla is cis processor of organisation:brightcis")
		if rows := whoMay(p); !rows["carla view"] || rows["carla edit"] || rows["bill view"] {
			t.Errorf("who may act on c1: %v; want carla viewing, not editing, and not bill (R6)", rows)
		}
	})

	t.Run("X1_a_viewer_who_does_not_review_sees_their_own_reasons", func(t *testing.T) {
		carla := g.signedIn("carla")
		p := carla.get("/console/contractors/c1")
		shows(t, p, "Why you may view it", "user:carla is cis processor of organisation:brightcis")
		lacks(t, p, "Manage", "Rename", "Delete")
		if rows := whoMay(p); len(rows) != 1 || !rows["carla view"] {
			t.Errorf("carla sees the rows %v; want only her own", rows)
		}
	})

	t.Run("K2_hidden_contractor_refused_naming_view", func(t *testing.T) {
		carla := g.signedIn("carla")
		p := carla.get("/console/contractors/c3")
		_, body := g.api("POST", "/v1/check", "", map[string]any{"resource": "contractor:c3", "permission": "view", "subject": "user:carla"})
		if p.Status != http.StatusForbidden || body["allowed"] != false {
			t.Fatalf("carla's view of c3: the console answered %d, the API's check %v", p.Status, body)
		}
		shows(t, p, "Missing permission: view", "Who may grant it")
		lacks(t, p, "Sentinel Security")
		p = carla.get("/console/contractors/no-such")
		if p.Status != http.StatusForbidden {
			t.Errorf("a contractor that does not exist answered %d, not the same 403 (X1)", p.Status)
		}
	})
}

// whoMay returns the rows of a contractor's page as "user permission".
func whoMay(p page) map[string]bool {
	out := map[string]bool{}
	for _, row := range strings.Split(p.Body, `<tr role="row">`)[1:] {
		user := between(row, `/members/`, `"`)
		perm := between(row, `data-label="May">`, `<`)
		if user != "" {
			out[user+" "+perm] = true
		}
	}
	return out
}

// between returns the text of s after the first from, up to to.
func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}
