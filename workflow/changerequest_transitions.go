package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// The transitions of a change request. Each is one load (Service.state)
// and one write, made by transit: a method of ChangeRequest decides the
// relationships to write and the pins that hold the request as it was
// read, the Service adds the pins of the actor's standing
// (changerequest_standing.go), and a concurrent change that breaks a pin
// sends the transition back to be decided again from a fresh load.

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

// transition is the one write of a transition and its audit. completes
// says the write gives everything the request still needs, as the state
// it was decided on reads: only then may the state after it settle (C14),
// which a staged transition asks SpiceDB about (transit).
type transition struct {
	writeSet
	audit     gatehouse.Audit
	completes bool
}

// decision is what a transition decides on the state it loaded: its write
// (nil or no updates when there is nothing to write), or why it is
// refused.
type decision func(st ChangeRequest) (*transition, error)

// transit runs one transition of the change request cr: load, decide,
// write, again from the load while a concurrent change breaks the write
// (retryWrite). It returns the write's token, "" when nothing was written,
// and whether the write may complete the request (transition.completes):
// over a stage (changerequest_onewrite.go), a write that may not needs no
// scratch SpiceDB to weigh the state after it, so the stage is spared
// starting one; Go decides when to ask, SpiceDB what the answer is.
func (s *Service) transit(ctx context.Context, cr gatehouse.Object, decide decision) (string, bool, error) {
	var tok string
	completes := false
	err := retryWrite(ctx, func() error {
		st, err := s.state(ctx, cr)
		if err != nil {
			return err
		}
		t, err := decide(st)
		if err != nil || t == nil || len(t.updates) == 0 {
			return err
		}
		completes = t.completes
		tok, err = s.write(ctx, t.writeSet, t.audit)
		return err
	})
	return tok, completes, err
}

// stateAfter answers the state of cr after the write that returned tok,
// or err when the write failed.
// A request the write settled is flagged so (settle, C14), for actor.
func (s *Service) stateAfter(ctx context.Context, actor gatehouse.Subject, cr gatehouse.Object, tok string, err error) (ChangeRequest, error) {
	if err != nil {
		return ChangeRequest{}, err
	}
	st, err := s.state(ctx, cr)
	if err != nil {
		return st, err
	}
	st.ZedToken = tok
	return s.settle(ctx, actor, st), nil
}

// AuthoriseChangeRequest gives, for actor, everything the request still
// needs that actor may give, in one write: the authorisation when actor is
// in the current tier (C4, C7, C8, C9) or is a requester with standing (C5,
// C6), and each approval still needed that actor may give (C10, C11, C16);
// the requester and the user the request is about give none (C17). The
// write touches, so concurrent authorisations converge; it pins the
// request open (C13) and actor's standing in the tier and roles it used,
// so a concurrent rejection, unavailable_contact or removal sends it back
// to be decided again (C7). An authorisation that completes the request
// settles it (C14): in the same write, with one audit record whose details
// say "settled", with a scratch engine (WithScratch), else in a write of
// its own. A closed request is ECONFLICT naming C13;
// nothing needed is ERULE (C4); nothing actor may give is EFORBIDDEN
// naming the first permission actor lacks.
func (s *Service) AuthoriseChangeRequest(ctx context.Context, actor gatehouse.Subject, id, note string) (ChangeRequest, error) {
	cr, err := changeRequestRef(id)
	if err != nil {
		return ChangeRequest{}, err
	}
	return s.inOneWrite(ctx, actor, cr, func(sv *Service) (ChangeRequest, error) {
		return sv.authoriseApart(ctx, actor, cr, note)
	})
}

