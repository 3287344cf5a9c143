package console

import (
	"net/http"

	"github.com/gatehouse-authz/gatehouse"
)

// can checks, in one bulk call at the head revision, which of permissions
// sub holds on res. A page uses it only to choose which forms to offer:
// every action is decided again by the workflow when it is sent.
func (c *console) can(r *http.Request, res gatehouse.Object, sub gatehouse.Subject, permissions ...string) (map[string]bool, error) {
	checks := make([]gatehouse.CheckRequest, len(permissions))
	for i, p := range permissions {
		checks[i] = gatehouse.CheckRequest{Resource: res, Permission: p, Subject: sub}
	}
	results, _, err := c.cfg.Store.CheckBulk(r.Context(), checks, gatehouse.Consistency{FullyConsistent: true})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(permissions))
	for i, res := range results {
		if res.Err != nil {
			return nil, res.Err
		}
		out[permissions[i]] = res.Allowed
	}
	return out, nil
}

// require is the page guard of a read the API has no endpoint for: sub
// must hold permission on res, else the API's 403 naming it.
func (c *console) require(r *http.Request, res gatehouse.Object, permission string, sub gatehouse.Subject) error {
	ok, err := c.allowed(r, res, permission, sub)
	if err == nil && !ok {
		err = gatehouse.Forbidden(sub, permission, res)
	}
	return err
}

// orgPage is one page of an organisation's contractors or invoices: the
// page as read, whether the actor may view each (K3), and whether they
// hold the organisation permission that opens the page's forms.
type orgPage struct {
	gatehouse.ReadResult
	Viewable []bool
	Manage   bool
}

// objectsOf reads the page at cursor of the objects of type typ that
// belong to org (typ#organisation@organisation:org), and checks in one
// bulk call the actor's view on each and manage on org.
func (c *console) objectsOf(r *http.Request, typ, org, cursor string, actor gatehouse.Subject, manage string) (orgPage, error) {
	page, err := c.cfg.Store.ReadRelationshipsPage(r.Context(), gatehouse.ReadRequest{
		Filter: gatehouse.Filter{ResourceType: typ, Relation: gatehouse.RelOrganisation, SubjectType: gatehouse.TypeOrganisation, SubjectID: org},
		Limit:  pageSize, Cursor: cursor,
	})
	if err != nil {
		return orgPage{}, err
	}
	checks := make([]gatehouse.CheckRequest, 0, len(page.Relationships)+1)
	for _, rel := range page.Relationships {
		checks = append(checks, gatehouse.CheckRequest{Resource: rel.Resource, Permission: gatehouse.PermView, Subject: actor})
	}
	checks = append(checks, gatehouse.CheckRequest{Resource: gatehouse.OrganisationRef(org), Permission: manage, Subject: actor})
	results, _, err := c.cfg.Store.CheckBulk(r.Context(), checks, gatehouse.Consistency{})
	if err != nil {
		return orgPage{}, err
	}
	out := orgPage{ReadResult: page, Viewable: make([]bool, len(page.Relationships))}
	for i, res := range results {
		if res.Err != nil {
			return orgPage{}, res.Err
		}
		if i < len(out.Viewable) {
			out.Viewable[i] = res.Allowed
		}
	}
	out.Manage = results[len(results)-1].Allowed
	return out, nil
}
