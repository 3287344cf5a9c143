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
	requester := ""
	if cr.Requester != (gatehouse.Subject{}) {
		requester = cr.Requester.String() // none when the answer leaves it out (RaiseFlags)
	}
	return wire.ChangeRequest{
		ID: cr.ID, Organisation: cr.Organisation, Kind: cr.Kind, Target: cr.Target, Title: cr.Title, Description: cr.Description, Requester: requester,
		SubstantialSecurity: cr.SubstantialSecurity, SubstantialCharge: cr.SubstantialCharge, LegalMandate: cr.LegalMandate,
		Status: cr.Status, Tier: cr.Tier, Authorisers: strs(cr.Authorisers), ApprovalsNeeded: nonNil(cr.ApprovalsNeeded), BlockedOn: cr.BlockedOn,
		AuthorisedBy: strs(cr.AuthorisedBy), SecurityApprovedBy: strs(cr.SecurityApprovedBy), ChargeApprovedBy: strs(cr.ChargeApprovedBy),
		ConfigurationApprovedBy: strs(cr.ConfigurationApprovedBy), SpendApprovedBy: strs(cr.SpendApprovedBy),
		TargetUser: subjectString(cr.TargetUser), OverrideBy: subjectString(cr.OverrideBy), OverrideConfirmedBy: subjectString(cr.OverrideConfirmedBy),
		OverrideCategory: cr.OverrideCategory, OverrideReason: cr.OverrideReason,
		ClosedBy: subjectString(cr.ClosedBy), ClosedAt: cr.ClosedAt, Reason: cr.Reason,
		ZedToken: cr.ZedToken,
	}
}

// subjectString is s in zed's notation, "" for none.
func subjectString(s *gatehouse.Subject) string {
	if s == nil {
		return ""
	}
	return s.String()
}

// handleListChangeRequests serves GET /v1/organisations/{org}/change-requests (C14).
func handleListChangeRequests(d Deps) op[none, wire.ChangeRequestList] {
	return func(ctx context.Context, in In[none]) (wire.ChangeRequestList, error) {
		awaiting := in.Query("awaiting")
		if awaiting != "" && awaiting != "me" {
			return wire.ChangeRequestList{}, gatehouse.Invalid("awaiting", "awaiting takes only \"me\"")
		}
		list := "change-requests:" + in.Path("org") + ":" + in.Query("status") + ":" + awaiting
		cursor, err := openCursor(d.CursorKey, list, in.Query("cursor"))
		if err != nil {
			return wire.ChangeRequestList{}, err
		}
		crs, next, err := d.Workflow.ListChangeRequests(ctx, in.Actor, in.Path("org"), in.Query("status"), awaiting == "me", in.Int("limit"), cursor)
		out := wire.ChangeRequestList{ChangeRequests: make([]wire.ChangeRequest, len(crs)), Cursor: sealCursor(d.CursorKey, list, next)}
		for i, cr := range crs {
			out.ChangeRequests[i] = changeRequest(cr)
		}
		return out, err
	}
}

// handleListExceptions serves GET /v1/organisations/{org}/exceptions (C14).
func handleListExceptions(d Deps) op[none, wire.ExceptionList] {
	return func(ctx context.Context, in In[none]) (wire.ExceptionList, error) {
		list := "exceptions:" + in.Path("org")
		cursor, err := openCursor(d.CursorKey, list, in.Query("cursor"))
		if err != nil {
			return wire.ExceptionList{}, err
		}
		exs, next, err := d.Workflow.ListExceptions(ctx, in.Actor, in.Path("org"), in.Int("limit"), cursor)
		out := wire.ExceptionList{Exceptions: make([]wire.ListedException, len(exs)), Cursor: sealCursor(d.CursorKey, list, next)}
		for i, e := range exs {
			out.Exceptions[i] = wire.ListedException{User: e.User.String(), Kind: e.Kind, Target: e.Target}
			if e.ExpiresAt != nil {
				out.Exceptions[i].ExpiresAt = e.ExpiresAt.UTC().Format(time.RFC3339)
			}
		}
		return out, err
	}
}

