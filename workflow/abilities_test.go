package workflow_test

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// TestAbilities proves the workflow's answer to "what may this actor do
// here" on every type it answers on: each permission it names exists on
// the type (SpiceDB refuses an unknown one), each agrees with a check, and
// an outsider holds none (X1).
func TestAbilities(t *testing.T) {
	f := mustFixture(t)
	tm := f.mustTeam("ab", gatehouse.RoleAdministrator, gatehouse.RoleCISProcessor, gatehouse.RoleFinanceAdmin)
	out := f.mustTeam("ab2")
	ctx := t.Context()
	_, err := f.svc.CreateContractor(ctx, tm.owner(), tm.id, workflow.Contractor{ID: "ab-c", Name: "Northwind", AdminOnly: true})
	mustOK(t, err, "creating a contractor")
	_, err = f.svc.CreateInvoice(ctx, tm.owner(), tm.id, workflow.Invoice{ID: "ab-i", Amount: "10.00", Currency: "EUR"})
	mustOK(t, err, "creating an invoice")
	objects := []gatehouse.Object{tm.ref(), gatehouse.ContractorRef("ab-c"), gatehouse.InvoiceRef("ab-i"), gatehouse.ChangeRequestRef("ab-none"), gatehouse.Provider}
	for _, who := range []gatehouse.Subject{tm.owner(), tm.user(gatehouse.RoleAdministrator), tm.user(gatehouse.RoleCISProcessor), tm.user(gatehouse.RoleFinanceAdmin), out.owner(), staff} {
		for _, obj := range objects {
			ab, err := f.svc.Abilities(ctx, who, obj)
			mustOK(t, err, "abilities of %s on %s", who, obj)
			if ab.Object != obj || len(ab.Permissions) == 0 {
				t.Fatalf("%s on %s: %+v", who, obj, ab)
			}
			for p, held := range ab.Permissions {
				if want := f.allowed(obj, p, who); held != want {
					t.Errorf("%s on %s: %s = %v, a check says %v", who, obj, p, held, want)
				}
				if who == out.owner() && held && obj != gatehouse.Provider {
					t.Errorf("an outsider holds %s on %s (X1)", p, obj)
				}
			}
		}
	}
	ab, err := f.svc.Abilities(ctx, tm.owner(), tm.ref())
	mustOK(t, err, "the owner's abilities")
	for _, role := range gatehouse.Roles() {
		if role == gatehouse.RoleOwner {
			continue
		}
		if _, ok := ab.Permissions[workflow.RolePermission(role)]; !ok {
			t.Errorf("no answer for %s, which granting %s needs", workflow.RolePermission(role), role)
		}
	}
	_, err = f.svc.Abilities(ctx, tm.owner(), gatehouse.ChangeKindRef(tm.id, gatehouse.KindPublicFacing))
	mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "object"})
}

// TestConsoleReads proves the reads the console makes through the
// workflow: a page of contractors keeps those the actor may view (K2, K3,
// R6), a page of invoices needs view_billing (R5), declarations need
// manage_members (C15), and each refuses naming what is lacking.
func TestConsoleReads(t *testing.T) {
	f := mustFixture(t)
	tm := f.mustTeam("rd", gatehouse.RoleAdministrator, gatehouse.RoleCISProcessor, gatehouse.RoleBillingManager)
	out := f.mustTeam("rd2")
	ctx := t.Context()
	for _, c := range []workflow.Contractor{{ID: "rd-a", Name: "Alpha"}, {ID: "rd-b", Name: "Beta", AdminOnly: true}} {
		_, err := f.svc.CreateContractor(ctx, tm.owner(), tm.id, c)
		mustOK(t, err, "creating %s", c.ID)
	}
	ids := func(cs []workflow.Contractor) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID+"/"+c.Name)
		}
		return out
	}
	list, _, err := f.svc.ListContractors(ctx, tm.user(gatehouse.RoleAdministrator), tm.id, 0, "")
	mustOK(t, err, "the administrator's list")
	if got := ids(list); len(got) != 2 || got[0] != "rd-a/Alpha" || got[1] != "rd-b/Beta" || !list[1].AdminOnly {
		t.Errorf("the administrator lists %v", list)
	}
	list, _, err = f.svc.ListContractors(ctx, tm.user(gatehouse.RoleCISProcessor), tm.id, 0, "")
	mustOK(t, err, "the CIS processor's list")
	if got := ids(list); len(got) != 1 || got[0] != "rd-a/Alpha" {
		t.Errorf("K2: the CIS processor lists %v", got)
	}
	list, _, err = f.svc.ListContractors(ctx, tm.user(gatehouse.RoleBillingManager), tm.id, 0, "")
	mustOK(t, err, "the billing manager's list")
	if len(list) != 0 {
		t.Errorf("R6: the billing manager lists %v", ids(list))
	}
	_, _, err = f.svc.ListContractors(ctx, out.owner(), tm.id, 0, "")
	mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermMember})
	_, _, err = f.svc.ListContractors(ctx, tm.owner(), "rd-none", 0, "")
	mustRefuse(t, err, want{code: gatehouse.ENOTFOUND})

	_, err = f.svc.CreateInvoice(ctx, tm.owner(), tm.id, workflow.Invoice{ID: "rd-i", Amount: "12.50", Currency: "EUR"})
	mustOK(t, err, "creating an invoice")
	invs, _, err := f.svc.ListInvoices(ctx, tm.user(gatehouse.RoleBillingManager), tm.id, 0, "")
	mustOK(t, err, "the billing manager's invoices")
	if len(invs) != 1 || invs[0].Amount != "12.50" || invs[0].Currency != "EUR" {
		t.Errorf("invoices %+v", invs)
	}
	_, _, err = f.svc.ListInvoices(ctx, tm.user(gatehouse.RoleCISProcessor), tm.id, 0, "")
	mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermViewBilling})

	_, err = f.svc.SetAlwaysSubstantial(ctx, tm.owner(), tm.id, gatehouse.KindPublicFacing, "", true, false)
	mustOK(t, err, "declaring")
	ds, err := f.svc.ListAlwaysSubstantial(ctx, tm.owner(), tm.id)
	mustOK(t, err, "listing declarations")
	if len(ds) != 1 || ds[0].Kind != gatehouse.KindPublicFacing || !ds[0].Security || ds[0].Charge {
		t.Errorf("declarations %+v", ds)
	}
	_, err = f.svc.ListAlwaysSubstantial(ctx, tm.user(gatehouse.RoleAdministrator), tm.id)
	mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageMembers})

	orgs, _, err := f.svc.ListOrganisations(ctx, tm.owner(), false, 0, "")
	mustOK(t, err, "listing organisations")
	if len(orgs) != 1 || orgs[0].ID != tm.id || orgs[0].Name == "" {
		t.Errorf("the owner's organisations %+v", orgs)
	}
	orgs, _, err = f.svc.ListOrganisations(ctx, staff, true, 0, "")
	mustOK(t, err, "listing the organisations staff serve")
	if len(orgs) < 2 || orgs[0].Name != "" {
		t.Errorf("staff serve %+v, named %q", orgs, orgs[0].Name)
	}

	_, err = f.svc.Why(ctx, tm.owner(), gatehouse.CheckRequest{Resource: tm.ref(), Permission: gatehouse.PermDelete, Subject: out.owner()})
	mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermStaffMember})
	why, err := f.svc.Why(ctx, out.owner(), gatehouse.CheckRequest{Resource: tm.ref(), Permission: gatehouse.PermDelete, Subject: out.owner()})
	mustOK(t, err, "asking why not about oneself")
	if why.Allowed || why.Definition == "" {
		t.Errorf("why not: %+v", why)
	}
	if err := f.svc.RequireTrail(ctx, tm.user(gatehouse.RoleCISProcessor), tm.id); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
		t.Errorf("X2: a CIS processor may read the trail: %v", err)
	}
}