// authoriseApart is AuthoriseChangeRequest of cr: its write, then, when
// the request settles, the write of its settled flag (stateAfter).
func (s *Service) authoriseApart(ctx context.Context, actor gatehouse.Subject, cr gatehouse.Object, note string) (ChangeRequest, error) {
	id := cr.ID
	tok, completes, err := s.transit(ctx, cr, func(st ChangeRequest) (*transition, error) {
		if st.closed {
			return nil, final(closedError(st, "authorised or approved"))
		}
		if len(st.ApprovalsNeeded) == 0 {
			return nil, final(gatehouse.RuleViolation("C4", "nothing left to authorise: change request %s is authorised", id))
		}
		var path string
		var err error
		if st.Needs(NeedAuthorisation) {
			if path, err = s.authorisePath(ctx, st, actor); err != nil {
				return nil, err
			}
		}
		c, gave, gives, err := st.authorise(actor, path)
		if err != nil {
			return nil, final(err)
		}
		pins, err := s.standingPins(ctx, st, actor, path, gives)
		if err != nil {
			return nil, err
		}
		c.pin(pins...)
		c.pin(pinAbsent(closedFilter(cr)))
		return &transition{c, gatehouse.Audit{
			Actor: actor.String(), Action: actionAuthorise, Reason: note, Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "gave": strings.Join(gave, ",")},
		}, len(gave) == len(st.ApprovalsNeeded)}, nil
	})
	if s.staged && !completes {
		// Staged, and nothing can settle: the state after is read for real.
		return ChangeRequest{}, err
	}
	return s.stateAfter(ctx, actor, cr, tok, err)
}

// authorise decides what actor gives st: its authorisation when path (how
// actor may give it, authorisePath) is not "", and each approval it still
// needs whose approvers include actor (C10, C11, C16). It returns the
// records to touch, what they give and the approvals given, or EFORBIDDEN
// naming the first permission actor lacks when actor gives nothing.
func (st ChangeRequest) authorise(actor gatehouse.Subject, path string) (c writeSet, gave []string, gives []approval, err error) {
	cr := st.object()
	var lacking []string
	if st.Needs(NeedAuthorisation) {
		if path != "" {
			c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelAuthorisedBy, actor))
			gave = append(gave, NeedAuthorisation)
		} else {
			lacking = append(lacking, st.tierPermission)
		}
	}
	for _, a := range approvals() {
		if !st.Needs(a.need) {
			continue
		}
		if slices.Contains(st.approvers[a.need], actor) {
			c.update(gatehouse.Touch, makeRel(cr, a.record, actor))
			gave = append(gave, a.need)
			gives = append(gives, a)
		} else {
			lacking = append(lacking, a.approve)
		}
	}
	if len(gave) == 0 {
		return writeSet{}, nil, nil, &gatehouse.Error{
			Code: gatehouse.EFORBIDDEN, Permission: lacking[0],
			Message: fmt.Sprintf("%s may give nothing that %s still needs (%s): it lacks %s",
				actor, cr, strings.Join(st.ApprovalsNeeded, ", "), strings.Join(lacking, ", ")),
		}
	}
	return c, gave, gives, nil
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
	tok, _, err := s.transit(ctx, cr, func(st ChangeRequest) (*transition, error) {
		if err := st.refuseUnlessOpen(verb); err != nil {
			return nil, final(err)
		}
		var pins []gatehouse.Precondition
		var err error
		if relation == gatehouse.RelRejectedBy {
			pins, err = s.rejectStanding(ctx, st, actor)
		} else {
			pins, err = s.withdrawStanding(ctx, st, actor)
		}
		if err != nil {
			return nil, err
		}
		c, err := st.closing(actor, relation, reason, s.now())
		if err != nil {
			return nil, final(err)
		}
		c.pin(pins...)
		return &transition{c, gatehouse.Audit{
			Actor: actor.String(), Action: action, Reason: reason, Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "status": st.Status},
		}, false}, nil
	})
	return s.stateAfter(ctx, actor, cr, tok, err)
}

// closing is the write that closes st for actor by relation (rejected_by
// or withdrawn_by) at now, with reason (C13): that record, the closed flag
// and the label of when and why, pinned on st being as open as read.
func (st ChangeRequest) closing(actor gatehouse.Subject, relation, reason string, now time.Time) (writeSet, error) {
	cr := st.object()
	label, err := labelOf(cr, map[string]string{labelClosedAt: now.UTC().Format(time.RFC3339Nano), labelClosedReason: reason})
	if err != nil {
		return writeSet{}, err
	}
	var c writeSet
	c.pin(st.openPins()...)
	c.update(gatehouse.Touch, makeRel(cr, relation, actor))
	c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelClosed, gatehouse.Wildcard(gatehouse.TypeUser)))
	c.update(gatehouse.Touch, label)
	return c, nil
}

