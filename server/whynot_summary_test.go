package server

import (
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// TestWhyNotSummary_T5 words a grant whose grantor holds it only through
// an expiring role (T5, X6): the summary says until when, for them alone,
// both for the nearest open way and for a block's lift.
func TestWhyNotSummary_T5(t *testing.T) {
	req := gatehouse.CheckRequest{Resource: gatehouse.MustObject("contractor:c1"), Permission: "view", Subject: gatehouse.User("bill")}
	g := &wire.Grantors{
		Endpoint: "PUT /v1/organisations/brightcis/members/bill/roles/cis_processor", Permission: "manage_team_members",
		On: "organisation:brightcis", Subjects: []string{"user:adam", "user:carla"}, Until: map[string]string{"user:carla": "2026-12-07T11:00:00Z"},
	}
	open := whyNotSummary(req, []wire.WhyNotWay{{Via: "organisation->view_unflagged_contractors->cis_processor", Missing: []wire.Missing{{Relationship: "organisation:brightcis#cis_processor@user:bill", Grantors: g}}}})
	want := "which adam or carla (until 2026-12-07T11:00:00Z) (manage_team_members on organisation:brightcis) may write through PUT"
	if !strings.Contains(open, want) {
		t.Errorf("summary %q lacks %q", open, want)
	}
	lift := *g
	lift.Endpoint = "PATCH /v1/contractors/c3"
	blocked := whyNotSummary(req, []wire.WhyNotWay{{Via: "organisation->view_unflagged_contractors->cis_processor", BlockedBy: []wire.BlockedBy{{Relation: "contractor:c3#admin_only", Rule: "K2", Reason: "the contractor is admin-only", Lift: &lift}}}})
	if want := "adam or carla (until 2026-12-07T11:00:00Z) (manage_team_members on organisation:brightcis) may lift it"; !strings.Contains(blocked, want) {
		t.Errorf("summary %q lacks %q", blocked, want)
	}
}
