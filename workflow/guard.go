package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
)

// kit is what every workflow writes with: the Store and the clock, and
// the write guard's methods in this file (permission checks, pins, write
// sets, retries). Service and each of its concepts hold the same kit.
type kit struct {
	store gatehouse.Store
	now   func() time.Time
	// trail is the audit trail Platform.PlatformTrail reads, when set.
	trail gatehouse.AuditTrail
	// scratch weighs a change request's transition before its one write
	// (WithScratch); nil makes its writes apart.
	scratch dryrun.Engine
	// staged says the Store is a stage of one transition
	// (changerequest_onewrite.go), whose answer is not used.
	staged bool
}

// latest is the consistency of every read a decision rests on: the head
// revision, so that a write's preconditions pin the state the write meets,
// and a contact marked unavailable a moment ago is never asked (C7).
var latest = gatehouse.Consistency{FullyConsistent: true}

// allowed reports whether sub holds permission on res, at the head revision.
func (s *kit) allowed(ctx context.Context, res gatehouse.Object, permission string, sub gatehouse.Subject) (bool, error) {
	r, err := s.store.Check(ctx, gatehouse.CheckRequest{Resource: res, Permission: permission, Subject: sub, Consistency: latest})
	return r.Allowed, err
}

// require checks that actor holds permission on resource, at the head
// revision, and otherwise returns EFORBIDDEN naming the permission.
func (s *kit) require(ctx context.Context, actor gatehouse.Subject, permission string, resource gatehouse.Object) error {
	ok, err := s.allowed(ctx, resource, permission, actor)
	if err != nil {
		return err
	}
	if !ok {
		return gatehouse.Forbidden(actor, permission, resource)
	}
	return nil
}

// requireOf checks that actor holds permission on organisation org, as
// require does, but answers 404 when org does not exist.
func (s *kit) requireOf(ctx context.Context, actor gatehouse.Subject, org, permission string) error {
	err := s.require(ctx, actor, permission, gatehouse.OrganisationRef(org))
	if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
		if ok, xerr := s.orgExists(ctx, org); xerr == nil && !ok {
			return notFound(org)
		}
	}
	return err
}

// requirePins checks, at the head revision, that actor holds every
// permission on organisation org (403 naming the first missing; 404 when
// org does not exist), and returns preconditions that pin how: for each
// permission, one relationship of the actor that confers it. A write
// carrying them applies only while the actor still holds its standing, so
// a concurrent revocation of the actor sends it back to be decided again
// rather than letting it slip in after.
func (s *kit) requirePins(ctx context.Context, actor gatehouse.Subject, org string, permissions ...string) ([]gatehouse.Precondition, error) {
	o := gatehouse.OrganisationRef(org)
	for _, p := range permissions {
		if err := s.require(ctx, actor, p, o); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
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
	var pins []gatehouse.Precondition
	for _, p := range permissions {
		if p == gatehouse.PermProviderStaff {
			pins = append(pins,
				pinPresent(makeRel(gatehouse.Provider, gatehouse.RelStaff, actor)),
				pinPresent(makeRel(o, gatehouse.RelPlatform, gatehouse.Subject{Object: gatehouse.Provider})))
			continue
		}
		i := slices.IndexFunc(held, func(r gatehouse.Relationship) bool { return slices.Contains(grantors(p), r.Relation) })
		if i < 0 {
			// The actor lost the standing between the check and the read: a
			// concurrent change, so decide again (the check will refuse).
			// Writing without the pin could apply on a state the check
			// never saw, such as a second owner.
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "%s's standing in %s changed while this request was decided", actor, org)
		}
		pins = append(pins, pinPresent(held[i]))
	}
	return pins, nil
}

// grantors are, for each organisation permission the workflows require
// with requirePins, the relations of the organisation that confer it
// directly: the schema's definitions unfolded (schema/schema.zed). They
// say which of the actor's relationships a write pins;
// TestGrantorsMatchTheSchema proves the table against the schema.
func grantors(permission string) []string {
	sec := []string{gatehouse.RoleOwner, gatehouse.RoleSecurityAdmin, gatehouse.RoleAlternateSecurityAdmin}
	switch permission {
	case gatehouse.PermDelete, gatehouse.PermTransferOwnership:
		return []string{gatehouse.RoleOwner}
	case gatehouse.PermDelegateSecurityAdmin:
		return []string{gatehouse.RoleOwner, gatehouse.RoleSecurityAdmin}
	case gatehouse.PermDelegateAlternateSecurityAdmin, gatehouse.PermManageMembers, gatehouse.PermManageDesignations:
		return sec
	case gatehouse.PermManageTeamMembers, gatehouse.PermManageContractors, gatehouse.PermEditDetails:
		return append(sec, gatehouse.RoleAdministrator)
	case gatehouse.PermManageBilling:
		return append(sec, gatehouse.RoleFinanceAdmin)
	case gatehouse.PermMember:
		return gatehouse.Roles()
	}
	return nil
}

// orgExists reports whether organisation id exists: it has an owner (O2).
func (s *kit) orgExists(ctx context.Context, id string) (bool, error) {
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: id, Relation: gatehouse.RoleOwner}, latest)
	return len(rels) > 0, err
}

// notFound is the answer for an organisation that does not exist.
func notFound(id string) error {
	return gatehouse.Errorf(gatehouse.ENOTFOUND, "organisation %q does not exist", id)
}

// relationsOf reads every relationship of organisation org whose subject
// is u: u's roles and designations there, at the head revision.
func (s *kit) relationsOf(ctx context.Context, org string, u gatehouse.Subject) ([]gatehouse.Relationship, error) {
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: org, SubjectType: u.Type, SubjectID: u.ID}, latest)
	return rels, err
}