// RaiseFlags raises, for actor, the substantial-security and/or
// substantial-charge flag of the open change request id (C15): a holder
// of approve_security_changes or approve_charges, or provider staff, may
// raise either flag, never lower one. Raising a flag that is up already
// changes nothing. The write pins the request open as read and actor's
// standing (C13, R7). Neither flag asked is 400; a closed or authorised
// request 409 naming C13; anyone else 403 naming raise_flags.
// A raiser who may neither view the request nor act on it now gets back
// only its id, organisation, status and flags.
func (s *Service) RaiseFlags(ctx context.Context, actor gatehouse.Subject, id string, security, charge bool) (ChangeRequest, error) {
	if !gatehouse.ValidID(id) {
		return ChangeRequest{}, gatehouse.Invalid("id", "%q is not a valid change request id", id)
	}
	if !security && !charge {
		return ChangeRequest{}, gatehouse.Invalid("substantialSecurity", "raise substantialSecurity, substantialCharge or both (flags are never lowered)")
	}
	cr := gatehouse.ChangeRequestRef(id)
	tok, _, err := s.transit(ctx, cr, func(st ChangeRequest) (*transition, error) {
		if err := st.refuseUnlessOpen("flagged"); err != nil {
			return nil, final(err)
		}
		if err := s.require(ctx, actor, gatehouse.PermRaiseFlags, cr); err != nil {
			return nil, final(err)
		}
		c, raised := st.raise(security, charge)
		if len(raised) == 0 {
			return nil, nil
		}
		pins, err := s.flagStanding(ctx, st, actor)
		if err != nil {
			return nil, err
		}
		c.pin(pins...)
		return &transition{c, gatehouse.Audit{
			Actor: actor.String(), Action: "raise_flags", Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "raised": strings.Join(raised, ",")},
		}, false}, nil
	})
	if err != nil {
		return ChangeRequest{}, err
	}
	st, err := s.state(ctx, cr)
	if err != nil {
		return ChangeRequest{}, err
	}
	if tok != "" {
		st.ZedToken = tok
	}
	// C14, C15: raising a flag does not open the request to reading. A
	// raiser who may neither view it nor act on it now (an approver of
	// charges raising only the security flag) learns only what they did:
	// its flags and status. One who now approves it (the charge flag
	// makes its approvers) reads what they are to approve.
	may := false
	for _, p := range []string{gatehouse.PermView, gatehouse.PermReject} {
		if may, err = s.allowed(ctx, cr, p, actor); err != nil {
			return ChangeRequest{}, err
		}
		if may {
			break
		}
	}
	if !may {
		return ChangeRequest{
			ID: st.ID, Organisation: st.Organisation, Status: st.Status,
			SubstantialSecurity: st.SubstantialSecurity, SubstantialCharge: st.SubstantialCharge,
			Authorisers: []gatehouse.Subject{}, ZedToken: st.ZedToken,
		}, nil
	}
	return st, nil
}

// raise is the write that raises the flags asked that are not up yet
// (C15; never lowered), pinned on st being as open as read, and the needs
// they add; nothing when both are up already.
func (st ChangeRequest) raise(security, charge bool) (writeSet, []string) {
	cr := st.object()
	var c writeSet
	var raised []string
	if security && !st.SubstantialSecurity {
		c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelSubstantialSecurity, gatehouse.Wildcard(gatehouse.TypeUser)))
		raised = append(raised, NeedSecurity)
	}
	if charge && !st.SubstantialCharge {
		c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelSubstantialCharge, gatehouse.Wildcard(gatehouse.TypeUser)))
		raised = append(raised, NeedCharge)
	}
	if len(raised) > 0 {
		c.pin(st.openPins()...)
	}
	return c, raised
}

