package workflow

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// security decides the delegation of the security administrators: at most
// one SA and one ASA, different users (S1); the SA or owner delegates a
// new SA, the outgoing one optionally becoming the ASA in the same write
// (S3); the SA, ASA or owner delegates the ASA (S5); provider staff
// delegate an SA when both are unavailable, at a verified director's
// request (S7, C9). Roles.GrantRole hands it those two roles.
type security struct {
	*kit
	membership *membership
}

// delegateSA makes g.User the SA of g.Org in one write (S1, S3, S7). The
// write deletes the current SA and pins it, so that of two concurrent
// delegations one applies and the other is decided again against the new
// SA. If g.User is the ASA, they stop being it (S1). With
// PreviousBecomesAlternate the outgoing SA becomes the ASA, replacing the
// current one, pinned likewise. Otherwise the write pins that g.User is
// not the ASA.
func (s *security) delegateSA(ctx context.Context, actor gatehouse.Subject, g RoleGrant) (string, error) {
	o := gatehouse.OrganisationRef(g.Org)
	var c writeSet
	audit := gatehouse.Audit{
		Actor: actor.String(), Action: "grant_role", Reason: g.Reason, Organisation: g.Org,
		Details: map[string]string{"role": gatehouse.RoleSecurityAdmin, "user": g.User.String()},
	}
	pins, err := s.requirePins(ctx, actor, g.Org, gatehouse.PermDelegateSecurityAdmin)
	staff := false
	switch {
	case err == nil:
		c.pin(pins...)
	case gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN && g.RequestedBy != nil:
		// S7: provider staff step in when the organisation cannot.
		if pins, err = s.requirePins(ctx, actor, g.Org, gatehouse.PermProviderStaff); err != nil {
			return "", err
		}
		c.pin(pins...)
		staff = true
	default:
		return "", err
	}
	if g.RequestedBy != nil {
		audit.Details["requestedBy"] = g.RequestedBy.String()
	}
	sa, err := s.holders(ctx, g.Org, gatehouse.RoleSecurityAdmin)
	if err != nil {
		return "", err
	}
	asa, err := s.holders(ctx, g.Org, gatehouse.RoleAlternateSecurityAdmin)
	if err != nil {
		return "", err
	}
	if staff {
		if err := s.emergency(ctx, &c, g, sa, asa); err != nil {
			return "", err
		}
		audit.Details["rule"] = "S7"
	}
	if slices.Equal(sa, []gatehouse.Subject{g.User}) {
		return "", nil // g.User is the SA already: nothing to change.
	}
	c.pinHolders(o, gatehouse.RoleSecurityAdmin, sa)
	for _, x := range sa {
		c.update(gatehouse.Delete, makeRel(o, gatehouse.RoleSecurityAdmin, x))
	}
	c.update(gatehouse.Touch, makeRel(o, gatehouse.RoleSecurityAdmin, g.User))
	if g.PreviousBecomesAlternate && len(sa) > 0 {
		c.pinHolders(o, gatehouse.RoleAlternateSecurityAdmin, asa)
		for _, y := range asa {
			if y != sa[0] {
				c.update(gatehouse.Delete, makeRel(o, gatehouse.RoleAlternateSecurityAdmin, y))
			}
		}
		c.update(gatehouse.Touch, makeRel(o, gatehouse.RoleAlternateSecurityAdmin, sa[0]))
		audit.Details["previousBecomesAlternate"] = sa[0].String()
	} else if slices.Contains(asa, g.User) {
		c.pin(pinPresent(makeRel(o, gatehouse.RoleAlternateSecurityAdmin, g.User)))
		c.update(gatehouse.Delete, makeRel(o, gatehouse.RoleAlternateSecurityAdmin, g.User))
	} else {
		c.pin(pinAbsent(exactFilter(makeRel(o, gatehouse.RoleAlternateSecurityAdmin, g.User))))
	}
	// An outgoing SA or ASA whose only role it was leaves the team (T4).
	return s.membership.writeSettled(ctx, c, g.Org, audit)
}

