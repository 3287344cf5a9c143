package gatehouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// The roles of domain.md that the code below treats specially.
const (
	roleOwner         = "owner"
	roleSA            = "security_admin"
	roleASA           = "alternate_security_admin"
	roleAdministrator = "administrator"
)

// The designations only provider staff give and take (C7, C9).
const (
	designationVerifiedDirector = "verified_director"
	designationUnavailable      = "unavailable_contact"
)

// Roles are the roles a user can hold in an organisation, in domain.md's
// order. Holding any of them makes the user a member.
func Roles() []string {
	return []string{
		roleOwner, roleSA, roleASA, roleAdministrator,
		"it_manager", "it_admin", "finance_admin", "billing_manager", "cis_processor",
	}
}

// Designations are the designations a user can hold in an organisation, in
// domain.md's order, in addition to roles.
func Designations() []string {
	return []string{
		"main_contact", "technical_contact", "finance_contact", "alternate_contact",
		"director", designationVerifiedDirector, designationUnavailable,
	}
}

func isRole(r string) bool        { return slices.Contains(Roles(), r) }
func isDesignation(d string) bool { return slices.Contains(Designations(), d) }

// grantPermission is the permission on the organisation needed to grant or
// revoke role (S2, S3, S5, T2, T3). The owner role has none: it moves only
// by transfer (O4, O6).
func grantPermission(role string) string {
	switch role {
	case roleSA:
		return "delegate_security_admin"
	case roleASA:
		return "delegate_alternate_security_admin"
	case "cis_processor", "billing_manager":
		return "manage_team_members"
	}
	return "manage_members"
}

// designationPermission is the permission needed to give or take
// designation: the organisation names its contacts and directors; only
// provider staff verify a director or mark a contact unavailable (C7, C9).
func designationPermission(designation string) string {
	if designation == designationVerifiedDirector || designation == designationUnavailable {
		return "provider_staff"
	}
	return "manage_designations"
}

// grantors are, for each organisation permission the admin endpoints
// require, the relations of the organisation that confer it directly: the
// schema's definitions unfolded (schema/schema.zed). They say which of the
// actor's relationships a write pins; TestGrantorsMatchTheSchema
// proves the table against the schema.
func grantors(permission string) []string {
	sec := []string{roleOwner, roleSA, roleASA}
	switch permission {
	case "delete", "transfer_ownership":
		return []string{roleOwner}
	case "delegate_security_admin":
		return []string{roleOwner, roleSA}
	case "delegate_alternate_security_admin", "manage_members", "manage_designations":
		return sec
	case "manage_team_members", "manage_contractors":
		return append(sec, roleAdministrator)
	case "manage_billing":
		return append(sec, "finance_admin")
	case "member":
		return Roles()
	}
	return nil
}

// relationsOf reads every relationship of organisation org whose subject
// is u: u's roles and designations there, at the head revision.
func (s *Service) relationsOf(ctx context.Context, org string, u Subject) ([]Relationship, error) {
	rels, _, err := s.store.ReadRelationships(ctx, Filter{ResourceType: typeOrganisation, ResourceID: org, SubjectType: u.Type, SubjectID: u.ID}, headRead)
	return rels, err
}

// holders reads who holds relation on organisation org, at the head revision.
func (s *Service) holders(ctx context.Context, org, relation string) ([]Subject, error) {
	rels, _, err := s.store.ReadRelationships(ctx, Filter{ResourceType: typeOrganisation, ResourceID: org, Relation: relation}, headRead)
	out := make([]Subject, len(rels))
	for i, r := range rels {
		out[i] = r.Subject
	}
	return out, err
}

