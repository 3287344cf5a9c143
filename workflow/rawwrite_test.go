package workflow_test

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// raw is one change of the raw relationship endpoint, as the server builds it.
func raw(t *testing.T, field string, op gatehouse.Operation, rel string) workflow.RawUpdate {
	t.Helper()
	r, err := gatehouse.ParseRelationship(field, rel)
	if err != nil {
		t.Fatal(err)
	}
	return workflow.RawUpdate{Field: field, Update: gatehouse.Update{Op: op, Relationship: r}}
}

// rawRules prove what the raw relationship endpoint holds beyond X4's
// classification: no data of nobody's, and leaving the team whole.
var rawRules = []rule{
	{"X4_O2_a_raw_touch_on_an_organisation_that_does_not_exist_is_404_and_writes_nothing", func(t *testing.T, f fixture) {
		_, err := f.svc.WriteRaw(t.Context(), gatehouse.Subject{}, []workflow.RawUpdate{
			raw(t, "touch[0]", gatehouse.Touch, "organisation:rawnowhere#administrator@user:zed"),
		}, "test", false)
		mustRefuse(t, err, want{code: gatehouse.ENOTFOUND, field: "touch[0]"})
		if rels := f.relationshipsOf(gatehouse.OrganisationRef("rawnowhere")); len(rels) != 0 {
			t.Errorf("written anyway: %v", rels)
		}
		// The id stays free for its real owner (O1).
		_, err = f.svc.CreateOrganisation(t.Context(), gatehouse.User("rawnowhere-owner"), "rawnowhere", "Nowhere")
		mustOK(t, err, "creating the id afterwards")
	}},
	{"X4_K1_a_raw_label_on_a_contractor_that_does_not_exist_is_404", func(t *testing.T, f fixture) {
		_, err := f.svc.WriteRaw(t.Context(), gatehouse.Subject{}, []workflow.RawUpdate{
			raw(t, "touch[1]", gatehouse.Touch, "contractor:rawghost#label@label:abc"),
		}, "test", false)
		mustRefuse(t, err, want{code: gatehouse.ENOTFOUND, field: "touch[1]"})
	}},
	{"X2_a_raw_write_on_a_contractor_is_listed_under_its_organisation", func(t *testing.T, f fixture) {
		tm := f.mustTeam("rawaudit")
		_, err := f.svc.CreateContractor(t.Context(), tm.owner(), tm.id, workflow.Contractor{ID: "rawaudit-c1", Name: "C1"})
		mustOK(t, err, "creating the contractor")
		_, err = f.svc.WriteRaw(t.Context(), gatehouse.User("ops"), []workflow.RawUpdate{
			raw(t, "touch[0]", gatehouse.Touch, "contractor:rawaudit-c1#label@label:abc"),
		}, "rename by hand", false)
		mustOK(t, err, "raw label write")
		evs, _, err := f.trail.List(t.Context(), gatehouse.AuditQuery{Organisation: tm.id, Limit: 10})
		mustOK(t, err, "reading the trail")
		if len(evs) == 0 || evs[0].Action != "write_relationships" || evs[0].Actor != "user:ops" || evs[0].Reason != "rename by hand" {
			t.Errorf("newest event of %s = %+v, want the raw write by user:ops", tm.id, evs)
		}
	}},
	{"T4_T1_a_raw_delete_of_a_members_last_role_takes_their_designations", func(t *testing.T, f fixture) {
		tm := f.mustTeam("rawleave", gatehouse.RoleITAdmin)
		mc := tm.user(gatehouse.RoleITAdmin)
		tm.mustDesignate(tm.owner(), mc, gatehouse.DesignationMainContact)
		_, err := f.svc.WriteRaw(t.Context(), gatehouse.Subject{}, []workflow.RawUpdate{
			raw(t, "delete[0]", gatehouse.Delete, "organisation:rawleave#it_admin@"+mc.String()),
		}, "test", false)
		mustOK(t, err, "raw delete of the last role")
		if got := tm.holders(gatehouse.DesignationMainContact); len(got) != 0 {
			t.Errorf("main contacts after %s left = %v, want none (T1)", mc, got)
		}
	}},
	{"T4_a_raw_delete_of_one_of_two_roles_keeps_the_designations", func(t *testing.T, f fixture) {
		tm := f.mustTeam("rawstay", gatehouse.RoleITAdmin)
		mc := tm.user(gatehouse.RoleITAdmin)
		tm.mustGrant(tm.owner(), mc, gatehouse.RoleCISProcessor)
		tm.mustDesignate(tm.owner(), mc, gatehouse.DesignationMainContact)
		_, err := f.svc.WriteRaw(t.Context(), gatehouse.Subject{}, []workflow.RawUpdate{
			raw(t, "delete[0]", gatehouse.Delete, "organisation:rawstay#it_admin@"+mc.String()),
		}, "test", false)
		mustOK(t, err, "raw delete of one role")
		if got := tm.holders(gatehouse.DesignationMainContact); len(got) != 1 {
			t.Errorf("main contacts = %v, want %s still", got, mc)
		}
	}},
}