// emergency holds the conditions of S7 and pins them: a reason is given,
// the request comes from a verified director who is not unavailable, and
// the SA and the ASA are each either absent or unavailable.
func (s *security) emergency(ctx context.Context, c *writeSet, g RoleGrant, sa, asa []gatehouse.Subject) error {
	o := gatehouse.OrganisationRef(g.Org)
	if strings.TrimSpace(g.Reason) == "" {
		return final(gatehouse.Invalid("reason", "provider staff delegating a security admin must give the reason (S7)"))
	}
	unavailable, err := s.holders(ctx, g.Org, gatehouse.DesignationUnavailableContact)
	if err != nil {
		return err
	}
	dirs, err := s.holders(ctx, g.Org, gatehouse.DesignationVerifiedDirector)
	if err != nil {
		return err
	}
	rb := *g.RequestedBy
	if !slices.Contains(dirs, rb) || slices.Contains(unavailable, rb) {
		return final(gatehouse.RuleViolation("S7", "%s is not an available verified director of %s", rb, g.Org))
	}
	c.pin(pinPresent(makeRel(o, gatehouse.DesignationVerifiedDirector, rb)), pinAbsent(exactFilter(makeRel(o, gatehouse.DesignationUnavailableContact, rb))))
	for _, slot := range []struct {
		role    string
		holders []gatehouse.Subject
	}{{gatehouse.RoleSecurityAdmin, sa}, {gatehouse.RoleAlternateSecurityAdmin, asa}} {
		c.pinHolders(o, slot.role, slot.holders)
		for _, h := range slot.holders {
			if !slices.Contains(unavailable, h) {
				return final(gatehouse.RuleViolation("S7", "the %s %s is available: provider staff delegate only when SA and ASA are both unavailable", slot.role, h))
			}
			c.pin(pinPresent(makeRel(o, gatehouse.DesignationUnavailableContact, h)))
		}
	}
	return nil
}

// delegateASA makes g.User the ASA of g.Org in one write (S1, S5): the
// current ASA goes, pinned as read, and the write pins that g.User is not
// the SA (the SA cannot also be the ASA: 422 naming S1).
func (s *security) delegateASA(ctx context.Context, actor gatehouse.Subject, g RoleGrant) (string, error) {
	o := gatehouse.OrganisationRef(g.Org)
	pins, err := s.requirePins(ctx, actor, g.Org, gatehouse.PermDelegateAlternateSecurityAdmin)
	if err != nil {
		return "", err
	}
	var c writeSet
	c.pin(pins...)
	sa, err := s.holders(ctx, g.Org, gatehouse.RoleSecurityAdmin)
	if err != nil {
		return "", err
	}
	if slices.Contains(sa, g.User) {
		return "", final(gatehouse.RuleViolation("S1", "%s is the security admin and cannot also be the alternate", g.User))
	}
	asa, err := s.holders(ctx, g.Org, gatehouse.RoleAlternateSecurityAdmin)
	if err != nil {
		return "", err
	}
	if slices.Equal(asa, []gatehouse.Subject{g.User}) {
		return "", nil
	}
	c.pin(pinAbsent(exactFilter(makeRel(o, gatehouse.RoleSecurityAdmin, g.User))))
	c.pinHolders(o, gatehouse.RoleAlternateSecurityAdmin, asa)
	for _, y := range asa {
		c.update(gatehouse.Delete, makeRel(o, gatehouse.RoleAlternateSecurityAdmin, y))
	}
	c.update(gatehouse.Touch, makeRel(o, gatehouse.RoleAlternateSecurityAdmin, g.User))
	// An outgoing ASA whose only role it was leaves the team (T4).
	return s.membership.writeSettled(ctx, c, g.Org, gatehouse.Audit{
		Actor: actor.String(), Action: "grant_role", Reason: g.Reason, Organisation: g.Org,
		Details: map[string]string{"role": gatehouse.RoleAlternateSecurityAdmin, "user": g.User.String()},
	})
}
