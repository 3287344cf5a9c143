package client

import "context"

// The change-request statuses (api.md).
const (
	StatusAuthorised = "authorised"
	StatusPending    = "pending"
	StatusBlocked    = "blocked"
)

// NewChangeRequest files a change of one Kind (standard, access_permissions,
// user_management, public_facing, service, sensitive_information) on an
// optional Target ("page:pricing"). LegalReason marks a legally mandated
// change filed by provider staff (C12).
type NewChangeRequest struct {
	ID                  string `json:"id"`
	Kind                string `json:"kind"`
	Target              string `json:"target,omitempty"`
	SubstantialSecurity bool   `json:"substantialSecurity"`
	SubstantialCharge   bool   `json:"substantialCharge"`
	LegalReason         string `json:"legalReason,omitempty"`
}

// ChangeRequest is the state of a change request. Status is authorised,
// pending or blocked; Tier names who must authorise (main_contact,
// alternate_contact, verified_director or none); Authorisers lists the
// users of that tier who may authorise now; ApprovalsNeeded lists what is
// still missing (authorisation, security, charge).
//
// BlockedOn says why a blocked request is blocked; AuthorisedBy,
// SecurityApprovedBy and ChargeApprovedBy list who has said yes;
// LegalMandate marks a legally mandated change (C12).
type ChangeRequest struct {
	ID                  string   `json:"id"`
	Organisation        string   `json:"organisation,omitempty"`
	Kind                string   `json:"kind,omitempty"`
	Target              string   `json:"target,omitempty"`
	Requester           string   `json:"requester,omitempty"`
	SubstantialSecurity bool     `json:"substantialSecurity,omitempty"`
	SubstantialCharge   bool     `json:"substantialCharge,omitempty"`
	LegalMandate        bool     `json:"legalMandate,omitempty"`
	Status              string   `json:"status"`
	Tier                string   `json:"tier"`
	Authorisers         []string `json:"authorisers"`
	ApprovalsNeeded     []string `json:"approvalsNeeded"`
	BlockedOn           []string `json:"blockedOn,omitempty"`
	AuthorisedBy        []string `json:"authorisedBy,omitempty"`
	SecurityApprovedBy  []string `json:"securityApprovedBy,omitempty"`
	ChargeApprovedBy    []string `json:"chargeApprovedBy,omitempty"`
	ZedToken            string   `json:"zedToken,omitempty"`
}

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
	body := struct {
		Note string `json:"note,omitempty"`
	}{note}
	var out ChangeRequest
	if err := c.post(ctx, "/v1/change-requests/"+seg(id)+"/authorise", body, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// Exception lets User file requests of one Kind (optionally only on Target)
// that are authorised when filed (C6), until ExpiresAt (RFC 3339) if set.
// Reason goes to the audit trail when granting.
type Exception struct {
	Organisation string `json:"organisation,omitempty"`
	User         string `json:"user"`
	Kind         string `json:"kind"`
	Target       string `json:"target,omitempty"`
	ExpiresAt    string `json:"expiresAt,omitempty"`
	Reason       string `json:"reason,omitempty"`
	ZedToken     string `json:"zedToken,omitempty"`
}

// GrantException grants ex in org; only a main contact may.
func (c *Client) GrantException(ctx context.Context, org string, ex Exception) (*Exception, error) {
	body := struct {
		User      string `json:"user"`
		Kind      string `json:"kind"`
		Target    string `json:"target,omitempty"`
		ExpiresAt string `json:"expiresAt,omitempty"`
		Reason    string `json:"reason,omitempty"`
	}{actorRef(ex.User), ex.Kind, ex.Target, ex.ExpiresAt, ex.Reason}
	var out Exception
	if err := c.post(ctx, "/v1/organisations/"+seg(org)+"/exceptions", body, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeException revokes user's exception for kind in org.
func (c *Client) RevokeException(ctx context.Context, org, user, kind string) (*WriteResult, error) {
	return c.del(ctx, "/v1/organisations/"+seg(org)+"/exceptions/"+seg(bareUser(user))+"/"+seg(kind))
}
