package workflow

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Roles decides who holds which role: granting and revoking roles (S2,
// T2, T3), with an expiry on every role but owner, SA and ASA (T5, O2,
// S1); the owner role never moves but by a transfer (O6); and removing a
// member with everything they hold (T1). Delegating the SA and the ASA
// it hands to security (S1, S3, S5, S7); who stays a member to membership
// (T1, T4).
type Roles struct {
	*kit
	membership *membership
	security   *security
}

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
func (s *Roles) GrantRole(ctx context.Context, actor gatehouse.Subject, g RoleGrant) (string, error) {
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
			tok, err = s.security.delegateSA(ctx, actor, g)
		case gatehouse.RoleAlternateSecurityAdmin:
			tok, err = s.security.delegateASA(ctx, actor, g)
		default:
			tok, err = s.grantRole(ctx, actor, g)
		}
		return err
	})
	return tok, err
}

// RevokeRole takes role away from user in org, with an optional reason
// for the audit trail (X2). The owner role is never revoked (O6); revoking
// security_admin or alternate_security_admin needs the permission to
// delegate it.
func (s *Roles) RevokeRole(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, role, reason string) (string, error) {
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
		tok, err = s.revokeRole(ctx, actor, org, user, role, strings.TrimSpace(reason))
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
func (s *Roles) grantRole(ctx context.Context, actor gatehouse.Subject, g RoleGrant) (string, error) {
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
		exceptions, err := s.membership.exceptionsOf(ctx, g.Org, g.User)
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
func (s *Roles) revokeRole(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, role, reason string) (string, error) {
	pins, err := s.requirePins(ctx, actor, org, RolePermission(role))
	if err != nil {
		return "", err
	}
	audit := gatehouse.Audit{
		Actor: actor.String(), Action: "revoke_role", Reason: reason, Organisation: org,
		Details: map[string]string{"role": role, "user": user.String()},
	}
	var c writeSet
	c.pin(pins...)
	c.update(gatehouse.Delete, makeRel(gatehouse.OrganisationRef(org), role, user))
	return s.membership.writeSettled(ctx, c, org, audit)
}

// RemoveMember removes user from org with all their roles, designations
// and exceptions in one write (T1), with an optional reason for the audit
// trail (X2). It needs manage_members (S2), or only
// manage_team_members when user holds nothing but cis_processor and
// billing_manager (T2); removing the SA or ASA needs the permission to
// delegate that role. The owner is never removed (O6).
//
// The write deletes what was read and pins everything else (leave): for
// each role, designation and exception user did not hold, that they still
// do not. So a concurrent grant (or a transfer making user the owner)
// sends the write back to be decided again, and nothing of user's
// survives it.
func (s *Roles) RemoveMember(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, reason string) (string, error) {
	if err := validOrg("org", org); err != nil {
		return "", err
	}
	if err := validUser("user", user); err != nil {
		return "", err
	}
	o := gatehouse.OrganisationRef(org)
	audit := gatehouse.Audit{Actor: actor.String(), Action: "remove_member", Reason: strings.TrimSpace(reason), Organisation: org, Details: map[string]string{"user": user.String()}}
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
		exceptions, err := s.membership.exceptionsOf(ctx, org, user)
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
		if t, err := s.membership.sweepExceptions(ctx, org, []gatehouse.Subject{user}, audit); err != nil {
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
