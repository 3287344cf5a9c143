package workflow_test

import (
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// TestPlatform: the staff lists of Platform open for provider staff
// alone (403 naming staff_member to anyone else, an organisation's owner
// included); AllOrganisations lists every organisation with what the
// reader may do to it (O7 rename, O3 delete: the owner's); PlatformTrail
// lists the events of every organisation (X2); and the endpoints' reads
// refuse what the schema does not define, naming the field (X3).
func TestPlatform(t *testing.T) {
	f := mustFixture(t)
	ctx := t.Context()
	a, b := f.mustTeam("pa"), f.mustTeam("pb")
	if _, err := f.svc.CreateOrganisation(ctx, staff, "pstaff", "Staff's own"); err != nil {
		t.Fatal(err)
	}
	svc := f.svc.WithTrail(f.trail)

	t.Run("X1_staff_only", func(t *testing.T) {
		if ok, err := svc.IsStaff(ctx, a.owner()); err != nil || ok {
			t.Errorf("IsStaff(owner) = %v, %v", ok, err)
		}
		if ok, err := svc.IsStaff(ctx, staff); err != nil || !ok {
			t.Errorf("IsStaff(staff) = %v, %v", ok, err)
		}
		_, _, err := svc.AllOrganisations(ctx, a.owner(), 10, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermStaffMember})
		_, _, err = svc.PlatformTrail(ctx, a.owner(), gatehouse.AuditQuery{})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermStaffMember})
	})

	t.Run("O3_O7_what_staff_may_do", func(t *testing.T) {
		rows, _, err := svc.AllOrganisations(ctx, staff, 10, "")
		mustOK(t, err, "listing")
		got := map[string][2]bool{}
		for _, r := range rows {
			got[r.ID] = [2]bool{r.MayRename, r.MayDelete}
		}
		wantRows := map[string][2]bool{a.id: {false, false}, b.id: {false, false}, "pstaff": {true, true}}
		for id, w := range wantRows {
			if g, ok := got[id]; !ok || g != w {
				t.Errorf("%s: rename, delete = %v (listed %v), want %v", id, g, ok, w)
			}
		}
	})

	t.Run("X2_every_organisations_trail", func(t *testing.T) {
		seen := map[string]bool{}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(seen) < 3; time.Sleep(100 * time.Millisecond) {
			evs, _, err := svc.PlatformTrail(ctx, staff, gatehouse.AuditQuery{Action: "create_organisation"})
			mustOK(t, err, "listing the trail")
			for _, e := range evs {
				seen[e.Organisation] = true
			}
		}
		for _, org := range []string{a.id, b.id, "pstaff"} {
			if !seen[org] {
				t.Errorf("the platform trail lacks the creation of %s: %v", org, seen)
			}
		}
	})

	t.Run("X3_reads_refuse_what_the_schema_lacks", func(t *testing.T) {
		_, err := svc.Check(ctx, gatehouse.CheckRequest{Resource: a.ref(), Permission: "fly", Subject: staff})
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "permission"})
		_, err = svc.Relationships(ctx, gatehouse.ReadRequest{Filter: gatehouse.Filter{ResourceType: "spaceship"}})
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "resource"})
		_, err = svc.LookupSubjects(ctx, gatehouse.LookupSubjectsRequest{Resource: a.ref(), Permission: gatehouse.PermMember, SubjectType: "robot"})
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "subjectType"})
	})
}