// TestAbilitiesAgreeWithTheWorkflow (issue 22 item 1): what Abilities
// says each person may do on an organisation is what the workflow then
// does: each read answers or refuses as May says, each command is refused
// or made as May says (tried over a dry run, which writes nothing), and
// MayRemove and MayReview agree with RemoveMember and MemberAccess for
// every member (T2, S2, O6).
func TestAbilitiesAgreeWithTheWorkflow(t *testing.T) {
	f := mustFixture(t)
	roles := []string{gatehouse.RoleSecurityAdmin, gatehouse.RoleAdministrator, gatehouse.RoleCISProcessor, gatehouse.RoleFinanceAdmin, gatehouse.RoleBillingManager, gatehouse.RoleITManager}
	tm := f.mustTeam("ag", roles...)
	out := f.mustTeam("ag2")
	ctx := t.Context()
	people := []gatehouse.Subject{tm.owner(), out.owner(), staff}
	for _, r := range roles {
		people = append(people, tm.user(r))
	}
	members, _, err := f.svc.Members(ctx, tm.owner(), tm.id)
	mustOK(t, err, "the members")
	dry := func() *workflow.Service { return f.svc.Over(dryrun.New(f.store, nil)) }
	for _, who := range people {
		ab, err := f.svc.Abilities(ctx, who, tm.ref())
		mustOK(t, err, "abilities of %s", who)
		did := map[string]error{}
		_, _, did[workflow.ReadContractors] = f.svc.ListContractors(ctx, who, tm.id, 10, "")
		_, _, did[workflow.ReadInvoices] = f.svc.ListInvoices(ctx, who, tm.id, 10, "")
		_, _, did[workflow.ReadChangeRequests] = f.svc.ListChangeRequests(ctx, who, tm.id, "", false, 10, "")
		_, _, did[workflow.ReadExceptions] = f.svc.ListExceptions(ctx, who, tm.id, 10, "")
		_, did[workflow.ReadAlwaysSubstantial] = f.svc.ListAlwaysSubstantial(ctx, who, tm.id)
		_, did[workflow.ReadAccessReview] = f.svc.Access(ctx, who, tm.id, 10, "")
		_, did[workflow.ActionCreateContractor] = dry().CreateContractor(ctx, who, tm.id, workflow.Contractor{ID: "ag-new", Name: "New"})
		_, did[workflow.ActionCreateInvoice] = dry().CreateInvoice(ctx, who, tm.id, workflow.Invoice{ID: "ag-inv", Amount: "1.00", Currency: "EUR"})
		for action, err := range did {
			if refused := gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN; err != nil && !refused {
				t.Fatalf("%s: %s: %v", who, action, err)
			} else if ab.May(action) == refused {
				t.Errorf("%s: Abilities says %s is %v, the workflow %v", who, action, ab.May(action), err)
			}
		}
		for _, m := range members {
			_, err := dry().RemoveMember(ctx, who, tm.id, m.User, "")
			if got, want := ab.MayRemove(m), err == nil; got != want {
				t.Errorf("%s removing %s: MayRemove %v, RemoveMember %v", who, m.User, got, err)
			}
			_, _, err = f.svc.MemberAccess(ctx, who, tm.id, m.User)
			if got, want := ab.MayReview(m.User), err == nil; got != want {
				t.Errorf("%s reviewing %s: MayReview %v, MemberAccess %v", who, m.User, got, err)
			}
		}
	}
}
