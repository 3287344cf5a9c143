package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// The keys of a change request's label (C13, C18): display data the
// relationships cannot hold, written in the same write as the relationship
// it explains.
const (
	labelClosedAt         = "closedAt"
	labelClosedReason     = "reason"
	labelOverrideCategory = "overrideCategory"
	labelOverrideReason   = "overrideReason"
	labelOverrideAt       = "overrideAt"
)

// maxReason bounds a reason or category kept in a label (SpiceDB ids are
// at most 1024 bytes; see gatehouse.EncodeLabel).
const maxReason = 400

// validReason checks a reason (or category) of field: required unless
// optional, and short enough for a label.
func validReason(field, reason string, optional bool) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" && !optional {
		return "", gatehouse.Invalid(field, "%s is required", field)
	}
	if len(reason) > maxReason {
		return "", gatehouse.Invalid(field, "%s is too long (at most %d bytes)", field, maxReason)
	}
	return reason, nil
}

// closedFilter matches the C13 flag of cr.
func closedFilter(cr gatehouse.Object) gatehouse.Filter {
	return gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID, Relation: gatehouse.RelClosed}
}

// closedError is the answer to any change of a closed request (C13): 409,
// since the request's state, not the input, is at fault.
func closedError(st ChangeRequest, what string) error {
	by := ""
	if st.ClosedBy != nil {
		by = " by " + st.ClosedBy.String()
	}
	return &gatehouse.Error{
		Code: gatehouse.ECONFLICT, Rule: "C13",
		Message: fmt.Sprintf("C13: change request %s was %s%s and is closed: it can no longer be %s", st.ID, st.Status, by, what),
	}
}

// notOpenError is the answer to closing or flagging a request that is no
// longer open because it is authorised (C13: only open requests).
func notOpenError(st ChangeRequest, what string) error {
	return &gatehouse.Error{
		Code: gatehouse.ECONFLICT, Rule: "C13",
		Message: fmt.Sprintf("C13: change request %s is %s, not open (pending or blocked): it can no longer be %s", st.ID, st.Status, what),
	}
}

// openPins pin the request as st read it: not closed, and no yes recorded
// for anything it still needs. A write carrying them applies only while the
// request is still as open as it was, so a concurrent authorisation and a
// concurrent rejection cannot both win (C13).
func (st ChangeRequest) openPins() []gatehouse.Precondition {
	cr := st.object()
	pins := []gatehouse.Precondition{pinAbsent(closedFilter(cr))}
	rec := func(relation string) {
		pins = append(pins, pinAbsent(gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID, Relation: relation}))
	}
	if st.Needs(NeedAuthorisation) {
		rec(gatehouse.RelAuthorisedBy)
		rec(gatehouse.RelOverrideConfirmedBy)
	}
	for _, a := range approvals() {
		if st.Needs(a.need) {
			rec(a.record)
		}
	}
	return pins
}

// scopedContacts are the designations besides main_contact that authorise
// kind in the main tier (C4, C2).
func scopedContacts(kind string) []string {
	switch kind {
	case gatehouse.KindSensitiveInformation:
		return []string{gatehouse.DesignationFinanceContact}
	case gatehouse.KindStandard:
		return nil
	}
	return []string{gatehouse.DesignationTechnicalContact}
}

// standingPins returns the preconditions that hold actor's standing as
// the decision read it: for the authorisation path (a tier name, or
// pathStanding; "" for none) the designation that places actor in the
// tier, the role that makes them a member, and the absence of
// unavailable_contact (C4, C7, C8, C9, T4); for each approval a role that
// grants it and, for a financial one, the absence of no_financial_access
// (C10, C11, C16, R7). A concurrent change to any of them makes the write
// fail and be decided again.
func (s *Service) standingPins(ctx context.Context, st ChangeRequest, actor gatehouse.Subject, path string, gives []approval) ([]gatehouse.Precondition, error) {
	if path == "" && len(gives) == 0 {
		return nil, nil
	}
	org := gatehouse.OrganisationRef(st.Organisation)
	held, err := s.relationsOf(ctx, st.Organisation, actor)
	if err != nil {
		return nil, err
	}
	var pins []gatehouse.Precondition
	lost := false
	pinOne := func(relations ...string) {
		i := slices.IndexFunc(held, func(r gatehouse.Relationship) bool { return slices.Contains(relations, r.Relation) })
		if i < 0 {
			lost = true
			return
		}
		pins = append(pins, pinPresent(held[i]))
	}
	absent := func(relation string) {
		r := makeRel(org, relation, actor)
		if slices.Contains(held, r) {
			return
		}
		pins = append(pins, pinAbsent(exactFilter(r)))
	}
	switch path {
	case TierMain:
		pinOne(append([]string{gatehouse.DesignationMainContact}, scopedContacts(st.Kind)...)...)
		pinOne(gatehouse.Roles()...)
		absent(gatehouse.DesignationUnavailableContact)
	case TierAlternate:
		pinOne(gatehouse.DesignationAlternateContact)
		pinOne(gatehouse.Roles()...)
		absent(gatehouse.DesignationUnavailableContact)
	case TierDirector:
		pinOne(gatehouse.DesignationVerifiedDirector)
		pinOne(gatehouse.DesignationDirector)
		absent(gatehouse.DesignationUnavailableContact)
	case pathStanding:
		// Standing rests on membership (C5) or an exception granted to a
		// member (C6): pin the membership when there is one.
		if slices.ContainsFunc(held, func(r gatehouse.Relationship) bool { return gatehouse.IsRole(r.Relation) }) {
			pinOne(gatehouse.Roles()...)
		}
	}
	for _, a := range gives {
		pinOne(a.roles...)
		if a.financial {
			absent(gatehouse.DesignationNoFinancialAccess)
		}
	}
	if lost {
		return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "%s's standing in %s changed while this request was decided", actor, st.Organisation)
	}
	return pins, nil
}

