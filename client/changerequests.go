package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/gatehouse-authz/gatehouse/wire"
)

// FileChangeRequest files req in org for the actor (C1). req.ID may be
// left empty: the server makes one, which the answer's ID carries.
// req.Title and req.Description are optional display text.
func (c *Client) FileChangeRequest(ctx context.Context, org string, req NewChangeRequest) (*ChangeRequest, error) {
	var out ChangeRequest
	if err := c.post(ctx, "/v1/organisations/"+seg(org)+"/change-requests", req, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetChangeRequest reads the current state of the change request id.
func (c *Client) GetChangeRequest(ctx context.Context, id string) (*ChangeRequest, error) {
	var out ChangeRequest
	if err := c.get(ctx, "/v1/change-requests/"+seg(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuthoriseChangeRequest authorises, or approves, the change request id for
// the actor, with an optional note; 403 when the actor may not authorise or
// approve anything still needed.
func (c *Client) AuthoriseChangeRequest(ctx context.Context, id, note string) (*ChangeRequest, error) {
	body := wire.AuthoriseRequest{Note: note}
	var out ChangeRequest
	if err := c.post(ctx, "/v1/change-requests/"+seg(id)+"/authorise", body, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// GrantException grants req in org (C6); only a main contact may. req.User
// may be bare ("pat") or "user:pat".
func (c *Client) GrantException(ctx context.Context, org string, req GrantExceptionRequest) (*Exception, error) {
	req.User = actorRef(req.User)
	var out Exception
	if err := c.post(ctx, "/v1/organisations/"+seg(org)+"/exceptions", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeException revokes user's exception for kind in org.
func (c *Client) RevokeException(ctx context.Context, org, user, kind string) (*WriteResult, error) {
	return c.del(ctx, "/v1/organisations/"+seg(org)+"/exceptions/"+seg(bareUser(user))+"/"+seg(kind))
}

// ListChangeRequestsOptions filter and page ListChangeRequests. Status
// keeps the requests in one status (StatusPending, say; empty for all);
// AwaitingMe keeps the open requests the actor may authorise or approve
// now (C14). Limit (1 to 10000; 0 leaves it to the server, 1000) and
// Cursor, the Cursor of the previous page, page through them.
type ListChangeRequestsOptions struct {
	Status     string
	AwaitingMe bool
	Limit      int
	Cursor     string
}

// ListChangeRequests lists one page of org's change requests the actor may
// view (C14): all of them with view_reports, otherwise their own; provider
// staff see every organisation's. A non-empty Cursor in the answer
// continues it.
func (c *Client) ListChangeRequests(ctx context.Context, org string, opts ListChangeRequestsOptions) (*ChangeRequestList, error) {
	q := page(opts.Limit, opts.Cursor)
	if opts.Status != "" {
		q.Set("status", opts.Status)
	}
	if opts.AwaitingMe {
		q.Set("awaiting", "me")
	}
	var out ChangeRequestList
	if err := c.get(ctx, "/v1/organisations/"+seg(org)+"/change-requests", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListExceptionsOptions page ListExceptions, as in ListChangeRequestsOptions.
type ListExceptionsOptions struct {
	Limit  int
	Cursor string
}

// ListExceptions lists one page of org's exceptions (C6, C14); only a main
// contact or provider staff may. A non-empty Cursor in the answer
// continues it.
func (c *Client) ListExceptions(ctx context.Context, org string, opts ListExceptionsOptions) (*ExceptionList, error) {
	var out ExceptionList
	if err := c.get(ctx, "/v1/organisations/"+seg(org)+"/exceptions", page(opts.Limit, opts.Cursor), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// page is the query of one page of a list.
func page(limit int, cursor string) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return q
}

// The calls below decide an open request, and are not retried after a 503
// or a connection that broke once sent: a retry of one the server committed
// would be refused as a closed request (409 naming C13) or as a second
// override by the same staff member, misreporting the caller's own change.

// RejectChangeRequest rejects the open change request id with a reason,
// which may not be blank (C13): whoever may authorise it now, or give an
// approval it still needs, may. The request is closed afterwards.
func (c *Client) RejectChangeRequest(ctx context.Context, id, reason string) (*ChangeRequest, error) {
	return c.decide(ctx, id, "/reject", wire.RejectRequest{Reason: reason})
}

// WithdrawChangeRequest withdraws the actor's own open change request id
// (C13); reason is optional. The request is closed afterwards.
func (c *Client) WithdrawChangeRequest(ctx context.Context, id, reason string) (*ChangeRequest, error) {
	return c.decide(ctx, id, "/withdraw", wire.WithdrawRequest{Reason: reason})
}

// RaiseFlags raises the substantial-security and/or substantial-charge flag
// of the open change request id (C15), so that it needs the C10/C11
// approval; a flag left false stays as it is (it is never lowered).
// Holders of approve_security_changes or approve_charges, and provider
// staff, may.
func (c *Client) RaiseFlags(ctx context.Context, id string, flags FlagsRequest) (*ChangeRequest, error) {
	return c.decide(ctx, id, "/flags", flags)
}

// OverrideChangeRequest has provider staff authorise the open change
// request id on mitigating circumstances, with a category and a reason
// (C18). The request stays pending until a second, different staff member
// confirms (ConfirmOverride); approvals it needs are still needed.
func (c *Client) OverrideChangeRequest(ctx context.Context, id, category, reason string) (*ChangeRequest, error) {
	return c.decide(ctx, id, "/override", wire.OverrideRequest{Category: category, Reason: reason})
}

// ConfirmOverride confirms another staff member's override of the change
// request id (C18); the overrider may not confirm their own.
func (c *Client) ConfirmOverride(ctx context.Context, id string) (*ChangeRequest, error) {
	return c.decide(ctx, id, "/override/confirm", nil)
}

// decide posts body to the change request id's action path, once.
func (c *Client) decide(ctx context.Context, id, action string, body any) (*ChangeRequest, error) {
	var out ChangeRequest
	if err := c.post(ctx, "/v1/change-requests/"+seg(id)+action, body, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// substantialPath is the declaration of kind in org, narrowed to target
// when target is not empty.
func substantialPath(org, kind, target string) (string, url.Values) {
	var q url.Values
	if target != "" {
		q = url.Values{"target": {target}}
	}
	return "/v1/organisations/" + seg(org) + "/substantial/" + seg(kind), q
}

// SetAlwaysSubstantial declares requests of kind in org (or, when target
// is not empty, of kind on that target) always substantial (C15): each true
// flag of s is set, each false one cleared, and requests filed afterwards
// are flagged whatever the filer says. Holders of manage_members may.
func (c *Client) SetAlwaysSubstantial(ctx context.Context, org, kind, target string, s SubstantialRequest) (*WriteResult, error) {
	path, q := substantialPath(org, kind, target)
	return c.put(ctx, path, q, s)
}

// UnsetAlwaysSubstantial lifts the declaration SetAlwaysSubstantial made
// for kind (and target) in org.
func (c *Client) UnsetAlwaysSubstantial(ctx context.Context, org, kind, target string) (*WriteResult, error) {
	path, q := substantialPath(org, kind, target)
	return c.delWith(ctx, path, q, nil)
}