// Override records, for actor, a provider staff member, an override of
// the open change request id on mitigating circumstances, with a category
// (e.g. "outage") and a reason, both required (C18). It does not authorise
// the request: a second, different staff member confirms it with
// ConfirmOverride, and until then the request stays as it was. One
// override at a time: a request overridden already is 409 naming C18, one
// that no longer needs authorisation 409 naming C13 (authorised) or C18.
// Anyone but staff, and staff the request is about (C17), get 403 naming
// override.
func (s *Service) Override(ctx context.Context, actor gatehouse.Subject, id, category, reason string) (ChangeRequest, error) {
	if !gatehouse.ValidID(id) {
		return ChangeRequest{}, gatehouse.Invalid("id", "%q is not a valid change request id", id)
	}
	category, err := validReason("category", category, false)
	if err != nil {
		return ChangeRequest{}, err
	}
	if reason, err = validReason("reason", reason, false); err != nil {
		return ChangeRequest{}, err
	}
	cr := gatehouse.ChangeRequestRef(id)
	tok, _, err := s.transit(ctx, cr, func(st ChangeRequest) (*transition, error) {
		if err := st.overridable("overridden"); err != nil {
			return nil, final(err)
		}
		if err := s.require(ctx, actor, gatehouse.PermOverride, cr); err != nil {
			return nil, final(err)
		}
		c, err := st.override(actor, category, reason, s.now())
		if err != nil {
			return nil, final(err)
		}
		pins, err := s.requirePins(ctx, actor, st.Organisation, gatehouse.PermProviderStaff)
		if err != nil {
			return nil, err
		}
		c.pin(pins...)
		return &transition{c, gatehouse.Audit{
			Actor: actor.String(), Action: "override_change_request", Reason: reason, Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "category": category},
		}, false}, nil
	})
	return s.stateAfter(ctx, actor, cr, tok, err)
}

// overridable refuses an override, or its confirmation, of st when it
// makes no sense: st is closed (C13), authorised (C13), or no longer
// needs authorisation (C18).
func (st ChangeRequest) overridable(what string) error {
	if err := st.refuseUnlessOpen(what); err != nil {
		return err
	}
	if !st.Needs(NeedAuthorisation) {
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Rule: "C18", Message: fmt.Sprintf("C18: %s is authorised already; an override stands in for authorisation only", st.object())}
	}
	return nil
}

// override is the write of actor's override of st at now (C18): one at a
// time, so a request overridden already is 409 naming C18.
func (st ChangeRequest) override(actor gatehouse.Subject, category, reason string, now time.Time) (writeSet, error) {
	cr := st.object()
	if st.OverrideBy != nil {
		return writeSet{}, &gatehouse.Error{Code: gatehouse.ECONFLICT, Rule: "C18", Message: fmt.Sprintf("C18: %s was overridden already by %s; a second staff member confirms it", cr, st.OverrideBy)}
	}
	label, err := labelOf(cr, map[string]string{labelOverrideCategory: category, labelOverrideReason: reason, labelOverrideAt: now.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return writeSet{}, err
	}
	var c writeSet
	c.pin(st.openPins()...)
	c.pin(pinAbsent(gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID, Relation: gatehouse.RelOverrideBy}))
	c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelOverrideBy, actor))
	c.update(gatehouse.Touch, label)
	return c, nil
}

// ConfirmOverride confirms, for actor, a provider staff member other than
// the one who overrode, the override of change request id (C18): the
// confirmed override stands in for its authorisation, while the approvals
// of C10, C11 and C16 are still needed. No override yet is 409 naming
// C18; the staff member who overrode, or anyone not staff, 403 naming
// confirm_override. A confirmation that completes the request is staged
// as AuthoriseChangeRequest's is.
func (s *Service) ConfirmOverride(ctx context.Context, actor gatehouse.Subject, id string) (ChangeRequest, error) {
	cr, err := changeRequestRef(id)
	if err != nil {
		return ChangeRequest{}, err
	}
	return s.inOneWrite(ctx, actor, cr, func(sv *Service) (ChangeRequest, error) {
		return sv.confirmOverrideApart(ctx, actor, cr)
	})
}

