package console

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// handleInvoices serves GET /console/organisations/{org}/invoices: the
// organisation's invoices the actor may view (the workflow's
// ListInvoices: invoice#view, K3), a page at a time, and the create form
// where Abilities on the organisation says the actor holds manage_billing.
// Outsiders are refused as GetOrganisation refuses them; members without
// view_billing (a CIS processor, R5; an IT admin; a member designated
// no_financial_access, R7) get 403 naming it.
func (c *console) handleInvoices(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	ctx := r.Context()
	o, err := c.cfg.Workflow.GetOrganisation(ctx, a.actor, org)
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	list, cursor, err := c.cfg.Workflow.ListInvoices(ctx, a.actor, org, pageSize, r.URL.Query().Get("cursor"))
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	ab, err := c.cfg.Workflow.Abilities(ctx, a.actor, gatehouse.OrganisationRef(org))
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	next := ""
	if cursor != "" {
		next = "?cursor=" + url.QueryEscape(cursor)
	}
	c.render(w, r, http.StatusOK, "invoices", view{Title: o.Name + ": invoices", Org: org, Done: doneOf(r), Data: struct {
		Invoices []workflow.Invoice
		Manage   bool
		Next     string
	}{list, ab.May(workflow.ActionCreateInvoice), next}})
}

// handleCreateInvoice serves POST /console/organisations/{org}/invoices:
// CreateInvoice with the form's id, amount and currency, as
// POST /v1/organisations/{org}/invoices does (manage_billing; O5, R3, R7).
func (c *console) handleCreateInvoice(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	f := r.PostForm
	_, err := c.cfg.Workflow.CreateInvoice(r.Context(), a.actor, org, workflow.Invoice{
		ID: f.Get("id"), Amount: f.Get("amount"), Currency: f.Get("currency"),
	})
	if err != nil {
		c.refuse(w, r, a, org, err, "invoice", c.handleInvoices)
		return
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(org)+"/invoices", "invoiced")
}
