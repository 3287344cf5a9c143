package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// The standing a transition of a change request rests on: how the actor
// may act (in a tier, by standing, as an approver, as staff) and the
// preconditions that hold it, so that a write made on a standing lost
// concurrently fails and is decided again (C7, T4, R7).

// pathStanding is the authorisation path of a requester whose standing
// lets them authorise their own request (C3, C5, C6).
const pathStanding = "standing"

// authorisePath returns how actor may give st its authorisation: the name
// of the current tier they are in (C4, C7, C8, C9), pathStanding for a
// requester with standing (C3, C5, C6), which also lets a requester record
// an authorisation that filing could not, or "" when they may not.
func (s *Service) authorisePath(ctx context.Context, st ChangeRequest, actor gatehouse.Subject) (string, error) {
	if slices.Contains(st.Authorisers, actor) && st.Tier != TierNone {
		return st.Tier, nil
	}
	if actor != st.Requester {
		return "", nil
	}
	ok, err := s.allowed(ctx, st.object(), gatehouse.PermStanding, actor)
	if err != nil || !ok {
		return "", err
	}
	return pathStanding, nil
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

// rejectPath decides whether actor may reject st (C13): in its current
// tier while it needs authorisation (the path, a tier name), else as an
// approver of the first approval it still needs that actor may give;
// 403 naming reject and C13 otherwise.
func (st ChangeRequest) rejectPath(actor gatehouse.Subject) (string, []approval, error) {
	if st.inTier(actor) {
		return st.Tier, nil, nil
	}
	for _, a := range approvals() {
		if st.Needs(a.need) && slices.Contains(st.approvers[a.need], actor) {
			return "", []approval{a}, nil
		}
	}
	e := gatehouse.Forbidden(actor, gatehouse.PermReject, st.object())
	e.Rule = "C13"
	e.Message = fmt.Sprintf("C13: %s may neither authorise %s in its current tier nor give an approval it still needs (%s), so may not reject it",
		actor, st.object(), strings.Join(st.ApprovalsNeeded, ", "))
	return "", nil, e
}

// rejectStanding returns the pins of actor's standing to reject st
// (rejectPath), or its refusal, final.
func (s *Service) rejectStanding(ctx context.Context, st ChangeRequest, actor gatehouse.Subject) ([]gatehouse.Precondition, error) {
	path, gives, err := st.rejectPath(actor)
	if err != nil {
		return nil, final(err)
	}
	return s.standingPins(ctx, st, actor, path, gives)
}

// withdrawStanding returns the pins of actor's standing to withdraw st:
// its requester (the schema's withdraw, C13), while a member or, for a
// legally mandated change, provider staff; 403 naming withdraw, final,
// otherwise.
func (s *Service) withdrawStanding(ctx context.Context, st ChangeRequest, actor gatehouse.Subject) ([]gatehouse.Precondition, error) {
	if err := s.require(ctx, actor, gatehouse.PermWithdraw, st.object()); err != nil {
		return nil, final(err)
	}
	held, err := s.relationsOf(ctx, st.Organisation, actor)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(held, func(r gatehouse.Relationship) bool { return gatehouse.IsRole(r.Relation) }); i >= 0 {
		return []gatehouse.Precondition{pinPresent(held[i])}, nil
	}
	return []gatehouse.Precondition{pinPresent(makeRel(gatehouse.Provider, gatehouse.RelStaff, actor))}, nil
}

// flagStanding returns the pins of how actor holds raise_flags on st:
// provider staff, else a role that grants approve_security_changes, else
// one that grants approve_charges without R7's designation (C15).
func (s *Service) flagStanding(ctx context.Context, st ChangeRequest, actor gatehouse.Subject) ([]gatehouse.Precondition, error) {
	org := gatehouse.OrganisationRef(st.Organisation)
	for _, a := range approvals() {
		if a.need != NeedSecurity && a.need != NeedCharge {
			continue
		}
		ok, err := s.allowed(ctx, org, a.grant, actor)
		if err != nil {
			return nil, err
		}
		if ok {
			return s.standingPins(ctx, st, actor, "", []approval{a})
		}
	}
	return s.requirePins(ctx, actor, st.Organisation, gatehouse.PermProviderStaff)
}

// platformOf returns the provider an organisation is linked to.
func (s *Service) platformOf(ctx context.Context, actor gatehouse.Subject, org gatehouse.Object) (gatehouse.Object, error) {
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: org.Type, ResourceID: org.ID, Relation: gatehouse.RelPlatform}, latest)
	if err != nil {
		return gatehouse.Object{}, err
	}
	if len(rels) == 0 {
		// provider_staff reaches staff only through this link, so require
		// has already refused; this guards a concurrent unlinking.
		return gatehouse.Object{}, gatehouse.Forbidden(actor, gatehouse.PermProviderStaff, org)
	}
	return rels[0].Subject.Object, nil
}
