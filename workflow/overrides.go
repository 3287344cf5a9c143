package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

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
	var tok string
	err = retryWrite(ctx, func() error {
		st, err := s.overridable(ctx, cr, "overridden")
		if err != nil {
			return err
		}
		if err := s.require(ctx, actor, gatehouse.PermOverride, cr); err != nil {
			return final(err)
		}
		if st.OverrideBy != nil {
			return final(&gatehouse.Error{Code: gatehouse.ECONFLICT, Rule: "C18", Message: fmt.Sprintf("C18: %s was overridden already by %s; a second staff member confirms it", cr, st.OverrideBy)})
		}
		pins, err := s.requirePins(ctx, actor, st.Organisation, gatehouse.PermProviderStaff)
		if err != nil {
			return err
		}
		label, err := labelOf(cr, map[string]string{labelOverrideCategory: category, labelOverrideReason: reason, labelOverrideAt: s.now().UTC().Format(time.RFC3339Nano)})
		if err != nil {
			return final(err)
		}
		var c writeSet
		c.pin(pins...)
		c.pin(st.openPins()...)
		c.pin(pinAbsent(gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID, Relation: gatehouse.RelOverrideBy}))
		c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelOverrideBy, actor))
		c.update(gatehouse.Touch, label)
		tok, err = s.write(ctx, c, gatehouse.Audit{
			Actor: actor.String(), Action: "override_change_request", Reason: reason, Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "category": category},
		})
		return err
	})
	return s.stateAfter(ctx, actor, cr, tok, err)
}

// ConfirmOverride confirms, for actor, a provider staff member other than
// the one who overrode, the override of change request id (C18): the
// confirmed override stands in for its authorisation, while the approvals
// of C10, C11 and C16 are still needed. No override yet is 409 naming
// C18; the staff member who overrode, or anyone not staff, 403 naming
// confirm_override.
func (s *Service) ConfirmOverride(ctx context.Context, actor gatehouse.Subject, id string) (ChangeRequest, error) {
	cr, err := changeRequestRef(id)
	if err != nil {
		return ChangeRequest{}, err
	}
	var tok string
	err = retryWrite(ctx, func() error {
		st, err := s.overridable(ctx, cr, "overridden")
		if err != nil {
			return err
		}
		if st.OverrideBy == nil {
			return final(&gatehouse.Error{Code: gatehouse.ECONFLICT, Rule: "C18", Message: fmt.Sprintf("C18: %s has no override to confirm", cr)})
		}
		if *st.OverrideBy == actor {
			e := gatehouse.Forbidden(actor, gatehouse.PermConfirmOverride, cr)
			e.Rule = "C18"
			e.Message = "C18: " + actor.String() + " overrode " + cr.String() + "; a second, different staff member confirms"
			return final(e)
		}
		if err := s.require(ctx, actor, gatehouse.PermConfirmOverride, cr); err != nil {
			return final(err)
		}
		pins, err := s.requirePins(ctx, actor, st.Organisation, gatehouse.PermProviderStaff)
		if err != nil {
			return err
		}
		var c writeSet
		c.pin(pins...)
		c.pin(st.openPins()...)
		c.pin(pinPresent(makeRel(cr, gatehouse.RelOverrideBy, *st.OverrideBy)))
		c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelOverrideConfirmedBy, actor))
		tok, err = s.write(ctx, c, gatehouse.Audit{
			Actor: actor.String(), Action: "confirm_override", Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "overrideBy": st.OverrideBy.String(), "category": st.OverrideCategory},
		})
		return err
	})
	return s.stateAfter(ctx, actor, cr, tok, err)
}

// overridable reads cr and refuses when an override makes no sense: it is
// closed (C13), authorised (C13), or no longer needs authorisation (C18).
func (s *Service) overridable(ctx context.Context, cr gatehouse.Object, what string) (ChangeRequest, error) {
	st, err := s.state(ctx, cr)
	if err != nil {
		return st, err
	}
	if st.closed {
		return st, final(closedError(st, what))
	}
	if !st.Open() {
		return st, final(notOpenError(st, what))
	}
	if !st.Needs(NeedAuthorisation) {
		return st, final(&gatehouse.Error{Code: gatehouse.ECONFLICT, Rule: "C18", Message: fmt.Sprintf("C18: %s is authorised already; an override stands in for authorisation only", cr)})
	}
	return st, nil
}
