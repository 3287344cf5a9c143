package dryrun_test

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
)

func rel(t *testing.T, s string) gatehouse.Relationship {
	t.Helper()
	r, err := gatehouse.ParseRelationship("rel", s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCombine: writes made one after the other become one write with the
// same effect on the state the first met.
func TestCombine(t *testing.T) {
	org := rel(t, "change_request:cr1#organisation@organisation:globex")
	by := rel(t, "change_request:cr1#authorised_by@user:tom")
	member := rel(t, "organisation:globex#it_admin@user:tom")
	exact := func(r gatehouse.Relationship, must bool) gatehouse.Precondition {
		return gatehouse.Precondition{MustMatch: must, Filter: gatehouse.Filter{
			ResourceType: r.Resource.Type, ResourceID: r.Resource.ID, Relation: r.Relation,
			SubjectType: r.Subject.Type, SubjectID: r.Subject.ID,
		}}
	}
	absent := gatehouse.Precondition{Filter: gatehouse.Filter{ResourceType: "change_request", ResourceID: "cr1"}}
	filing := gatehouse.Write{
		Updates:       []gatehouse.Update{{Op: gatehouse.Create, Relationship: org}},
		Preconditions: []gatehouse.Precondition{absent, exact(member, true)},
		Audit:         gatehouse.Audit{Actor: "user:tom", Action: "file_change_request"},
	}
	authorise := gatehouse.Write{
		Updates:       []gatehouse.Update{{Op: gatehouse.Touch, Relationship: by}, {Op: gatehouse.Touch, Relationship: org}},
		Preconditions: []gatehouse.Precondition{exact(member, true), exact(org, true), exact(by, false)},
		Audit:         gatehouse.Audit{Actor: "user:tom", Action: "authorise_change_request"},
	}
	w, err := dryrun.Combine([]gatehouse.Write{filing, authorise})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Updates) != 2 || w.Updates[0].Op != gatehouse.Create || w.Updates[0].Relationship != org || w.Updates[1].Relationship != by {
		t.Errorf("updates %+v: want the Create kept, then the touch", w.Updates)
	}
	// The pin on org, which the filing makes, goes; the member's once; the
	// pin that nobody authorised yet stays (the filing does not make it).
	if len(w.Preconditions) != 3 || w.Preconditions[0] != absent || w.Preconditions[1] != exact(member, true) || w.Preconditions[2] != exact(by, false) {
		t.Errorf("preconditions %+v", w.Preconditions)
	}
	if w.Audit.Action != "file_change_request" {
		t.Errorf("the record is %q, want the first write's", w.Audit.Action)
	}

	// A later pin that an earlier write could only break has no one-write form.
	broken := gatehouse.Write{Preconditions: []gatehouse.Precondition{exact(org, false)}}
	if _, err := dryrun.Combine([]gatehouse.Write{filing, broken}); err == nil {
		t.Error("combined a pin the filing breaks")
	}
}
