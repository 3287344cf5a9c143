package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse/wire"
)

// The calls of this file act for the client's actor (WithActor, As): the
// server checks that person's permission before it writes, and answers 403
// naming the missing permission otherwise. Every write returns the
// ZedToken to read it with elsewhere.

// CreateOrganisation creates the organisation id; the actor becomes its
// owner (O1). An existing id is a 409 conflict.
func (c *Client) CreateOrganisation(ctx context.Context, id, name string) (*Organisation, error) {
	var out Organisation
	if err := c.post(ctx, "/v1/organisations", wire.CreateOrganisationRequest{ID: id, Name: name}, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetOrganisation reads the organisation id; only its members may (403
// for others, 404 when there is none).
func (c *Client) GetOrganisation(ctx context.Context, id string) (*Organisation, error) {
	var out Organisation
	if err := c.get(ctx, "/v1/organisations/"+seg(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteOrganisation deletes the organisation id and every relationship of
// it and of its contractors, invoices and change requests (O3, owner only);
// reason, if not empty, goes to the audit trail.
func (c *Client) DeleteOrganisation(ctx context.Context, id, reason string) (*WriteResult, error) {
	return c.delWith(ctx, "/v1/organisations/"+seg(id), nil, reasonBody(reason))
}

// TransferOwnership makes the team member to ("bob" or "user:bob") the
// owner of org, in one atomic change (O4, owner only); reason, if any, goes
// to the audit trail.
func (c *Client) TransferOwnership(ctx context.Context, org, to, reason string) (*Ownership, error) {
	body := wire.TransferOwnershipRequest{To: actorRef(to), Reason: reason}
	var out Ownership
	// Not idempotent: once it has committed, the same call is refused (403,
	// the actor no longer owns it), so a retry would misreport a success.
	if err := c.post(ctx, "/v1/organisations/"+seg(org)+"/transfer-ownership", body, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// Members lists the team of org.
func (c *Client) Members(ctx context.Context, org string) ([]Member, error) {
	var out wire.Members
	if err := c.get(ctx, "/v1/organisations/"+seg(org)+"/members", nil, &out); err != nil {
		return nil, err
	}
	return out.Members, nil
}

// Access reads one page of org's access review (members with
// view_reports and provider staff only): at most limit members (0 for the
// server's default of 50; at most 200), after cursor ("" for the first
// page). The answer's Cursor continues it while more members remain.
func (c *Client) Access(ctx context.Context, org string, limit int, cursor string) (*AccessReview, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out AccessReview
	if err := c.get(ctx, "/v1/organisations/"+seg(org)+"/access", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AccessCSV writes org's whole access review to w as CSV (user,
// permission, object, via, until), every page, as the server streams it.
// A last row "#truncated" or "#error" says the export is not whole. It is
// never retried once the answer started, which would repeat rows.
func (c *Client) AccessCSV(ctx context.Context, org string, w io.Writer) error {
	return c.do(ctx, call{method: http.MethodGet, path: "/v1/organisations/" + seg(org) + "/access", accept: "text/csv", sink: w})
}

// MemberAccess reads user's access in org ("bob" or "user:bob"), with the
// latest changes they made there: the person themselves, members with
// view_reports and provider staff may.
func (c *Client) MemberAccess(ctx context.Context, org, user string) (*MemberAccess, error) {
	var out MemberAccess
	if err := c.get(ctx, memberPath(org, user)+"/access", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// grant is what the GrantOptions say.
type grant struct {
	query url.Values
	body  wire.GrantRoleRequest
}

// GrantOption tunes GrantRole.
type GrantOption func(*grant)

// PreviousBecomesAlternate makes the outgoing security admin the alternate
// security admin in the same atomic change, when granting security_admin
// (S3).
func PreviousBecomesAlternate() GrantOption {
	return func(g *grant) { g.query.Set("previousBecomesAlternate", "true") }
}

// WithReason records why, in the audit trail.
func WithReason(reason string) GrantOption {
	return func(g *grant) { g.body.Reason = reason }
}

// RequestedBy names the verified director at whose request provider staff
// delegate a security admin when SA and ASA are both unavailable (S7).
func RequestedBy(user string) GrantOption {
	return func(g *grant) { g.body.RequestedBy = actorRef(user) }
}

// ExpiresAt makes the grant lapse on its own at t (T5). owner,
// security_admin and alternate_security_admin refuse it (422, rule T5).
func ExpiresAt(t time.Time) GrantOption {
	return func(g *grant) { g.body.ExpiresAt = t.UTC().Format(time.RFC3339) }
}

// memberPath is /v1/organisations/{org}/members/{user}; user may be bare
// or "user:<id>".
func memberPath(org, user string) string {
	return "/v1/organisations/" + seg(org) + "/members/" + seg(bareUser(user))
}

// GrantRole gives user the role in org. For security_admin and
// alternate_security_admin the new holder replaces the current one
// atomically (S1); owner is refused (use TransferOwnership).
func (c *Client) GrantRole(ctx context.Context, org, user, role string, opts ...GrantOption) (*WriteResult, error) {
	g := grant{query: url.Values{}}
	for _, o := range opts {
		o(&g)
	}
	var body any
	if g.body != (wire.GrantRoleRequest{}) {
		body = g.body
	}
	return c.put(ctx, memberPath(org, user)+"/roles/"+seg(role), g.query, body)
}

// RevokeRole takes the role in org away from user; reason, if not empty,
// goes to the audit trail.
func (c *Client) RevokeRole(ctx context.Context, org, user, role, reason string) (*WriteResult, error) {
	return c.delWith(ctx, memberPath(org, user)+"/roles/"+seg(role), nil, reasonBody(reason))
}

// RemoveMember removes user from org with all their roles, designations
// and exceptions at once (T1); reason, if not empty, goes to the audit
// trail.
func (c *Client) RemoveMember(ctx context.Context, org, user, reason string) (*WriteResult, error) {
	return c.delWith(ctx, memberPath(org, user), nil, reasonBody(reason))
}

// SetDesignation gives the team member user the designation in org
// (main_contact, say; T4 refuses a non-member). verified_director and
// unavailable_contact only provider staff may give, and only with a reason
// (C7, C9); any other reason, if not empty, goes to the audit trail.
func (c *Client) SetDesignation(ctx context.Context, org, user, designation, reason string) (*WriteResult, error) {
	return c.put(ctx, memberPath(org, user)+"/designations/"+seg(designation), nil, designationBody(reason))
}

// UnsetDesignation takes the designation in org away from user; reason, if
// not empty, goes to the audit trail.
func (c *Client) UnsetDesignation(ctx context.Context, org, user, designation, reason string) (*WriteResult, error) {
	return c.delWith(ctx, memberPath(org, user)+"/designations/"+seg(designation), nil, designationBody(reason))
}

// designationBody is the optional body of a designation's PUT or DELETE:
// none without a reason.
func designationBody(reason string) any {
	if reason == "" {
		return nil
	}
	return wire.DesignationRequest{Reason: reason}
}

// reasonBody is the optional body of a revocation, a removal or a
// contractor's deletion: none without a reason.
func reasonBody(reason string) any {
	if reason == "" {
		return nil
	}
	return wire.ReasonRequest{Reason: reason}
}

// EditOrganisation changes the details of org (O7: holders of
// edit_details) and returns the organisation as it now is.
func (c *Client) EditOrganisation(ctx context.Context, org string, edit EditOrganisationRequest) (*Organisation, error) {
	var out Organisation
	if err := c.patch(ctx, "/v1/organisations/"+seg(org), edit, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateContractor creates the contractor ct.ID in org.
func (c *Client) CreateContractor(ctx context.Context, org string, ct Contractor) (*Contractor, error) {
	body := wire.CreateContractorRequest{ID: ct.ID, Name: ct.Name, AdminOnly: ct.AdminOnly}
	var out Contractor
	if err := c.post(ctx, "/v1/organisations/"+seg(org)+"/contractors", body, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// PatchContractor renames the contractor id or changes its admin-only flag
// (K2: lifting it makes the contractor visible again at once).
func (c *Client) PatchContractor(ctx context.Context, id string, u ContractorPatch) (*Contractor, error) {
	var out Contractor
	if err := c.patch(ctx, "/v1/contractors/"+seg(id), u, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetContractor reads the contractor id: its organisation, name and
// admin-only flag, for those who may view it (K2, K3); anyone else gets
// 403 naming view, whether or not it exists (X1).
func (c *Client) GetContractor(ctx context.Context, id string) (*Contractor, error) {
	var out Contractor
	if err := c.get(ctx, "/v1/contractors/"+seg(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Abilities answers what the actor may do on object ("organisation:acme",
// "contractor:c1", "change_request:cr1", "platform:provider") now: each
// permission the operations on it require and whether the actor holds it,
// and for a change request they may read, its transitions open to them by
// operation id. Show only the actions it allows; each is decided again
// when sent.
func (c *Client) Abilities(ctx context.Context, object string) (*Abilities, error) {
	var out Abilities
	if err := c.get(ctx, "/v1/abilities", url.Values{"object": {object}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteContractor deletes the contractor id; reason, if not empty, goes
// to the audit trail.
func (c *Client) DeleteContractor(ctx context.Context, id, reason string) (*WriteResult, error) {
	return c.delWith(ctx, "/v1/contractors/"+seg(id), nil, reasonBody(reason))
}

// CreateInvoice creates the invoice inv.ID in org.
func (c *Client) CreateInvoice(ctx context.Context, org string, inv Invoice) (*Invoice, error) {
	body := wire.CreateInvoiceRequest{ID: inv.ID, Amount: inv.Amount, Currency: inv.Currency}
	var out Invoice
	if err := c.post(ctx, "/v1/organisations/"+seg(org)+"/invoices", body, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}