// confirmOverrideApart is ConfirmOverride of cr: its write, then, when the
// request settles, the write of its settled flag (stateAfter).
func (s *Service) confirmOverrideApart(ctx context.Context, actor gatehouse.Subject, cr gatehouse.Object) (ChangeRequest, error) {
	id := cr.ID
	tok, completes, err := s.transit(ctx, cr, func(st ChangeRequest) (*transition, error) {
		if err := st.overridable("overridden"); err != nil {
			return nil, final(err)
		}
		c, err := st.confirmOverride(actor)
		if err != nil {
			return nil, final(err)
		}
		if err := s.require(ctx, actor, gatehouse.PermConfirmOverride, cr); err != nil {
			return nil, final(err)
		}
		pins, err := s.requirePins(ctx, actor, st.Organisation, gatehouse.PermProviderStaff)
		if err != nil {
			return nil, err
		}
		c.pin(pins...)
		return &transition{c, gatehouse.Audit{
			Actor: actor.String(), Action: "confirm_override", Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "overrideBy": st.OverrideBy.String(), "category": st.OverrideCategory},
		}, len(st.ApprovalsNeeded) == 1}, nil
	})
	if s.staged && !completes {
		// Staged, and nothing can settle: the state after is read for real.
		return ChangeRequest{}, err
	}
	return s.stateAfter(ctx, actor, cr, tok, err)
}

// confirmOverride is the write of actor's confirmation of st's override
// (C18), pinned on that override: there must be one (409 naming C18), and
// its confirmer is a second, different staff member (403 naming C18).
func (st ChangeRequest) confirmOverride(actor gatehouse.Subject) (writeSet, error) {
	cr := st.object()
	if st.OverrideBy == nil {
		return writeSet{}, &gatehouse.Error{Code: gatehouse.ECONFLICT, Rule: "C18", Message: fmt.Sprintf("C18: %s has no override to confirm", cr)}
	}
	if *st.OverrideBy == actor {
		e := gatehouse.Forbidden(actor, gatehouse.PermConfirmOverride, cr)
		e.Rule = "C18"
		e.Message = "C18: " + actor.String() + " overrode " + cr.String() + "; a second, different staff member confirms"
		return writeSet{}, e
	}
	var c writeSet
	c.pin(st.openPins()...)
	c.pin(pinPresent(makeRel(cr, gatehouse.RelOverrideBy, *st.OverrideBy)))
	c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelOverrideConfirmedBy, actor))
	return c, nil
}

// settle writes the C14 settled flag on st when st settles (settles), so
// that "awaiting me" never looks at it again, and returns st with the
// write's token. The flag is an index for that lookup, the evaluation of
// the request stays the arbiter, so settle is best effort: a failed write
// leaves st as it was. The write pins the request's organisation, so a
// flag never outlives a request deleted concurrently (O3), and the
// request as st read it: not closed, no flag raised since (C13, C15).
func (s *Service) settle(ctx context.Context, actor gatehouse.Subject, st ChangeRequest) ChangeRequest {
	if !st.settles() {
		return st
	}
	cr := st.object()
	var c writeSet
	c.pin(pinPresent(makeRel(cr, gatehouse.RelOrganisation, gatehouse.Subject{Object: gatehouse.OrganisationRef(st.Organisation)})))
	c.pin(pinAbsent(closedFilter(cr)))
	// The flags as read: one raised since would add a need (C15), and a
	// transition staged as one write weighs settling before it commits.
	if !st.SubstantialSecurity {
		c.pin(pinAbsent(gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID, Relation: gatehouse.RelSubstantialSecurity}))
	}
	if !st.SubstantialCharge {
		c.pin(pinAbsent(gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID, Relation: gatehouse.RelSubstantialCharge}))
	}
	c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelSettled, gatehouse.Wildcard(gatehouse.TypeUser)))
	tok, err := s.write(ctx, c, gatehouse.Audit{
		Actor: actor.String(), Action: actionSettle, Organisation: st.Organisation,
		Reason: "authorised with every approval given: no longer awaiting anyone (C14)", Details: map[string]string{"changeRequest": st.ID},
	})
	if err != nil {
		return st
	}
	st.settled, st.ZedToken = true, tok
	return st
}
