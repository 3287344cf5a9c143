package workflow_test

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

var contractorRules = []rule{
	{"K1_a_contractor_belongs_to_exactly_one_organisation", func(t *testing.T, f fixture) {
		a, b := f.mustTeam("k1a"), f.mustTeam("k1b")
		c, err := f.svc.CreateContractor(t.Context(), a.owner(), a.id, workflow.Contractor{ID: "k1-c", Name: "Northwind"})
		mustOK(t, err, "creating")
		if c.Organisation != a.id || c.ZedToken == "" {
			t.Errorf("contractor = %+v", c)
		}
		_, err = f.svc.CreateContractor(t.Context(), b.owner(), b.id, workflow.Contractor{ID: "k1-c"})
		mustRefuse(t, err, want{code: gatehouse.ECONFLICT, rule: "K1", field: "id"})
		if f.allowed(gatehouse.ContractorRef("k1-c"), gatehouse.PermView, b.owner()) {
			t.Error("the other organisation's owner sees the contractor")
		}
	}},
	{"K2_admin_only_hidden_from_cis_processor_until_lifted", func(t *testing.T, f fixture) {
		tm := f.mustTeam("k2", gatehouse.RoleAdministrator, gatehouse.RoleCISProcessor, gatehouse.RoleITManager, gatehouse.RoleBillingManager)
		admin, cis, itm := tm.user(gatehouse.RoleAdministrator), tm.user(gatehouse.RoleCISProcessor), tm.user(gatehouse.RoleITManager)
		secret := gatehouse.ContractorRef("k2-c")
		_, err := f.svc.CreateContractor(t.Context(), admin, tm.id, workflow.Contractor{ID: secret.ID, Name: "Sentinel", AdminOnly: true})
		mustOK(t, err, "creating")
		for _, c := range []struct {
			who  gatehouse.Subject
			sees bool
		}{{tm.owner(), true}, {admin, true}, {cis, false}, {itm, false}, {tm.user(gatehouse.RoleBillingManager), false}} {
			if got := f.allowed(secret, gatehouse.PermView, c.who); got != c.sees {
				t.Errorf("%s sees the admin-only contractor: %v, want %v", c.who, got, c.sees)
			}
		}
		off, name := false, "Sentinel Ltd"
		got, err := f.svc.PatchContractor(t.Context(), admin, secret.ID, workflow.ContractorPatch{AdminOnly: &off, Name: &name})
		mustOK(t, err, "lifting the flag")
		if got.AdminOnly || got.Name != name || got.Organisation != tm.id {
			t.Errorf("patched = %+v", got)
		}
		for _, u := range []gatehouse.Subject{cis, itm} {
			if !f.allowed(secret, gatehouse.PermView, u) {
				t.Errorf("%s does not see the contractor once the flag is lifted", u)
			}
		}
		_, err = f.svc.PatchContractor(t.Context(), cis, secret.ID, workflow.ContractorPatch{AdminOnly: &off})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageContractors})
		_, err = f.svc.PatchContractor(t.Context(), admin, secret.ID, workflow.ContractorPatch{})
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "body"})
	}},
	{"R4_an_administrator_deletes_a_contractor_a_cis_processor_cannot", func(t *testing.T, f fixture) {
		tm := f.mustTeam("r4", gatehouse.RoleAdministrator, gatehouse.RoleCISProcessor)
		_, err := f.svc.CreateContractor(t.Context(), tm.user(gatehouse.RoleCISProcessor), tm.id, workflow.Contractor{ID: "r4-c"})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageContractors})
		_, err = f.svc.CreateContractor(t.Context(), tm.user(gatehouse.RoleAdministrator), tm.id, workflow.Contractor{ID: "r4-c"})
		mustOK(t, err, "creating")
		_, err = f.svc.DeleteContractor(t.Context(), tm.user(gatehouse.RoleCISProcessor), "r4-c", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageContractors})
		_, err = f.svc.DeleteContractor(t.Context(), tm.user(gatehouse.RoleAdministrator), "r4-c", "")
		mustOK(t, err, "deleting")
		if left := f.relationshipsOf(gatehouse.ContractorRef("r4-c")); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
		_, err = f.svc.DeleteContractor(t.Context(), tm.user(gatehouse.RoleAdministrator), "r4-c", "")
		mustRefuse(t, err, want{code: gatehouse.ENOTFOUND})
	}},
	{"X3_a_contractor_name_of_spaces_is_refused", func(t *testing.T, f fixture) {
		tm := f.mustTeam("x3c")
		_, err := f.svc.CreateContractor(t.Context(), tm.owner(), tm.id, workflow.Contractor{ID: "x3-c", Name: "   "})
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "name"})
		c, err := f.svc.CreateContractor(t.Context(), tm.owner(), tm.id, workflow.Contractor{ID: "x3-c", Name: " Oak Roofing "})
		mustOK(t, err, "creating")
		if c.Name != "Oak Roofing" {
			t.Errorf("created as %q, want the name without its spaces", c.Name)
		}
		blank := " \t "
		_, err = f.svc.PatchContractor(t.Context(), tm.owner(), "x3-c", workflow.ContractorPatch{Name: &blank})
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "name"})
	}},
}

var invoiceRules = []rule{
	{"R3_the_finance_admin_creates_invoices_the_administrator_cannot", func(t *testing.T, f fixture) {
		tm := f.mustTeam("r3", gatehouse.RoleFinanceAdmin, gatehouse.RoleAdministrator, gatehouse.RoleBillingManager)
		inv, err := f.svc.CreateInvoice(t.Context(), tm.user(gatehouse.RoleFinanceAdmin), tm.id, workflow.Invoice{ID: "r3-inv", Amount: "120.00", Currency: "GBP"})
		mustOK(t, err, "creating")
		if inv.Organisation != tm.id || inv.ZedToken == "" {
			t.Errorf("invoice = %+v", inv)
		}
		_, err = f.svc.CreateInvoice(t.Context(), tm.user(gatehouse.RoleAdministrator), tm.id, workflow.Invoice{ID: "r3-inv2", Amount: "1", Currency: "GBP"})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageBilling})
		_, err = f.svc.CreateInvoice(t.Context(), tm.owner(), tm.id, workflow.Invoice{ID: "r3-inv", Amount: "1", Currency: "GBP"})
		mustRefuse(t, err, want{code: gatehouse.ECONFLICT, field: "id"})
		// R6: the billing manager sees invoices; an outsider does not (X1).
		if !f.allowed(gatehouse.InvoiceRef("r3-inv"), gatehouse.PermView, tm.user(gatehouse.RoleBillingManager)) {
			t.Error("the billing manager does not see the invoice")
		}
		if f.allowed(gatehouse.InvoiceRef("r3-inv"), gatehouse.PermView, gatehouse.User("mallory")) {
			t.Error("an outsider sees the invoice")
		}
	}},
	{"X3_an_invoice_amount_and_currency_are_checked", func(t *testing.T, f fixture) {
		tm := f.mustTeam("x3inv")
		for _, c := range []struct{ amount, currency, field string }{
			{"-1", "GBP", "amount"},
			{"1e3", "GBP", "amount"},
			{"01.00", "GBP", "amount"},
			{"1.00", "gbp", "currency"},
			{"1.00", "XYZ", "currency"},
		} {
			_, err := f.svc.CreateInvoice(t.Context(), tm.owner(), tm.id, workflow.Invoice{ID: "bad", Amount: c.amount, Currency: c.currency})
			mustRefuse(t, err, want{code: gatehouse.EINVALID, field: c.field})
		}
	}},
}
