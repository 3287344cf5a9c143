package console

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// invoiceRow is one invoice of the list.
type invoiceRow struct{ ID, Amount, Currency string }

// handleInvoices serves GET /console/organisations/{org}/invoices: the
// organisation's invoices the actor may view (invoice#view, K3), a page at
// a time, and the create form for holders of manage_billing. Outsiders are
// refused as GetOrganisation refuses them; members without view_billing
// (a CIS processor, R5; an IT admin; a member designated
// no_financial_access, R7) get 403 naming it.
func (c *console) handleInvoices(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	ctx := r.Context()
	o, err := c.cfg.Workflow.GetOrganisation(ctx, a.actor, org)
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	orgRef := gatehouse.OrganisationRef(org)
	if err := c.require(r, orgRef, gatehouse.PermViewBilling, a.actor); err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	// invoice#view is view_billing today; checked per invoice all the
	// same, so the list is exactly what K3 lets the actor see.
	page, err := c.objectsOf(r, gatehouse.TypeInvoice, org, r.URL.Query().Get("cursor"), a.actor, gatehouse.PermManageBilling)
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	rows := []invoiceRow{}
	for i, rel := range page.Relationships {
		if !page.Viewable[i] {
			continue
		}
		row := invoiceRow{ID: rel.Resource.ID}
		labels, _, err := c.cfg.Store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: gatehouse.TypeInvoice, ResourceID: rel.Resource.ID, Relation: gatehouse.LabelRelation}, gatehouse.Consistency{})
		if err != nil {
			c.fail(w, r, a, org, err)
			return
		}
		for _, l := range labels {
			if m, err := gatehouse.DecodeLabel(l.Subject.Object); err == nil {
				row.Amount, row.Currency = m["amount"], m["currency"]
			}
		}
		rows = append(rows, row)
	}
	next := ""
	if page.Cursor != "" {
		next = "?cursor=" + url.QueryEscape(page.Cursor)
	}
	c.render(w, r, http.StatusOK, "invoices", view{Title: o.Name + ": invoices", Org: org, Done: doneOf(r), Data: struct {
		Invoices []invoiceRow
		Manage   bool
		Next     string
	}{rows, page.Manage, next}})
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