// authorise checks, fully consistent, that actor holds every permission on
// organisation org (403 naming the first missing; 404 when org does not
// exist), and returns preconditions that pin how: for each permission, one
// relationship of the actor that confers it. A write carrying them applies
// only while the actor still holds its standing, so a concurrent
// revocation of the actor sends it back to be decided again rather than
// letting it slip in after.
func (s *Service) authorise(ctx context.Context, actor Subject, org string, permissions ...string) ([]Precondition, error) {
	o := OrganisationRef(org)
	for _, p := range permissions {
		if err := s.Require(ctx, actor, p, o); err != nil {
			if ErrorCode(err) == EFORBIDDEN {
				if ok, xerr := s.orgExists(ctx, org); xerr == nil && !ok {
					return nil, notFound(org)
				}
			}
			return nil, err
		}
	}
	held, err := s.relationsOf(ctx, org, actor)
	if err != nil {
		return nil, err
	}
	var pins []Precondition
	for _, p := range permissions {
		if p == "provider_staff" {
			pins = append(pins,
				pinPresent(makeRel(providerRef, "staff", actor)),
				pinPresent(makeRel(o, "platform", Subject{Object: providerRef})))
			continue
		}
		i := slices.IndexFunc(held, func(r Relationship) bool { return slices.Contains(grantors(p), r.Relation) })
		if i < 0 {
			// The actor lost the standing between the check and the read: a
			// concurrent change, so decide again (the check will refuse).
			// Writing without the pin could apply on a state the check
			// never saw, such as a second owner.
			return nil, Errorf(ECONFLICT, "%s's standing in %s changed while this request was decided", actor, org)
		}
		pins = append(pins, pinPresent(held[i]))
	}
	return pins, nil
}

// RoleGrant asks for User to hold Role in organisation Org.
type RoleGrant struct {
	Org  string
	User Subject
	Role string
	// PreviousBecomesAlternate makes the outgoing SA the ASA in the same
	// write, replacing any ASA (S3); only with Role security_admin.
	PreviousBecomesAlternate bool
	// Reason is recorded in the audit trail (X2).
	Reason string
	// RequestedBy is the verified director at whose request provider staff
	// delegate a new SA when neither SA nor ASA is available (S7).
	RequestedBy *Subject
}

// GrantRole gives g.User the role g.Role in g.Org, for actor. Owner is
// refused (transfer it, O4). security_admin and alternate_security_admin
// replace their current holder in one write whose preconditions pin the
// holders read, so there is never more than one of each, and never the
// same user (S1).
func (s *Service) GrantRole(ctx context.Context, actor Subject, g RoleGrant) (string, error) {
	if err := validID("org", g.Org); err != nil {
		return "", err
	}
	if err := validUserRef("user", g.User); err != nil {
		return "", err
	}
	if !isRole(g.Role) {
		return "", Invalid("role", "%q is not a role; roles are %s", g.Role, strings.Join(Roles(), ", "))
	}
	if g.Role == roleOwner {
		return "", RuleViolation("O2", "an organisation has exactly one owner: use transfer-ownership (O4)")
	}
	if g.PreviousBecomesAlternate && g.Role != roleSA {
		return "", Invalid("previousBecomesAlternate", "previousBecomesAlternate applies only to security_admin")
	}
	if g.RequestedBy != nil && g.Role != roleSA {
		return "", Invalid("requestedBy", "requestedBy applies only to security_admin (S7)")
	}
	var tok string
	err := retryWrite(ctx, func() error {
		var err error
		switch g.Role {
		case roleSA:
			tok, err = s.delegateSA(ctx, actor, g)
		case roleASA:
			tok, err = s.delegateASA(ctx, actor, g)
		default:
			tok, err = s.writeRole(ctx, actor, g.Org, g.User, g.Role, Touch, g.Reason)
		}
		return err
	})
	return tok, err
}

// RevokeRole takes role away from user in org. The owner role is never
// revoked (O6); revoking security_admin or alternate_security_admin needs
// the permission to delegate it.
func (s *Service) RevokeRole(ctx context.Context, actor Subject, org string, user Subject, role string) (string, error) {
	if err := validID("org", org); err != nil {
		return "", err
	}
	if err := validUserRef("user", user); err != nil {
		return "", err
	}
	if !isRole(role) {
		return "", Invalid("role", "%q is not a role; roles are %s", role, strings.Join(Roles(), ", "))
	}
	if role == roleOwner {
		return "", RuleViolation("O6", "the owner loses the owner role only by a transfer of ownership")
	}
	var tok string
	err := retryWrite(ctx, func() error {
		var err error
		tok, err = s.writeRole(ctx, actor, org, user, role, Delete, "")
		return err
	})
	return tok, err
}

// writeRole touches or deletes one ordinary role: no invariant spans it,
// so its one precondition is the actor's standing.
func (s *Service) writeRole(ctx context.Context, actor Subject, org string, user Subject, role string, op Operation, reason string) (string, error) {
	pins, err := s.authorise(ctx, actor, org, grantPermission(role))
	if err != nil {
		return "", err
	}
	action := "grant_role"
	if op == Delete {
		action = "revoke_role"
	}
	return s.store.Write(ctx, Write{
		Updates:       []Update{{Op: op, Relationship: makeRel(OrganisationRef(org), role, user)}},
		Preconditions: pins,
		Audit: Audit{
			Actor: actor.String(), Action: action, Reason: reason, Organisation: org,
			Details: map[string]string{"role": role, "user": user.String()},
		},
	})
}