// holders reads who holds relation on organisation org, at the head revision.
func (s *kit) holders(ctx context.Context, org, relation string) ([]gatehouse.Subject, error) {
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: org, Relation: relation}, latest)
	return subjectsOf(rels), err
}

// subjectsOf returns the subjects of rels, in order.
func subjectsOf(rels []gatehouse.Relationship) []gatehouse.Subject {
	out := make([]gatehouse.Subject, len(rels))
	for i, r := range rels {
		out[i] = r.Subject
	}
	return out
}

// mustBeUnused answers 409 naming rule when obj has any relationship. The
// write's precondition is what holds the rule; this only tells a lost race
// from an id in use, so that the latter is not retried.
func (s *kit) mustBeUnused(ctx context.Context, obj gatehouse.Object, rule string) error {
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: obj.Type, ResourceID: obj.ID}, latest)
	if err != nil {
		return err
	}
	if len(rels) > 0 {
		msg := obj.String() + " exists already"
		if rule != "" {
			msg = rule + ": " + msg + "; a contractor belongs to exactly one organisation"
		}
		return final(&gatehouse.Error{Code: gatehouse.ECONFLICT, Rule: rule, Field: "id", Message: msg})
	}
	return nil
}

// makeRel is resource#relation@subject, for brevity.
func makeRel(res gatehouse.Object, relation string, sub gatehouse.Subject) gatehouse.Relationship {
	return gatehouse.Relationship{Resource: res, Relation: relation, Subject: sub}
}

// labelOf returns the label relationship holding data for obj.
func labelOf(obj gatehouse.Object, data map[string]string) (gatehouse.Relationship, error) {
	l, err := gatehouse.EncodeLabel(data)
	if err != nil {
		return gatehouse.Relationship{}, err
	}
	return makeRel(obj, gatehouse.LabelRelation, gatehouse.Subject{Object: l}), nil
}

// exactFilter is the filter that matches r and nothing else.
func exactFilter(r gatehouse.Relationship) gatehouse.Filter {
	return gatehouse.Filter{
		ResourceType: r.Resource.Type, ResourceID: r.Resource.ID, Relation: r.Relation,
		SubjectType: r.Subject.Type, SubjectID: r.Subject.ID, SubjectRelation: r.Subject.Relation,
	}
}

// pinPresent is the precondition that r exists when the write commits.
func pinPresent(r gatehouse.Relationship) gatehouse.Precondition {
	return gatehouse.Precondition{MustMatch: true, Filter: exactFilter(r)}
}

// pinAbsent is the precondition that nothing matches f when the write commits.
func pinAbsent(f gatehouse.Filter) gatehouse.Precondition { return gatehouse.Precondition{Filter: f} }

// writeSet collects the updates and preconditions of one write, each once.
type writeSet struct {
	updates []gatehouse.Update
	pins    []gatehouse.Precondition
	seen    map[string]bool
}

// identity names r without its expiry: SpiceDB keeps one relationship
// per resource, relation and subject, whatever its expiry (T5), so a
// touch, a delete or a comparison of what was read must not tell two
// expiries of it apart.
func identity(r gatehouse.Relationship) string {
	r.ExpiresAt = nil
	return r.String()
}

func (c *writeSet) update(op gatehouse.Operation, r gatehouse.Relationship) {
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	k := "u" + identity(r)
	if !c.seen[k] {
		c.seen[k] = true
		c.updates = append(c.updates, gatehouse.Update{Op: op, Relationship: r})
	}
}

func (c *writeSet) pin(ps ...gatehouse.Precondition) {
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
func (c *writeSet) pinHolders(obj gatehouse.Object, relation string, holders []gatehouse.Subject) {
	if len(holders) == 0 {
		c.pin(pinAbsent(gatehouse.Filter{ResourceType: obj.Type, ResourceID: obj.ID, Relation: relation}))
		return
	}
	for _, h := range holders {
		c.pin(pinPresent(makeRel(obj, relation, h)))
	}
}

// write applies c atomically with audit.
func (s *kit) write(ctx context.Context, c writeSet, audit gatehouse.Audit) (string, error) {
	return s.store.Write(ctx, gatehouse.Write{Updates: c.updates, Preconditions: c.pins, Audit: audit})
}

// maxUpdates is SpiceDB's limit on the updates of one write.
const maxUpdates = 1000

// maxAttempts bounds the retries of a write whose precondition a concurrent change broke.
const maxAttempts = 5

// finalError carries an answer that retrying cannot change (the object
// exists already, the target is not a member) through retryWrite, which
// would otherwise retry every ECONFLICT.
type finalError struct{ err error }

func (p *finalError) Error() string { return p.err.Error() }

// final wraps err so that retryWrite returns it without retrying.
func final(err error) error { return &finalError{err: err} }

// retryWrite runs attempt until it succeeds, fails with something other
// than ECONFLICT, or has tried maxAttempts times; then the conflict stands
// (409). An attempt returns final(err) to stop with err at once.
func retryWrite(ctx context.Context, attempt func() error) error {
	var err error
	for i := range maxAttempts {
		if err = attempt(); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(1+i*i) * 5 * time.Millisecond):
			continue
		}
		break
	}
	var p *finalError
	if errors.As(err, &p) {
		return p.err
	}
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		var e *gatehouse.Error
		errors.As(err, &e)
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: "concurrent changes kept this request from applying; nothing changed, try again", Err: e}
	}
	return err
}
