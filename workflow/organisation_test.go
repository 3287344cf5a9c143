package workflow_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

var organisationRules = []rule{
	{"X3_an_organisation_name_of_spaces_is_refused", func(t *testing.T, f fixture) {
		_, err := f.svc.CreateOrganisation(t.Context(), gatehouse.User("x3o-owner"), "x3o", " \t ")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "name"})
		o, err := f.svc.CreateOrganisation(t.Context(), gatehouse.User("x3o-owner"), "x3o", " Initech ")
		mustOK(t, err, "creating")
		if o.Name != "Initech" {
			t.Errorf("created as %q, want the name without its spaces", o.Name)
		}
	}},
	{"O1_the_creator_owns_and_a_second_create_conflicts", func(t *testing.T, f fixture) {
		tm := f.mustTeam("o1")
		o, err := f.svc.GetOrganisation(t.Context(), tm.owner(), "o1")
		mustOK(t, err, "reading o1")
		if o.Owner != tm.owner() || o.Name != "Org o1" || o.ZedToken == "" {
			t.Errorf("organisation = %+v", o)
		}
		_, err = f.svc.CreateOrganisation(t.Context(), gatehouse.User("rival"), "o1", "Rival")
		mustRefuse(t, err, want{code: gatehouse.ECONFLICT, rule: "O1"})
		if got := tm.holders(gatehouse.RoleOwner); !slices.Equal(got, []string{tm.owner().String()}) {
			t.Errorf("owners = %v", got)
		}
	}},
	{"X1_outsiders_read_nothing", func(t *testing.T, f fixture) {
		f.mustTeam("x1")
		_, err := f.svc.GetOrganisation(t.Context(), gatehouse.User("mallory"), "x1")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermMember})
		_, _, err = f.svc.Members(t.Context(), gatehouse.User("mallory"), "x1")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermMember})
		_, err = f.svc.GetOrganisation(t.Context(), gatehouse.User("mallory"), "nowhere")
		mustRefuse(t, err, want{code: gatehouse.ENOTFOUND})
	}},
	{"O4_only_the_owner_transfers_and_only_to_a_member", func(t *testing.T, f fixture) {
		tm := f.mustTeam("o4", gatehouse.RoleAdministrator, gatehouse.RoleITAdmin)
		admin, itAdmin := tm.user(gatehouse.RoleAdministrator), tm.user(gatehouse.RoleITAdmin)
		_, err := f.svc.TransferOwnership(t.Context(), admin, tm.id, itAdmin, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermTransferOwnership})
		_, err = f.svc.TransferOwnership(t.Context(), tm.owner(), tm.id, gatehouse.User("stranger"), "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "O4"})
		_, err = f.svc.TransferOwnership(t.Context(), tm.owner(), tm.id, tm.owner(), "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "O4"})

		_, err = f.svc.TransferOwnership(t.Context(), tm.owner(), tm.id, itAdmin, "retiring")
		mustOK(t, err, "transferring")
		if got := tm.holders(gatehouse.RoleOwner); !slices.Equal(got, []string{itAdmin.String()}) {
			t.Errorf("owners after the transfer = %v", got)
		}
		// Decision: the previous owner stays on as an administrator.
		if !slices.Contains(tm.holders(gatehouse.RoleAdministrator), tm.owner().String()) {
			t.Error("the previous owner is not an administrator")
		}
		if f.allowed(tm.ref(), gatehouse.PermDelete, tm.owner()) {
			t.Error("the previous owner may still delete")
		}
	}},
	{"O6_the_owner_role_moves_only_by_transfer", func(t *testing.T, f fixture) {
		tm := f.mustTeam("o6", gatehouse.RoleSecurityAdmin)
		sa := tm.user(gatehouse.RoleSecurityAdmin)
		_, err := f.svc.RevokeRole(t.Context(), sa, tm.id, tm.owner(), gatehouse.RoleOwner, "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "O6"})
		_, err = f.svc.RemoveMember(t.Context(), sa, tm.id, tm.owner(), "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "O6"})
		_, err = f.svc.GrantRole(t.Context(), tm.owner(), workflow.RoleGrant{Org: tm.id, User: sa, Role: gatehouse.RoleOwner})
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "O2"})
	}},
	{"O3_only_the_owner_deletes_and_everything_goes", func(t *testing.T, f fixture) {
		tm := f.mustTeam("o3", gatehouse.RoleSecurityAdmin, gatehouse.RoleITAdmin)
		neighbour := f.mustTeam("o3x")
		ctx := t.Context()
		_, err := f.svc.CreateContractor(ctx, tm.owner(), tm.id, workflow.Contractor{ID: "o3-c", Name: "Joinery", AdminOnly: true})
		mustOK(t, err, "creating a contractor")
		_, err = f.svc.CreateInvoice(ctx, tm.owner(), tm.id, workflow.Invoice{ID: "o3-inv", Amount: "10.00", Currency: "GBP"})
		mustOK(t, err, "creating an invoice")
		_, err = f.svc.FileChangeRequest(ctx, tm.user(gatehouse.RoleITAdmin), workflow.NewChangeRequest{ID: "o3-cr", Organisation: tm.id, Kind: gatehouse.KindPublicFacing})
		mustOK(t, err, "filing a change request")
		tm.mustDesignate(tm.owner(), tm.owner(), gatehouse.DesignationMainContact)
		_, err = f.svc.GrantException(ctx, tm.owner(), workflow.Exception{Organisation: tm.id, User: tm.user(gatehouse.RoleITAdmin), Kind: gatehouse.KindService}, "")
		mustOK(t, err, "granting an exception")

		_, err = f.svc.DeleteOrganisation(ctx, tm.user(gatehouse.RoleSecurityAdmin), tm.id, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermDelete})
		_, err = f.svc.DeleteOrganisation(ctx, tm.owner(), tm.id, "")
		mustOK(t, err, "deleting")
		for _, obj := range []gatehouse.Object{
			tm.ref(), gatehouse.ContractorRef("o3-c"), gatehouse.InvoiceRef("o3-inv"), gatehouse.ChangeRequestRef("o3-cr"),
			gatehouse.ChangeKindRef(tm.id, gatehouse.KindService),
		} {
			if left := f.relationshipsOf(obj); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		}
		if f.allowed(gatehouse.ContractorRef("o3-c"), gatehouse.PermView, tm.owner()) {
			t.Error("the owner still sees the contractor")
		}
		_, err = f.svc.GetOrganisation(ctx, tm.owner(), tm.id)
		mustRefuse(t, err, want{code: gatehouse.ENOTFOUND})
		if len(f.relationshipsOf(neighbour.ref())) == 0 {
			t.Error("the neighbour o3x lost its relationships")
		}
		// The id is free again.
		_, err = f.svc.CreateOrganisation(ctx, gatehouse.User("heir"), tm.id, "Reborn")
		mustOK(t, err, "creating o3 again")
	}},
	{"O3_an_interrupted_delete_finishes_when_its_owner_retries", func(t *testing.T, f fixture) {
		tm := f.mustTeam("o3i", gatehouse.RoleSecurityAdmin, gatehouse.RoleITAdmin, gatehouse.RoleITManager)
		ctx := t.Context()
		itAdmin := tm.user(gatehouse.RoleITAdmin)
		var objs []gatehouse.Object
		for i := range 3 {
			c, err := f.svc.CreateContractor(ctx, tm.owner(), tm.id, workflow.Contractor{ID: fmt.Sprint("o3i-c", i), Name: "C", AdminOnly: i == 0})
			mustOK(t, err, "creating a contractor")
			objs = append(objs, gatehouse.ContractorRef(c.ID))
		}
		_, err := f.svc.CreateInvoice(ctx, tm.owner(), tm.id, workflow.Invoice{ID: "o3i-inv", Amount: "10.00", Currency: "GBP"})
		mustOK(t, err, "creating an invoice")
		_, err = f.svc.FileChangeRequest(ctx, itAdmin, workflow.NewChangeRequest{ID: "o3i-cr", Organisation: tm.id, Kind: gatehouse.KindPublicFacing})
		mustOK(t, err, "filing a change request")
		tm.mustDesignate(tm.owner(), tm.owner(), gatehouse.DesignationMainContact)
		_, err = f.svc.GrantException(ctx, tm.owner(), workflow.Exception{Organisation: tm.id, User: itAdmin, Kind: gatehouse.KindService}, "")
		mustOK(t, err, "granting an exception")
		_, err = f.svc.GrantException(ctx, tm.owner(), workflow.Exception{Organisation: tm.id, User: itAdmin, Kind: gatehouse.KindPublicFacing, Target: "page:home"}, "")
		mustOK(t, err, "granting an exception on a target")
		objs = append(objs, tm.ref(), gatehouse.InvoiceRef("o3i-inv"), gatehouse.ChangeRequestRef("o3i-cr"),
			gatehouse.ChangeKindRef(tm.id, gatehouse.KindService), gatehouse.ChangeTargetRef(tm.id, gatehouse.KindPublicFacing, "page:home"))

		// The request is cancelled once the clean-up has deleted its first batch.
		cut, cancel := context.WithCancel(ctx)
		defer cancel()
		interrupted := workflow.New(&hookStore{Store: f.store, afterDelete: cancel})
		_, err = interrupted.DeleteOrganisation(cut, tm.owner(), tm.id, "")
		if err == nil {
			t.Fatal("the delete was not interrupted")
		}
		left := 0
		for _, obj := range objs {
			left += len(f.relationshipsOf(obj))
		}
		if left == 0 {
			t.Fatal("the interrupted delete left nothing: the test proves nothing")
		}
		// Decided: nobody else holds anything of it, and the id is taken.
		for _, u := range []gatehouse.Subject{tm.user(gatehouse.RoleSecurityAdmin), itAdmin, tm.user(gatehouse.RoleITManager)} {
			if f.allowed(tm.ref(), gatehouse.PermMember, u) || f.allowed(gatehouse.ContractorRef("o3i-c1"), gatehouse.PermView, u) {
				t.Errorf("%s still reaches %s after the decision", u, tm.id)
			}
		}
		_, err = f.svc.CreateOrganisation(ctx, gatehouse.User("heir"), tm.id, "Heir")
		mustRefuse(t, err, want{code: gatehouse.ECONFLICT, rule: "O3"})
		// Only its owner finishes it.
		_, err = f.svc.DeleteOrganisation(ctx, tm.user(gatehouse.RoleSecurityAdmin), tm.id, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermDelete})
		_, err = f.svc.DeleteOrganisation(ctx, tm.owner(), tm.id, "")
		mustOK(t, err, "the owner's retry")

		for _, obj := range objs {
			if rels := f.relationshipsOf(obj); len(rels) != 0 {
				t.Errorf("left behind: %v", rels)
			}
		}
		for _, u := range []gatehouse.Subject{tm.owner(), tm.user(gatehouse.RoleSecurityAdmin), itAdmin, staff} {
			for _, c := range []struct {
				res        gatehouse.Object
				permission string
			}{
				{tm.ref(), gatehouse.PermMember},
				{tm.ref(), gatehouse.PermDelete},
				{gatehouse.ContractorRef("o3i-c0"), gatehouse.PermView},
				{gatehouse.ContractorRef("o3i-c2"), gatehouse.PermView},
				{gatehouse.InvoiceRef("o3i-inv"), gatehouse.PermView},
				{gatehouse.ChangeRequestRef("o3i-cr"), gatehouse.PermView},
			} {
				if f.allowed(c.res, c.permission, u) {
					t.Errorf("%s holds %s on %s", u, c.permission, c.res)
				}
			}
		}
		_, err = f.svc.DeleteOrganisation(ctx, tm.owner(), tm.id, "")
		mustRefuse(t, err, want{code: gatehouse.ENOTFOUND})
		_, err = f.svc.CreateOrganisation(ctx, gatehouse.User("heir"), tm.id, "Heir")
		mustOK(t, err, "creating %s again", tm.id)
	}},
	{"O3_data_naming_an_organisation_that_no_longer_exists_blocks_the_id_until_staff_clear_it", func(t *testing.T, f fixture) {
		// Data naming an organisation with no owner: left by a delete before
		// deletes kept the owner to the end, or written straight into SpiceDB.
		f.touch(gatehouse.Relationship{Resource: gatehouse.ContractorRef("ghost-c"), Relation: gatehouse.RelOrganisation, Subject: gatehouse.Subject{Object: gatehouse.OrganisationRef("ghost")}})
		_, err := f.svc.CreateOrganisation(t.Context(), gatehouse.User("heir"), "ghost", "Heir")
		mustRefuse(t, err, want{code: gatehouse.ECONFLICT, rule: "O3"})
		_, err = f.svc.DeleteOrganisation(t.Context(), gatehouse.User("heir"), "ghost", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermStaffMember})
		_, err = f.svc.DeleteOrganisation(t.Context(), staff, "ghost", "")
		mustOK(t, err, "staff finishing the delete")
		_, err = f.svc.CreateOrganisation(t.Context(), gatehouse.User("heir"), "ghost", "Heir")
		mustOK(t, err, "creating ghost after the clean-up")
	}},
	{"X5_an_organisation_id_never_contains_a_slash", func(t *testing.T, f fixture) {
		_, err := f.svc.CreateOrganisation(t.Context(), gatehouse.User("a"), "evil/x", "Evil")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "id"})
		if left := f.relationshipsOf(gatehouse.OrganisationRef("evil/x")); len(left) != 0 {
			t.Errorf("written: %v", left)
		}
		// Every workflow reads organisation ids through the same check.
		_, err = f.svc.GrantRole(t.Context(), gatehouse.User("a"), workflow.RoleGrant{Org: "evil/x", User: gatehouse.User("b"), Role: gatehouse.RoleITAdmin})
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "org"})
		_, err = f.svc.DeleteOrganisation(t.Context(), gatehouse.User("a"), "evil/x", "")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "org"})
	}},
	{"X3_bad_input_names_its_field", func(t *testing.T, f fixture) {
		_, err := f.svc.CreateOrganisation(t.Context(), gatehouse.User("a"), "", "Nameless")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "id"})
		_, err = f.svc.CreateOrganisation(t.Context(), gatehouse.User("a"), "x3", "")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "name"})
		_, err = f.svc.TransferOwnership(t.Context(), gatehouse.User("a"), "x3", gatehouse.Subject{Object: gatehouse.Provider}, "")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "to"})
	}},
}
