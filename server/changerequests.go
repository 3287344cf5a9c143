package server

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

func changeRequest(cr workflow.ChangeRequest) wire.ChangeRequest {
	return wire.ChangeRequest{
		ID: cr.ID, Organisation: cr.Organisation, Kind: cr.Kind, Target: cr.Target, Requester: cr.Requester.String(),
		SubstantialSecurity: cr.SubstantialSecurity, SubstantialCharge: cr.SubstantialCharge, LegalMandate: cr.LegalMandate,
		Status: cr.Status, Tier: cr.Tier, Authorisers: strs(cr.Authorisers), ApprovalsNeeded: nonNil(cr.ApprovalsNeeded), BlockedOn: cr.BlockedOn,
		AuthorisedBy: strs(cr.AuthorisedBy), SecurityApprovedBy: strs(cr.SecurityApprovedBy), ChargeApprovedBy: strs(cr.ChargeApprovedBy),
		ZedToken: cr.ZedToken,
	}
}

// handleFileChangeRequest serves POST /v1/organisations/{org}/change-requests.
func handleFileChangeRequest(d Deps) op[wire.NewChangeRequest, wire.ChangeRequest] {
	return func(ctx context.Context, in In[wire.NewChangeRequest]) (wire.ChangeRequest, error) {
		b := in.Body
		req := workflow.NewChangeRequest{
			ID: b.ID, Organisation: in.Path("org"), Kind: b.Kind, Target: b.Target,
			SubstantialSecurity: b.SubstantialSecurity, SubstantialCharge: b.SubstantialCharge,
		}
		if b.LegalReason != nil {
			if strings.TrimSpace(*b.LegalReason) == "" {
				return wire.ChangeRequest{}, gatehouse.Invalid("legalReason", "a legally mandated change must carry a legal reason (C12)")
			}
			req.LegalReason = *b.LegalReason
		}
		cr, err := d.Workflow.FileChangeRequest(ctx, in.Actor, req)
		return changeRequest(cr), err
	}
}

// handleGetChangeRequest serves GET /v1/change-requests/{id}.
func handleGetChangeRequest(d Deps) op[none, wire.ChangeRequest] {
	return func(ctx context.Context, in In[none]) (wire.ChangeRequest, error) {
		cr, err := d.Workflow.ChangeRequest(ctx, in.Actor, in.Path("id"))
		return changeRequest(cr), err
	}
}

// handleAuthoriseChangeRequest serves POST /v1/change-requests/{id}/authorise.
func handleAuthoriseChangeRequest(d Deps) op[wire.AuthoriseRequest, wire.ChangeRequest] {
	return func(ctx context.Context, in In[wire.AuthoriseRequest]) (wire.ChangeRequest, error) {
		cr, err := d.Workflow.AuthoriseChangeRequest(ctx, in.Actor, in.Path("id"), in.Body.Note)
		return changeRequest(cr), err
	}
}

// handleGrantException serves POST /v1/organisations/{org}/exceptions.
func handleGrantException(d Deps) op[wire.GrantExceptionRequest, wire.Exception] {
	return func(ctx context.Context, in In[wire.GrantExceptionRequest]) (wire.Exception, error) {
		b := in.Body
		user, err := subject("user", b.User)
		if err != nil {
			return wire.Exception{}, err
		}
		ex := workflow.Exception{Organisation: in.Path("org"), User: user, Kind: b.Kind, Target: b.Target}
		if b.ExpiresAt != "" {
			t, err := time.Parse(time.RFC3339, b.ExpiresAt)
			if err != nil {
				return wire.Exception{}, gatehouse.Invalid("expiresAt", "expiresAt %q is not an RFC 3339 time", b.ExpiresAt)
			}
			ex.ExpiresAt = &t
		}
		tok, err := d.Workflow.GrantException(ctx, in.Actor, ex, b.Reason)
		out := wire.Exception{Organisation: ex.Organisation, User: user.String(), Kind: ex.Kind, Target: ex.Target, ZedToken: tok}
		if ex.ExpiresAt != nil {
			out.ExpiresAt = ex.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return out, err
	}
}

// handleRevokeException serves DELETE /v1/organisations/{org}/exceptions/{user}/{kind}.
func handleRevokeException(d Deps) op[none, written] {
	return func(ctx context.Context, in In[none]) (written, error) {
		id := in.Path("user")
		if !gatehouse.ValidID(id) {
			return written{}, gatehouse.Invalid("user", "%q is not a valid user id", id)
		}
		_, tok, err := d.Workflow.RevokeExceptions(ctx, in.Actor, in.Path("org"), gatehouse.User(id), in.Path("kind"), "")
		return written{tok}, err
	}
}