// handleRejectChangeRequest serves POST /v1/change-requests/{id}/reject (C13).
func handleRejectChangeRequest(d Deps) op[wire.RejectRequest, wire.ChangeRequest] {
	return func(ctx context.Context, in In[wire.RejectRequest]) (wire.ChangeRequest, error) {
		cr, err := d.Workflow.Reject(ctx, in.Actor, in.Path("id"), in.Body.Reason)
		return changeRequest(cr), err
	}
}

// handleWithdrawChangeRequest serves POST /v1/change-requests/{id}/withdraw (C13).
func handleWithdrawChangeRequest(d Deps) op[wire.WithdrawRequest, wire.ChangeRequest] {
	return func(ctx context.Context, in In[wire.WithdrawRequest]) (wire.ChangeRequest, error) {
		cr, err := d.Workflow.Withdraw(ctx, in.Actor, in.Path("id"), in.Body.Reason)
		return changeRequest(cr), err
	}
}

// handleRaiseFlags serves POST /v1/change-requests/{id}/flags (C15).
func handleRaiseFlags(d Deps) op[wire.FlagsRequest, wire.ChangeRequest] {
	return func(ctx context.Context, in In[wire.FlagsRequest]) (wire.ChangeRequest, error) {
		if !in.Body.SubstantialSecurity && !in.Body.SubstantialCharge {
			return wire.ChangeRequest{}, gatehouse.Invalid("substantialSecurity", "raise substantialSecurity, substantialCharge or both; a flag is never lowered (C15)")
		}
		cr, err := d.Workflow.RaiseFlags(ctx, in.Actor, in.Path("id"), in.Body.SubstantialSecurity, in.Body.SubstantialCharge)
		return changeRequest(cr), err
	}
}

// handleOverride serves POST /v1/change-requests/{id}/override (C18).
func handleOverride(d Deps) op[wire.OverrideRequest, wire.ChangeRequest] {
	return func(ctx context.Context, in In[wire.OverrideRequest]) (wire.ChangeRequest, error) {
		cr, err := d.Workflow.Override(ctx, in.Actor, in.Path("id"), in.Body.Category, in.Body.Reason)
		return changeRequest(cr), err
	}
}

// handleConfirmOverride serves POST /v1/change-requests/{id}/override/confirm (C18).
func handleConfirmOverride(d Deps) op[none, wire.ChangeRequest] {
	return func(ctx context.Context, in In[none]) (wire.ChangeRequest, error) {
		cr, err := d.Workflow.ConfirmOverride(ctx, in.Actor, in.Path("id"))
		return changeRequest(cr), err
	}
}

// handleSetSubstantial serves PUT /v1/organisations/{org}/substantial/{kind} (C15).
func handleSetSubstantial(d Deps) op[wire.SubstantialRequest, written] {
	return func(ctx context.Context, in In[wire.SubstantialRequest]) (written, error) {
		tok, err := d.Workflow.SetAlwaysSubstantial(ctx, in.Actor, in.Path("org"), in.Path("kind"), in.Query("target"), in.Body.Security, in.Body.Charge)
		return written{tok}, err
	}
}

// handleUnsetSubstantial serves DELETE /v1/organisations/{org}/substantial/{kind} (C15).
func handleUnsetSubstantial(d Deps) op[none, written] {
	return func(ctx context.Context, in In[none]) (written, error) {
		tok, err := d.Workflow.UnsetAlwaysSubstantial(ctx, in.Actor, in.Path("org"), in.Path("kind"), in.Query("target"))
		return written{tok}, err
	}
}

// handleFileChangeRequest serves POST /v1/organisations/{org}/change-requests.
func handleFileChangeRequest(d Deps) op[wire.NewChangeRequest, wire.ChangeRequest] {
	return func(ctx context.Context, in In[wire.NewChangeRequest]) (wire.ChangeRequest, error) {
		b := in.Body
		req := workflow.NewChangeRequest{
			ID: b.ID, Organisation: in.Path("org"), Kind: b.Kind, Target: b.Target,
			Title: b.Title, Description: b.Description,
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
