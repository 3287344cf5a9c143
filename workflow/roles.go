package workflow

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// RolePermission is the permission on the organisation needed to grant or
// revoke role (S2, S3, S5, T2, T3). The owner role has none: it moves only
// by transfer (O4, O6). The console reads it to offer only the forms the
// actor may use.
func RolePermission(role string) string {
	switch role {
	case gatehouse.RoleSecurityAdmin:
		return gatehouse.PermDelegateSecurityAdmin
	case gatehouse.RoleAlternateSecurityAdmin:
		return gatehouse.PermDelegateAlternateSecurityAdmin
	case gatehouse.RoleCISProcessor, gatehouse.RoleBillingManager:
		return gatehouse.PermManageTeamMembers
	}
	return gatehouse.PermManageMembers
}

// RoleGrant asks for User to hold Role in organisation Org.
type RoleGrant struct {
	Org  string
	User gatehouse.Subject
	Role string
	// PreviousBecomesAlternate makes the outgoing SA the ASA in the same
	// write, replacing any ASA (S3); only with Role security_admin.
	PreviousBecomesAlternate bool
	// Reason is recorded in the audit trail (X2).
	Reason string
	// RequestedBy is the verified director at whose request provider staff
	// delegate a new SA when neither SA nor ASA is available (S7).
	RequestedBy *gatehouse.Subject
	// ExpiresAt, when set, ends the grant: SpiceDB's relationship
	// expiration stops it counting at that moment, with no write (T5).
	// Never on owner, security_admin or alternate_security_admin (O2, S1).
	ExpiresAt *time.Time
}

// expiring reports whether role may carry an expiry (T5): every role but
// the single-holder ones, whose holders O2 and S1 keep in Go.
func expiring(role string) bool {
	switch role {
	case gatehouse.RoleOwner, gatehouse.RoleSecurityAdmin, gatehouse.RoleAlternateSecurityAdmin:
		return false
	}
	return true
}

