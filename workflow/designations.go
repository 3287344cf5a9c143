package workflow

import (
	"context"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// Designations decides who holds which designation: the organisation
// names contacts and directors, provider staff alone verify directors and
// mark contacts unavailable (C7, C9); only members are designated (T4);
// the owner is never no_financial_access (R7).
type Designations struct {
	*kit
	membership *membership
}

// DesignationPermission is the permission on the organisation needed to
// give or take designation: the organisation names its contacts and
// directors; only provider staff verify a director or mark a contact
// unavailable (C7, C9).
func DesignationPermission(designation string) string {
	if designation == gatehouse.DesignationVerifiedDirector || designation == gatehouse.DesignationUnavailableContact {
		return gatehouse.PermProviderStaff
	}
	return gatehouse.PermManageDesignations
}

// SetDesignation gives user the designation in org, with reason recorded
// in the audit trail; UnsetDesignation takes it away. The organisation
// names contacts and directors (manage_designations); verified_director
// and unavailable_contact only provider staff (C7, C9), and giving either
// needs a reason (400 naming reason). Only a team member is designated
// (T4: 422 otherwise); taking a designation away needs no membership. The owner cannot be designated
// no_financial_access (422 naming R7), pinned so a concurrent transfer of
// ownership to user sends it back to be decided again.
func (s *Designations) SetDesignation(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, designation, reason string) (string, error) {
	return s.writeDesignation(ctx, actor, org, user, designation, strings.TrimSpace(reason), gatehouse.Touch)
}

// UnsetDesignation takes the designation in org away from user, with an
// optional reason; see SetDesignation.
func (s *Designations) UnsetDesignation(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, designation, reason string) (string, error) {
	return s.writeDesignation(ctx, actor, org, user, designation, strings.TrimSpace(reason), gatehouse.Delete)
}

func (s *Designations) writeDesignation(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, designation, reason string, op gatehouse.Operation) (string, error) {
	if err := validOrg("org", org); err != nil {
		return "", err
	}
	if err := validUser("user", user); err != nil {
		return "", err
	}
	if !gatehouse.IsDesignation(designation) {
		return "", gatehouse.Invalid("designation", "%q is not a designation; designations are %s", designation, strings.Join(gatehouse.Designations(), ", "))
	}
	action := "set_designation"
	if op == gatehouse.Delete {
		action = "unset_designation"
	}
	var tok string
	err := retryWrite(ctx, func() error {
		pins, err := s.requirePins(ctx, actor, org, DesignationPermission(designation))
		if err != nil {
			return err
		}
		// Asked only of those who may give it, so that others learn the
		// permission they lack first (T3).
		if op == gatehouse.Touch && DesignationPermission(designation) == gatehouse.PermProviderStaff && reason == "" {
			return final(gatehouse.Invalid("reason", "a reason is required to give %s (provider staff record why)", designation))
		}
		if op != gatehouse.Delete {
			// T4: only a member holds a designation, pinned so that a
			// concurrent removal either precedes this write (refused
			// below on the retry) or takes the designation with it.
			member, ok, err := s.membership.memberPin(ctx, org, user)
			if err != nil {
				return err
			}
			if !ok {
				v := gatehouse.RuleViolation("T4", "%s is not a member of %s: designations are held only by team members; grant a role first", user, org)
				v.Field = "user"
				return final(v)
			}
			pins = append(pins, member)
		}
		if op == gatehouse.Touch && designation == gatehouse.DesignationNoFinancialAccess {
			owner := makeRel(gatehouse.OrganisationRef(org), gatehouse.RoleOwner, user)
			if ok, err := s.exists(ctx, owner); err != nil || ok {
				if err == nil {
					err = final(gatehouse.RuleViolation("R7", "%s owns %s: the owner is the billing contact and cannot be designated %s", user, org, designation))
				}
				return err
			}
			pins = append(pins, pinAbsent(exactFilter(owner)))
		}
		tok, err = s.store.Write(ctx, gatehouse.Write{
			Updates:       []gatehouse.Update{{Op: op, Relationship: makeRel(gatehouse.OrganisationRef(org), designation, user)}},
			Preconditions: pins,
			Audit: gatehouse.Audit{
				Actor: actor.String(), Action: action, Reason: reason, Organisation: org,
				Details: map[string]string{"designation": designation, "user": user.String()},
			},
		})
		return err
	})
	return tok, err
}

// exists reports whether r exists, at the head revision.
func (s *Designations) exists(ctx context.Context, r gatehouse.Relationship) (bool, error) {
	rels, _, err := s.store.ReadRelationships(ctx, exactFilter(r), latest)
	return len(rels) > 0, err
}
