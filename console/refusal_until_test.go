package console_test

import (
	"net/http"
	"testing"
	"time"
)

// TestRefusalSaysUntil_T5 (X6, T5): a refusal page names who may grant
// what the reader lacks, and of one who may only until a role of theirs
// expires, until when.
func TestRefusalSaysUntil_T5(t *testing.T) {
	g := mustGate(t)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	// bill, a billing manager, is an administrator for an hour: until then
	// he may make others cis_processors and billing managers (T2).
	if status, body := g.api("PUT", "/v1/organisations/brightcis/members/bill/roles/administrator", "user:olivia", map[string]any{"expiresAt": until.Format(time.RFC3339)}); status != http.StatusNoContent {
		t.Fatalf("granting bill administrator for an hour: %d %v", status, body)
	}
	p := g.signedIn("carla").get("/console/organisations/brightcis/invoices")
	if p.Status != http.StatusForbidden {
		t.Fatalf("a cis_processor's invoices answered %d", p.Status)
	}
	shows(t, p, "Missing: user:carla is billing manager of organisation:brightcis. Who may grant it: adam, bill (until "+until.Format(time.DateTime)+" UTC), olivia.")
	lacks(t, p, "adam (until", "olivia (until")
}
