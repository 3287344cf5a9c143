package console

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// TestTrailRowsOnePerAction: an action that settled its request in its
// own write says so in one row (details "settled", "authorisedAsFiled"),
// and an older settling write of its own still joins the action it
// followed (C14; issue 22's one row per action).
func TestTrailRowsOnePerAction(t *testing.T) {
	ev := func(action string, details map[string]string) gatehouse.AuditEvent {
		return gatehouse.AuditEvent{Audit: gatehouse.Audit{Actor: "user:mia", Action: action, Organisation: "globex", Details: details}}
	}
	for _, tc := range []struct {
		name   string
		events []gatehouse.AuditEvent
		want   []string
	}{
		{"one_write_authorisation", []gatehouse.AuditEvent{
			ev("authorise_change_request", map[string]string{"changeRequest": "cr1", "gave": "authorisation", "settled": "true"}),
		}, []string{"mia authorised change request cr1; it needs nothing more."}},
		{"one_write_filing", []gatehouse.AuditEvent{
			ev("file_change_request", map[string]string{"changeRequest": "cr2", "kind": "access_permissions", "authorisedAsFiled": "true", "settled": "true"}),
		}, []string{"mia filed change request cr2 (access permissions), authorised as filed; it needs nothing more."}},
		{"older_settling_write_apart", []gatehouse.AuditEvent{
			ev("settle_change_request", map[string]string{"changeRequest": "cr3"}),
			ev("authorise_change_request", map[string]string{"changeRequest": "cr3", "gave": "authorisation"}),
		}, []string{"mia authorised change request cr3; it needs nothing more."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range trailRows("globex", tc.events) {
				var b strings.Builder
				for _, s := range r.Sentence {
					b.WriteString(s.Text)
				}
				got = append(got, b.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("rows %q, want %q", got, tc.want)
			}
		})
	}
}
