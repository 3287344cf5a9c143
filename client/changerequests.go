package client

import (
	"context"

	"github.com/gatehouse-authz/gatehouse/wire"
)

// FileChangeRequest files req in org for the actor (C1).
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