// GrantRole gives g.User the role g.Role in g.Org, for actor. Owner is
// refused (transfer it, O4). security_admin and alternate_security_admin
// replace their current holder in one write whose preconditions pin the
// holders read, so there is never more than one of each, and never the
// same user (S1). Any other role may carry an expiry (T5); granting it
// again replaces the expiry, or removes it when g.ExpiresAt is nil.
func (s *Service) GrantRole(ctx context.Context, actor gatehouse.Subject, g RoleGrant) (string, error) {
	if err := validOrg("org", g.Org); err != nil {
		return "", err
	}
	if err := validUser("user", g.User); err != nil {
		return "", err
	}
	if !gatehouse.IsRole(g.Role) {
		return "", gatehouse.Invalid("role", "%q is not a role; roles are %s", g.Role, strings.Join(gatehouse.Roles(), ", "))
	}
	if g.ExpiresAt != nil {
		if !expiring(g.Role) {
			v := gatehouse.RuleViolation("T5", "%s never expires: an organisation keeps its single owner, security admin and alternate security admin until replaced (O2, S1)", g.Role)
			v.Field = "expiresAt"
			return "", v
		}
		if !g.ExpiresAt.After(s.now()) {
			return "", gatehouse.Invalid("expiresAt", "expiresAt %s is not in the future", g.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	if g.Role == gatehouse.RoleOwner {
		return "", gatehouse.RuleViolation("O2", "an organisation has exactly one owner: use transfer-ownership (O4)")
	}
	if g.PreviousBecomesAlternate && g.Role != gatehouse.RoleSecurityAdmin {
		return "", gatehouse.Invalid("previousBecomesAlternate", "previousBecomesAlternate applies only to security_admin")
	}
	if g.RequestedBy != nil && g.Role != gatehouse.RoleSecurityAdmin {
		return "", gatehouse.Invalid("requestedBy", "requestedBy applies only to security_admin (S7)")
	}
	var tok string
	err := retryWrite(ctx, func() error {
		var err error
		switch g.Role {
		case gatehouse.RoleSecurityAdmin:
			tok, err = s.delegateSA(ctx, actor, g)
		case gatehouse.RoleAlternateSecurityAdmin:
			tok, err = s.delegateASA(ctx, actor, g)
		default:
			tok, err = s.grantRole(ctx, actor, g)
		}
		return err
	})
	return tok, err
}

// RevokeRole takes role away from user in org. The owner role is never
// revoked (O6); revoking security_admin or alternate_security_admin needs
// the permission to delegate it.
func (s *Service) RevokeRole(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, role string) (string, error) {
	if err := validOrg("org", org); err != nil {
		return "", err
	}
	if err := validUser("user", user); err != nil {
		return "", err
	}
	if !gatehouse.IsRole(role) {
		return "", gatehouse.Invalid("role", "%q is not a role; roles are %s", role, strings.Join(gatehouse.Roles(), ", "))
	}
	if role == gatehouse.RoleOwner {
		return "", gatehouse.RuleViolation("O6", "the owner loses the owner role only by a transfer of ownership")
	}
	var tok string
	err := retryWrite(ctx, func() error {
		var err error
		tok, err = s.revokeRole(ctx, actor, org, user, role)
		return err
	})
	return tok, err
}

// grantRole touches one ordinary role, with g.ExpiresAt or none (T5),
// pinned on the actor's standing. A user who is no member but still holds
// designations or exceptions (left when their last role expired, T5, which
// deletes nothing) rejoins as a revoked member would, with nothing of
// theirs: the write deletes what is left and pins the rest absent (T1, T4),
// so an old designation does not come back with the new role.
func (s *Service) grantRole(ctx context.Context, actor gatehouse.Subject, g RoleGrant) (string, error) {
	pins, err := s.requirePins(ctx, actor, g.Org, RolePermission(g.Role))
	if err != nil {
		return "", err
	}
	o := gatehouse.OrganisationRef(g.Org)
	details := map[string]string{"role": g.Role, "user": g.User.String()}
	if g.ExpiresAt != nil {
		details["expiresAt"] = g.ExpiresAt.UTC().Format(time.RFC3339)
	}
	var c writeSet
	c.pin(pins...)
	held, err := s.relationsOf(ctx, g.Org, g.User)
	if err != nil {
		return "", err
	}
	if _, member := roleOf(held); !member {
		exceptions, err := s.exceptionsOf(ctx, g.Org, g.User)
		if err != nil {
			return "", err
		}
		if len(held) > 0 || len(exceptions) > 0 {
			c.leave(o, g.User, held, exceptions)
			details["rule"] = "T5"
		}
	}
	rel := makeRel(o, g.Role, g.User)
	rel.ExpiresAt = g.ExpiresAt
	c.update(gatehouse.Touch, rel)
	return s.write(ctx, c, gatehouse.Audit{
		Actor: actor.String(), Action: "grant_role", Reason: g.Reason, Organisation: g.Org, Details: details,
	})
}

// revokeRole deletes one ordinary role, pinned on the actor's standing,
// whether or not it carries an expiry. Revoking a user's last role takes
// them off the team (T4) with everything else they hold there, in the
// same write (T1); revoking any other pins a role they keep, so that two
// concurrent revocations cannot both take "not the last" and leave a
// designation on a non-member.
func (s *Service) revokeRole(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, role string) (string, error) {
	pins, err := s.requirePins(ctx, actor, org, RolePermission(role))
	if err != nil {
		return "", err
	}
	audit := gatehouse.Audit{
		Actor: actor.String(), Action: "revoke_role", Organisation: org,
		Details: map[string]string{"role": role, "user": user.String()},
	}
	var c writeSet
	c.pin(pins...)
	c.update(gatehouse.Delete, makeRel(gatehouse.OrganisationRef(org), role, user))
	return s.writeSettled(ctx, c, org, audit)
}

// writeSettled applies c, a write that may take roles away in org, with
// what T4 and T1 add to it (settleMembership), then sweeps what the write
// could not pin of those who left.
func (s *Service) writeSettled(ctx context.Context, c writeSet, org string, audit gatehouse.Audit) (string, error) {
	leavers, err := s.settleMembership(ctx, &c, org)
	if err != nil {
		return "", err
	}
	tok, err := s.write(ctx, c, audit)
	if err != nil {
		return "", err
	}
	if t, err := s.sweepExceptions(ctx, org, leavers, audit); err != nil {
		return "", err
	} else if t != "" {
		tok = t
	}
	return tok, nil
}

// delegateSA makes g.User the SA of g.Org in one write (S1, S3, S7). The
// write deletes the current SA and pins it, so that of two concurrent
// delegations one applies and the other is decided again against the new
// SA. If g.User is the ASA, they stop being it (S1). With
// PreviousBecomesAlternate the outgoing SA becomes the ASA, replacing the
// current one, pinned likewise. Otherwise the write pins that g.User is
// not the ASA.
func (s *Service) delegateSA(ctx context.Context, actor gatehouse.Subject, g RoleGrant) (string, error) {
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
	return s.writeSettled(ctx, c, g.Org, audit)
}

// emergency holds the conditions of S7 and pins them: a reason is given,
// the request comes from a verified director who is not unavailable, and
// the SA and the ASA are each either absent or unavailable.
func (s *Service) emergency(ctx context.Context, c *writeSet, g RoleGrant, sa, asa []gatehouse.Subject) error {
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
func (s *Service) delegateASA(ctx context.Context, actor gatehouse.Subject, g RoleGrant) (string, error) {
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
	return s.writeSettled(ctx, c, g.Org, gatehouse.Audit{
		Actor: actor.String(), Action: "grant_role", Reason: g.Reason, Organisation: g.Org,
		Details: map[string]string{"role": gatehouse.RoleAlternateSecurityAdmin, "user": g.User.String()},
	})
}

// RemoveMember removes user from org with all their roles, designations
// and exceptions in one write (T1). It needs manage_members (S2), or only
// manage_team_members when user holds nothing but cis_processor and
// billing_manager (T2); removing the SA or ASA needs the permission to
// delegate that role. The owner is never removed (O6).
//
// The write deletes what was read and pins everything else (leave): for
// each role, designation and exception user did not hold, that they still
// do not. So a concurrent grant (or a transfer making user the owner)
// sends the write back to be decided again, and nothing of user's
// survives it.
func (s *Service) RemoveMember(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject) (string, error) {
	if err := validOrg("org", org); err != nil {
		return "", err
	}
	if err := validUser("user", user); err != nil {
		return "", err
	}
	o := gatehouse.OrganisationRef(org)
	audit := gatehouse.Audit{Actor: actor.String(), Action: "remove_member", Organisation: org, Details: map[string]string{"user": user.String()}}
	var tok string
	err := retryWrite(ctx, func() error {
		// The least any removal needs, asked first so that an outsider
		// learns nothing about who is on the team.
		if _, err := s.requirePins(ctx, actor, org, gatehouse.PermManageTeamMembers); err != nil {
			return err
		}
		held, err := s.relationsOf(ctx, org, user)
		if err != nil {
			return err
		}
		exceptions, err := s.exceptionsOf(ctx, org, user)
		if err != nil {
			return err
		}
		if len(held) == 0 && len(exceptions) == 0 {
			return final(gatehouse.Errorf(gatehouse.ENOTFOUND, "%s holds no role, designation or exception in %s", user, org))
		}
		var roles []string
		others := len(exceptions) > 0
		for _, r := range held {
			switch {
			case r.Relation == gatehouse.RoleOwner:
				return final(gatehouse.RuleViolation("O6", "%s owns %s: the owner is removed only after transferring ownership", user, org))
			case gatehouse.IsRole(r.Relation):
				roles = append(roles, r.Relation)
			default:
				others = true
			}
		}
		pins, err := s.requirePins(ctx, actor, org, RemovalPermissions(roles, others)...)
		if err != nil {
			return err
		}
		var c writeSet
		c.pin(pins...)
		c.leave(o, user, held, exceptions)
		if tok, err = s.write(ctx, c, audit); err != nil {
			return err
		}
		// Exceptions on further targets of a kind, or beyond one write's reach.
		if t, err := s.sweepExceptions(ctx, org, []gatehouse.Subject{user}, audit); err != nil {
			return err
		} else if t != "" {
			tok = t
		}
		return nil
	})
	return tok, err
}

// RemovalPermissions are the permissions on the organisation that
// RemoveMember needs, besides the manage_team_members every removal needs
// first, to remove a member who holds roles, and designations or
// exceptions when others is true: each role's RolePermission (T2, S3, S5),
// and manage_members for anything but a role (S2). They come from the most
// to the least widely held, so that a refusal names the first one missing.
// The owner is never removed (O6), whatever these say.
func RemovalPermissions(roles []string, others bool) []string {
	perms := []string{}
	need := func(p string) {
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	for _, r := range roles {
		need(RolePermission(r))
	}
	if others {
		need(gatehouse.PermManageMembers)
	}
	slices.SortFunc(perms, func(a, b string) int { return permOrder(a) - permOrder(b) })
	return perms
}

// permOrder orders the permissions a removal needs from the most to the
// least widely held, so that a refusal names the first one missing.
func permOrder(p string) int {
	return slices.Index([]string{gatehouse.PermManageTeamMembers, gatehouse.PermManageMembers, gatehouse.PermDelegateAlternateSecurityAdmin, gatehouse.PermDelegateSecurityAdmin}, p)
}