// writeSet collects the updates and preconditions of one write, each once.
type writeSet struct {
	updates []Update
	pins    []Precondition
	seen    map[string]bool
}

func (c *writeSet) update(op Operation, r Relationship) {
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	k := "u" + r.String()
	if !c.seen[k] {
		c.seen[k] = true
		c.updates = append(c.updates, Update{Op: op, Relationship: r})
	}
}

func (c *writeSet) pin(ps ...Precondition) {
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	for _, p := range ps {
		k := fmt.Sprintf("p%+v", p)
		if !c.seen[k] {
			c.seen[k] = true
			c.pins = append(c.pins, p)
		}
	}
}

// pinHolders pins the holders of relation read: each still holds it, or,
// when none did, still nobody does. With at most one holder (S1) this pins
// the holder exactly.
func (c *writeSet) pinHolders(org Object, relation string, holders []Subject) {
	if len(holders) == 0 {
		c.pin(pinAbsent(Filter{ResourceType: org.Type, ResourceID: org.ID, Relation: relation}))
		return
	}
	for _, h := range holders {
		c.pin(pinPresent(makeRel(org, relation, h)))
	}
}

// delegateSA makes g.User the SA of g.Org in one write (S1, S3, S7). The
// write deletes the current SA and pins it, so that of two concurrent
// delegations one applies and the other is decided again against the new
// SA. If g.User is the ASA, they stop being it (S1). With
// PreviousBecomesAlternate the outgoing SA becomes the ASA, replacing the
// current one, pinned likewise. Otherwise the write pins that g.User is
// not the ASA.
func (s *Service) delegateSA(ctx context.Context, actor Subject, g RoleGrant) (string, error) {
	o := OrganisationRef(g.Org)
	var c writeSet
	audit := Audit{
		Actor: actor.String(), Action: "grant_role", Reason: g.Reason, Organisation: g.Org,
		Details: map[string]string{"role": roleSA, "user": g.User.String()},
	}
	pins, err := s.authorise(ctx, actor, g.Org, "delegate_security_admin")
	staff := false
	switch {
	case err == nil:
		c.pin(pins...)
	case ErrorCode(err) == EFORBIDDEN && g.RequestedBy != nil:
		// S7: provider staff step in when the organisation cannot.
		if pins, err = s.authorise(ctx, actor, g.Org, "provider_staff"); err != nil {
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
	sa, err := s.holders(ctx, g.Org, roleSA)
	if err != nil {
		return "", err
	}
	asa, err := s.holders(ctx, g.Org, roleASA)
	if err != nil {
		return "", err
	}
	if staff {
		if err := s.emergency(ctx, &c, g, sa, asa); err != nil {
			return "", err
		}
		audit.Details["rule"] = "S7"
	}
	if slices.Equal(sa, []Subject{g.User}) {
		return "", nil // g.User is the SA already: nothing to change.
	}
	c.pinHolders(o, roleSA, sa)
	for _, x := range sa {
		c.update(Delete, makeRel(o, roleSA, x))
	}
	c.update(Touch, makeRel(o, roleSA, g.User))
	if g.PreviousBecomesAlternate && len(sa) > 0 {
		c.pinHolders(o, roleASA, asa)
		for _, y := range asa {
			if y != sa[0] {
				c.update(Delete, makeRel(o, roleASA, y))
			}
		}
		c.update(Touch, makeRel(o, roleASA, sa[0]))
		audit.Details["previousBecomesAlternate"] = sa[0].String()
	} else if slices.Contains(asa, g.User) {
		c.pin(pinPresent(makeRel(o, roleASA, g.User)))
		c.update(Delete, makeRel(o, roleASA, g.User))
	} else {
		c.pin(pinAbsent(exactFilter(makeRel(o, roleASA, g.User))))
	}
	return s.store.Write(ctx, Write{Updates: c.updates, Preconditions: c.pins, Audit: audit})
}

// emergency holds the conditions of S7 and pins them: a reason is given,
// the request comes from a verified director who is not unavailable, and
// the SA and the ASA are each either absent or unavailable.
func (s *Service) emergency(ctx context.Context, c *writeSet, g RoleGrant, sa, asa []Subject) error {
	o := OrganisationRef(g.Org)
	if strings.TrimSpace(g.Reason) == "" {
		return final(Invalid("reason", "provider staff delegating a security admin must give the reason (S7)"))
	}
	unavailable, err := s.holders(ctx, g.Org, designationUnavailable)
	if err != nil {
		return err
	}
	dirs, err := s.holders(ctx, g.Org, designationVerifiedDirector)
	if err != nil {
		return err
	}
	rb := *g.RequestedBy
	if !slices.Contains(dirs, rb) || slices.Contains(unavailable, rb) {
		return final(RuleViolation("S7", "%s is not an available verified director of %s", rb, g.Org))
	}
	c.pin(pinPresent(makeRel(o, designationVerifiedDirector, rb)), pinAbsent(exactFilter(makeRel(o, designationUnavailable, rb))))
	for _, slot := range []struct {
		role    string
		holders []Subject
	}{{roleSA, sa}, {roleASA, asa}} {
		c.pinHolders(o, slot.role, slot.holders)
		for _, h := range slot.holders {
			if !slices.Contains(unavailable, h) {
				return final(RuleViolation("S7", "the %s %s is available: provider staff delegate only when SA and ASA are both unavailable", slot.role, h))
			}
			c.pin(pinPresent(makeRel(o, designationUnavailable, h)))
		}
	}
	return nil
}

// delegateASA makes g.User the ASA of g.Org in one write (S1, S5): the
// current ASA goes, pinned as read, and the write pins that g.User is not
// the SA (the SA cannot also be the ASA: 422 naming S1).
func (s *Service) delegateASA(ctx context.Context, actor Subject, g RoleGrant) (string, error) {
	o := OrganisationRef(g.Org)
	pins, err := s.authorise(ctx, actor, g.Org, "delegate_alternate_security_admin")
	if err != nil {
		return "", err
	}
	var c writeSet
	c.pin(pins...)
	sa, err := s.holders(ctx, g.Org, roleSA)
	if err != nil {
		return "", err
	}
	if slices.Contains(sa, g.User) {
		return "", final(RuleViolation("S1", "%s is the security admin and cannot also be the alternate", g.User))
	}
	asa, err := s.holders(ctx, g.Org, roleASA)
	if err != nil {
		return "", err
	}
	if slices.Equal(asa, []Subject{g.User}) {
		return "", nil
	}
	c.pin(pinAbsent(exactFilter(makeRel(o, roleSA, g.User))))
	c.pinHolders(o, roleASA, asa)
	for _, y := range asa {
		c.update(Delete, makeRel(o, roleASA, y))
	}
	c.update(Touch, makeRel(o, roleASA, g.User))
	return s.store.Write(ctx, Write{Updates: c.updates, Preconditions: c.pins, Audit: Audit{
		Actor: actor.String(), Action: "grant_role", Reason: g.Reason, Organisation: g.Org,
		Details: map[string]string{"role": roleASA, "user": g.User.String()},
	}})
}

// RemoveMember removes user from org with all their roles, designations
// and exceptions in one write (T1). It needs manage_members (S2), or only
// manage_team_members when user holds nothing but cis_processor and
// billing_manager (T2); removing the SA or ASA needs the permission to
// delegate that role. The owner is never removed (O6).
//
// The write deletes what was read and pins everything else: for each role
// and designation user did not hold, that they still do not. So a
// concurrent grant (or a transfer making user the owner) sends the write
// back to be decided again, and nothing of user's survives it. Exceptions
// are pinned by deleting them in the same write and sweeping once more
// after it.
func (s *Service) RemoveMember(ctx context.Context, actor Subject, org string, user Subject) (string, error) {
	if err := validID("org", org); err != nil {
		return "", err
	}
	if err := validUserRef("user", user); err != nil {
		return "", err
	}
	o := OrganisationRef(org)
	audit := Audit{Actor: actor.String(), Action: "remove_member", Organisation: org, Details: map[string]string{"user": user.String()}}
	exceptionFilters := []Filter{
		{ResourceType: typeChangeKind, IDPrefix: org + "/", SubjectType: typeUser, SubjectID: user.ID},
		{ResourceType: typeChangeTarget, IDPrefix: org + "/", SubjectType: typeUser, SubjectID: user.ID},
	}
	var tok string
	err := retryWrite(ctx, func() error {
		// The least any removal needs, asked first so that an outsider
		// learns nothing about who is on the team.
		if _, err := s.authorise(ctx, actor, org, "manage_team_members"); err != nil {
			return err
		}
		held, err := s.relationsOf(ctx, org, user)
		if err != nil {
			return err
		}
		var exceptions []Relationship
		for _, f := range exceptionFilters {
			rels, _, err := s.store.ReadRelationships(ctx, f, headRead)
			if err != nil {
				return err
			}
			exceptions = append(exceptions, rels...)
		}
		if len(held) == 0 && len(exceptions) == 0 {
			return final(Errorf(ENOTFOUND, "%s holds no role, designation or exception in %s", user, org))
		}
		perms := []string{}
		need := func(p string) {
			if !slices.Contains(perms, p) {
				perms = append(perms, p)
			}
		}
		for _, r := range held {
			switch {
			case r.Relation == roleOwner:
				return final(RuleViolation("O6", "%s owns %s: the owner is removed only after transferring ownership", user, org))
			case isRole(r.Relation):
				need(grantPermission(r.Relation))
			default:
				need("manage_members")
			}
		}
		if len(exceptions) > 0 {
			need("manage_members")
		}
		slices.SortFunc(perms, func(a, b string) int { return permOrder(a) - permOrder(b) })
		pins, err := s.authorise(ctx, actor, org, perms...)
		if err != nil {
			return err
		}
		var c writeSet
		c.pin(pins...)
		for _, rel := range append(Roles(), Designations()...) {
			r := makeRel(o, rel, user)
			if !slices.ContainsFunc(held, func(h Relationship) bool { return h.Relation == rel }) {
				c.pin(pinAbsent(exactFilter(r)))
			}
		}
		for _, r := range held {
			c.update(Delete, r)
		}
		for _, r := range exceptions {
			if len(c.updates) < maxUpdates {
				c.update(Delete, r)
			}
		}
		if tok, err = s.store.Write(ctx, Write{Updates: c.updates, Preconditions: c.pins, Audit: audit}); err != nil {
			return err
		}
		// Exceptions granted while this ran, or beyond one write's reach.
		if n, t, err := s.store.DeleteMatching(ctx, exceptionFilters, audit); err != nil {
			return err
		} else if n > 0 {
			tok = t
		}
		return nil
	})
	return tok, err
}

// maxUpdates is SpiceDB's limit on the updates of one write.
const maxUpdates = 1000

// permOrder orders the permissions a removal needs from the most to the
// least widely held, so that a refusal names the first one missing.
func permOrder(p string) int {
	return slices.Index([]string{"manage_team_members", "manage_members", "delegate_alternate_security_admin", "delegate_security_admin"}, p)
}

// SetDesignation gives user the designation in org; UnsetDesignation
// takes it away. The organisation names contacts and directors
// (manage_designations); verified_director and unavailable_contact only
// provider staff (C7, C9).
func (s *Service) SetDesignation(ctx context.Context, actor Subject, org string, user Subject, designation string) (string, error) {
	return s.writeDesignation(ctx, actor, org, user, designation, Touch)
}

// UnsetDesignation takes the designation in org away from user; see SetDesignation.
func (s *Service) UnsetDesignation(ctx context.Context, actor Subject, org string, user Subject, designation string) (string, error) {
	return s.writeDesignation(ctx, actor, org, user, designation, Delete)
}

func (s *Service) writeDesignation(ctx context.Context, actor Subject, org string, user Subject, designation string, op Operation) (string, error) {
	if err := validID("org", org); err != nil {
		return "", err
	}
	if err := validUserRef("user", user); err != nil {
		return "", err
	}
	if !isDesignation(designation) {
		return "", Invalid("designation", "%q is not a designation; designations are %s", designation, strings.Join(Designations(), ", "))
	}
	action := "set_designation"
	if op == Delete {
		action = "unset_designation"
	}
	var tok string
	err := retryWrite(ctx, func() error {
		pins, err := s.authorise(ctx, actor, org, designationPermission(designation))
		if err != nil {
			return err
		}
		tok, err = s.store.Write(ctx, Write{
			Updates:       []Update{{Op: op, Relationship: makeRel(OrganisationRef(org), designation, user)}},
			Preconditions: pins,
			Audit: Audit{
				Actor: actor.String(), Action: action, Organisation: org,
				Details: map[string]string{"designation": designation, "user": user.String()},
			},
		})
		return err
	})
	return tok, err
}