// Reject rejects the open change request id for actor, with reason
// (required; 400 naming reason otherwise): actor may authorise it in its
// current tier, or give an approval it still needs (C13). The request is
// closed at once: rejected_by, the closed flag and a label holding when
// and why go in one write, pinned on the request being as open as read and
// on actor's standing, so of a concurrent authorisation and rejection
// exactly one wins; the loser is decided again and gets 409 naming C13 (or
// 403). A closed or authorised request is 409 naming C13; anyone else 403
// naming reject.
func (s *Service) Reject(ctx context.Context, actor gatehouse.Subject, id, reason string) (ChangeRequest, error) {
	reason, err := validReason("reason", reason, false)
	if err != nil {
		return ChangeRequest{}, err
	}
	return s.close(ctx, actor, id, reason, gatehouse.RelRejectedBy)
}

// Withdraw withdraws actor's own open change request id, with an optional
// reason (C13). Decision: open means pending or blocked, so a requester may
// withdraw a blocked request too; a blocked request is the one most in
// need of it. Only its requester may, while still a member (or provider
// staff, for a legally mandated change): 403 naming withdraw otherwise. A
// closed or authorised request is 409 naming C13.
func (s *Service) Withdraw(ctx context.Context, actor gatehouse.Subject, id, reason string) (ChangeRequest, error) {
	reason, err := validReason("reason", reason, true)
	if err != nil {
		return ChangeRequest{}, err
	}
	return s.close(ctx, actor, id, reason, gatehouse.RelWithdrawnBy)
}

// close closes the request id for actor by relation (rejected_by or
// withdrawn_by); see Reject and Withdraw.
func (s *Service) close(ctx context.Context, actor gatehouse.Subject, id, reason, relation string) (ChangeRequest, error) {
	cr, err := changeRequestRef(id)
	if err != nil {
		return ChangeRequest{}, err
	}
	action, verb := "reject_change_request", "rejected"
	if relation == gatehouse.RelWithdrawnBy {
		action, verb = "withdraw_change_request", "withdrawn"
	}
	var tok string
	err = retryWrite(ctx, func() error {
		st, err := s.state(ctx, cr)
		if err != nil {
			return err
		}
		if st.closed {
			return final(closedError(st, verb))
		}
		if !st.Open() {
			return final(notOpenError(st, verb))
		}
		var c writeSet
		if relation == gatehouse.RelRejectedBy {
			pins, err := s.rejectStanding(ctx, st, actor)
			if err != nil {
				return err
			}
			c.pin(pins...)
		} else {
			if err := s.require(ctx, actor, gatehouse.PermWithdraw, cr); err != nil {
				return final(err)
			}
			held, err := s.relationsOf(ctx, st.Organisation, actor)
			if err != nil {
				return err
			}
			// The requester withdraws while a member (or staff): pin how.
			if i := slices.IndexFunc(held, func(r gatehouse.Relationship) bool { return gatehouse.IsRole(r.Relation) }); i >= 0 {
				c.pin(pinPresent(held[i]))
			} else {
				c.pin(pinPresent(makeRel(gatehouse.Provider, gatehouse.RelStaff, actor)))
			}
		}
		c.pin(st.openPins()...)
		label, err := labelOf(cr, map[string]string{labelClosedAt: s.now().UTC().Format(time.RFC3339Nano), labelClosedReason: reason})
		if err != nil {
			return final(err)
		}
		c.update(gatehouse.Touch, makeRel(cr, relation, actor))
		c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelClosed, gatehouse.Wildcard(gatehouse.TypeUser)))
		c.update(gatehouse.Touch, label)
		tok, err = s.write(ctx, c, gatehouse.Audit{
			Actor: actor.String(), Action: action, Reason: reason, Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "status": st.Status},
		})
		return err
	})
	return s.stateAfter(ctx, actor, cr, tok, err)
}

// rejectStanding decides whether actor may reject st (C13): in its current
// tier while it needs authorisation, or an approver of an approval it
// still needs; and returns the pins of that standing.
func (s *Service) rejectStanding(ctx context.Context, st ChangeRequest, actor gatehouse.Subject) ([]gatehouse.Precondition, error) {
	path := ""
	if st.Needs(NeedAuthorisation) && st.Tier != TierNone && slices.Contains(st.Authorisers, actor) {
		path = st.Tier
	}
	var gives []approval
	for _, a := range approvals() {
		if st.Needs(a.need) && slices.Contains(st.approvers[a.need], actor) {
			gives = append(gives, a)
			break
		}
	}
	if path == "" && len(gives) == 0 {
		e := gatehouse.Forbidden(actor, gatehouse.PermReject, st.object())
		e.Rule = "C13"
		e.Message = fmt.Sprintf("C13: %s may neither authorise %s in its current tier nor give an approval it still needs (%s), so may not reject it",
			actor, st.object(), strings.Join(st.ApprovalsNeeded, ", "))
		return nil, final(e)
	}
	if path != "" {
		gives = nil
	}
	return s.standingPins(ctx, st, actor, path, gives)
}
