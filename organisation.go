package gatehouse

import (
	"context"
	"errors"
	"slices"
	"sort"
)

// The object types of domain.md that the organisation workflows touch.
const (
	typeUser         = "user"
	typeOrganisation = "organisation"
	typeContractor   = "contractor"
	typeInvoice      = "invoice"
	typeChangeReq    = "change_request"
	typeChangeKind   = "change_kind"
	typeChangeTarget = "change_target"
	typePlatform     = "platform"
)

// providerRef is the platform every organisation is linked to, so that its
// staff reach the organisation by an arrow (S7, C7, C9, C12).
var providerRef = Object{Type: typePlatform, ID: "provider"}

// Organisation is a client organisation as Gatehouse shows it.
type Organisation struct {
	ID    string
	Name  string
	Owner Subject
	// ZedToken is the revision the answer was read or written at.
	ZedToken string
}

// OrganisationRef returns organisation:id.
func OrganisationRef(id string) Object { return Object{Type: typeOrganisation, ID: id} }

// makeRel is resource#relation@subject, for brevity below.
func makeRel(res Object, relation string, sub Subject) Relationship {
	return Relationship{Resource: res, Relation: relation, Subject: sub}
}

// exactFilter is the filter that matches r and nothing else.
func exactFilter(r Relationship) Filter {
	return Filter{
		ResourceType: r.Resource.Type, ResourceID: r.Resource.ID, Relation: r.Relation,
		SubjectType: r.Subject.Type, SubjectID: r.Subject.ID, SubjectRelation: r.Subject.Relation,
	}
}

// pinPresent is the precondition that r exists when the write commits.
func pinPresent(r Relationship) Precondition {
	return Precondition{MustMatch: true, Filter: exactFilter(r)}
}

// pinAbsent is the precondition that nothing matches f when the write commits.
func pinAbsent(f Filter) Precondition { return Precondition{Filter: f} }

// headRead is the consistency of every read that a write's preconditions pin:
// the head revision, so that the pin describes the state the write meets.
var headRead = Consistency{FullyConsistent: true}

// validID refuses an id SpiceDB would refuse, naming the field.
func validID(field, id string) error {
	if id == "" {
		return Invalid(field, "%s is required", field)
	}
	if !ValidID(id) {
		return Invalid(field, "%q may contain only letters, digits and /_|-=+ (at most 1024)", id)
	}
	return nil
}

// validUserRef refuses a subject that is not user:<id>.
func validUserRef(field string, u Subject) error {
	if u.Type != typeUser || u.Relation != "" {
		return Invalid(field, "%q must be a user (user:<id>)", u.String())
	}
	return validID(field, u.ID)
}

// finalError carries an answer that retrying cannot change (the object
// exists already, the target is not a member) through retryConflicts,
// which would otherwise retry every ECONFLICT.
type finalError struct{ err error }

func (p *finalError) Error() string { return p.err.Error() }

// retryWrite runs attempt under retryConflicts; an attempt returns
// &finalError{err} to stop with err at once.
func retryWrite(ctx context.Context, attempt func() error) error {
	err := retryConflicts(ctx, func() error {
		err := attempt()
		var p *finalError
		if errors.As(err, &p) {
			return p
		}
		return err
	})
	var p *finalError
	if errors.As(err, &p) {
		return p.err
	}
	if ErrorCode(err) == ECONFLICT {
		var e *Error
		errors.As(err, &e)
		return &Error{Code: ECONFLICT, Message: "concurrent changes kept this request from applying; nothing changed, try again", Err: e}
	}
	return err
}

// final wraps err so that retryWrite returns it without retrying.
func final(err error) error { return &finalError{err: err} }

// orgExists reports whether organisation id exists: it has an owner (O2).
func (s *Service) orgExists(ctx context.Context, id string) (bool, error) {
	rels, _, err := s.store.ReadRelationships(ctx, Filter{ResourceType: typeOrganisation, ResourceID: id, Relation: roleOwner}, headRead)
	return len(rels) > 0, err
}

// notFound is the answer for an organisation that does not exist.
func notFound(id string) error {
	return Errorf(ENOTFOUND, "organisation %q does not exist", id)
}

// CreateOrganisation creates organisation id named name, owned by actor
// (O1), linked to the provider. One write whose precondition is that
// nothing of organisation:id exists, so that of two concurrent creations
// one gets 409; and that nothing names it (no contractor, invoice or
// change request left by an interrupted delete, which it would inherit).
// Anyone may create an organisation: there is nothing yet to hold a
// permission on.
func (s *Service) CreateOrganisation(ctx context.Context, actor Subject, id, name string) (Organisation, error) {
	if err := validID("id", id); err != nil {
		return Organisation{}, err
	}
	if name == "" {
		return Organisation{}, Invalid("name", "name is required")
	}
	label, err := EncodeLabel(map[string]string{"name": name})
	if err != nil {
		return Organisation{}, err
	}
	org := OrganisationRef(id)
	w := Write{
		Updates: []Update{
			{Op: Create, Relationship: makeRel(org, roleOwner, actor)},
			{Op: Create, Relationship: makeRel(org, "platform", Subject{Object: providerRef})},
			{Op: Create, Relationship: makeRel(org, LabelRelation, Subject{Object: label})},
		},
		Preconditions: []Precondition{pinAbsent(Filter{ResourceType: typeOrganisation, ResourceID: id})},
		Audit:         Audit{Actor: actor.String(), Action: "create_organisation", Organisation: id},
	}
	// Dependants left by an interrupted delete would belong to the new
	// organisation: refuse until they are gone (see DeleteOrganisation).
	for _, f := range dependantFilters(id) {
		w.Preconditions = append(w.Preconditions, pinAbsent(f))
	}
	tok, err := s.store.Write(ctx, w)
	if ErrorCode(err) == ECONFLICT {
		e := &Error{Code: ECONFLICT, Rule: "O1", Message: "O1: organisation " + id + " exists already", Err: err}
		if left, lerr := s.hasDependants(ctx, id); lerr == nil && left {
			e.Rule = "O3"
			e.Message = "O3: a delete of organisation " + id + " was cut short and left data behind; provider staff finish it with DELETE /v1/organisations/" + id
		}
		return Organisation{}, e
	}
	if err != nil {
		return Organisation{}, err
	}
	return Organisation{ID: id, Name: name, Owner: actor, ZedToken: tok}, nil
}

// GetOrganisation reads organisation id for actor, who must be a member:
// 404 when it does not exist, 403 for anyone not on its team.
func (s *Service) GetOrganisation(ctx context.Context, actor Subject, id string) (Organisation, error) {
	if err := validID("org", id); err != nil {
		return Organisation{}, err
	}
	rels, tok, err := s.store.ReadRelationships(ctx, Filter{ResourceType: typeOrganisation, ResourceID: id}, Consistency{})
	if err != nil {
		return Organisation{}, err
	}
	out := Organisation{ID: id, ZedToken: tok}
	for _, r := range rels {
		switch r.Relation {
		case roleOwner:
			out.Owner = r.Subject
		case LabelRelation:
			if m, err := DecodeLabel(r.Subject.Object); err == nil {
				out.Name = m["name"]
			}
		}
	}
	if out.Owner.ID == "" {
		return Organisation{}, notFound(id)
	}
	if err := s.Require(ctx, actor, "member", OrganisationRef(id)); err != nil {
		return Organisation{}, err
	}
	return out, nil
}

// Member is one person of an organisation: a user holding a role or a
// designation there, with both lists sorted.
type Member struct {
	User         Subject
	Roles        []string
	Designations []string
}

// Members lists the users who hold a role or a designation in org, sorted
// by user; actor must be a member.
func (s *Service) Members(ctx context.Context, actor Subject, org string) ([]Member, string, error) {
	if err := validID("org", org); err != nil {
		return nil, "", err
	}
	rels, tok, err := s.store.ReadRelationships(ctx, Filter{ResourceType: typeOrganisation, ResourceID: org, SubjectType: typeUser}, Consistency{})
	if err != nil {
		return nil, "", err
	}
	if !slices.ContainsFunc(rels, func(r Relationship) bool { return r.Relation == roleOwner }) {
		return nil, "", notFound(org)
	}
	if err := s.Require(ctx, actor, "member", OrganisationRef(org)); err != nil {
		return nil, "", err
	}
	byUser := map[string]*Member{}
	for _, r := range rels {
		m := byUser[r.Subject.ID]
		if m == nil {
			m = &Member{User: r.Subject, Roles: []string{}, Designations: []string{}}
			byUser[r.Subject.ID] = m
		}
		switch {
		case isRole(r.Relation):
			m.Roles = append(m.Roles, r.Relation)
		case isDesignation(r.Relation):
			m.Designations = append(m.Designations, r.Relation)
		}
	}
	out := make([]Member, 0, len(byUser))
	for _, m := range byUser {
		sort.Strings(m.Roles)
		sort.Strings(m.Designations)
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User.ID < out[j].User.ID })
	return out, tok, nil
}

// TransferOwnership makes to the owner of org in one write (O4): the
// actor loses owner and stays on as administrator (decision), to gains
// owner. Its preconditions pin what was read: the actor is still the
// owner, and to still holds the role through which they are a member. Two
// concurrent transfers cannot both apply, so there is always exactly one
// owner (O2); the loser retries, finds it no longer owns org, and gets 403.
func (s *Service) TransferOwnership(ctx context.Context, actor Subject, org string, to Subject, reason string) (string, error) {
	if err := validID("org", org); err != nil {
		return "", err
	}
	if err := validUserRef("to", to); err != nil {
		return "", err
	}
	o := OrganisationRef(org)
	var tok string
	err := retryWrite(ctx, func() error {
		pins, err := s.authorise(ctx, actor, org, "transfer_ownership")
		if err != nil {
			return err
		}
		if to == actor {
			return final(RuleViolation("O4", "%s owns %s already; transfer to another team member", to, org))
		}
		held, err := s.relationsOf(ctx, org, to)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(held, func(r Relationship) bool { return isRole(r.Relation) })
		if i < 0 {
			return final(RuleViolation("O4", "%s is not a current team member of %s; only a team member can become owner", to, org))
		}
		// Membership is a permission, which no precondition can name: pin
		// one role that makes to a member instead, so that removing to
		// concurrently sends this write back to be decided again.
		pins = append(pins, pinPresent(held[i]))
		w := Write{
			Updates: []Update{
				{Op: Delete, Relationship: makeRel(o, roleOwner, actor)},
				{Op: Touch, Relationship: makeRel(o, roleOwner, to)},
				{Op: Touch, Relationship: makeRel(o, roleAdministrator, actor)},
			},
			Preconditions: pins,
			Audit: Audit{
				Actor: actor.String(), Action: "transfer_ownership", Reason: reason, Organisation: org,
				Details: map[string]string{"from": actor.String(), "to": to.String()},
			},
		}
		tok, err = s.store.Write(ctx, w)
		return err
	})
	return tok, err
}

// DeleteOrganisation deletes org and every relationship of it and of its
// contractors, invoices and change requests, and the exceptions of its
// change kinds and targets (O3). Only the owner may.
//
// The delete is decided by one write pinned on the actor still owning org:
// it removes the owner and the rest of org's own relationships (up to what
// one write holds), so that from then on nothing reaches anything of org,
// every permission on its dependants being an arrow through it (X1). A
// concurrent transfer either precedes it (the pin fails; deciding again,
// the actor is no longer the owner: 403, nothing changed) or fails itself.
// The rest is clean-up, in batches: what is left of org, then the
// dependants (found by their relationships that name org), then the
// exceptions by id prefix. Creating a dependant pins its creator's role in
// org, so none can appear after org's relationships are gone.
//
// If the clean-up is cut short, what remains is unreachable but would
// come back with a new organisation of the same id; so creating one
// refuses while any remains (409), and provider staff finish the
// interrupted delete with this same call.
func (s *Service) DeleteOrganisation(ctx context.Context, actor Subject, org string) (string, error) {
	if err := validID("org", org); err != nil {
		return "", err
	}
	o := OrganisationRef(org)
	audit := Audit{Actor: actor.String(), Action: "delete_organisation", Organisation: org}
	err := retryWrite(ctx, func() error {
		pins, err := s.authorise(ctx, actor, org, "delete")
		if ErrorCode(err) == ENOTFOUND {
			return final(s.interruptedDelete(ctx, actor, org, err))
		}
		if err != nil {
			return err
		}
		rels, _, err := s.store.ReadRelationships(ctx, Filter{ResourceType: typeOrganisation, ResourceID: org}, headRead)
		if err != nil {
			return err
		}
		var c writeSet
		c.pin(pins...)
		c.update(Delete, makeRel(o, roleOwner, actor))
		for _, r := range rels {
			if len(c.updates) < maxUpdates {
				c.update(Delete, r)
			}
		}
		_, err = s.store.Write(ctx, Write{Updates: c.updates, Preconditions: c.pins, Audit: audit})
		return err
	})
	if err != nil {
		return "", err
	}
	return s.cleanUp(ctx, org, audit)
}

// interruptedDelete answers a delete of an organisation that does not
// exist: notFound, unless a delete of it was cut short and left
// dependants, which provider staff may then remove.
func (s *Service) interruptedDelete(ctx context.Context, actor Subject, org string, notFound error) error {
	left, err := s.hasDependants(ctx, org)
	if err != nil {
		return err
	}
	if !left {
		return notFound
	}
	if err := s.Require(ctx, actor, "staff_member", providerRef); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == EFORBIDDEN {
			e.Message += "; organisation " + org + " no longer exists, and only provider staff finish its interrupted delete"
		}
		return err
	}
	_, err = s.cleanUp(ctx, org, Audit{Actor: actor.String(), Action: "delete_organisation", Reason: "finish an interrupted delete", Organisation: org})
	return err
}

// cleanUp deletes what is left of org and of its dependants, in batches.
func (s *Service) cleanUp(ctx context.Context, org string, audit Audit) (string, error) {
	_, tok, err := s.store.DeleteMatching(ctx, []Filter{{ResourceType: typeOrganisation, ResourceID: org}}, audit)
	if err != nil {
		return "", err
	}
	if err := s.deleteDependants(ctx, org, audit); err != nil {
		return "", err
	}
	prefix := org + "/"
	n, t, err := s.store.DeleteMatching(ctx, []Filter{
		{ResourceType: typeChangeKind, IDPrefix: prefix},
		{ResourceType: typeChangeTarget, IDPrefix: prefix},
	}, audit)
	if n > 0 {
		tok = t
	}
	return tok, err
}

// dependantFilters select the relationships that make an object a
// dependant of org: they name it as subject.
func dependantFilters(org string) []Filter {
	fs := make([]Filter, len(dependantTypes))
	for i, typ := range dependantTypes {
		fs[i] = Filter{ResourceType: typ, SubjectType: typeOrganisation, SubjectID: org}
	}
	return fs
}

// hasDependants reports whether anything still names org.
func (s *Service) hasDependants(ctx context.Context, org string) (bool, error) {
	for _, f := range dependantFilters(org) {
		rels, _, err := s.store.ReadRelationships(ctx, f, headRead)
		if err != nil || len(rels) > 0 {
			return len(rels) > 0, err
		}
	}
	return false, nil
}

// dependantTypes are the object types whose relationships name an
// organisation as subject: they belong to it and go with it (O3).
var dependantTypes = []string{typeContractor, typeInvoice, typeChangeReq}

// deleteDependants deletes every relationship of every contractor, invoice
// and change request that names org.
func (s *Service) deleteDependants(ctx context.Context, org string, audit Audit) error {
	for _, f := range dependantFilters(org) {
		typ := f.ResourceType
		rels, _, err := s.store.ReadRelationships(ctx, f, headRead)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		var fs []Filter
		for _, r := range rels {
			if !seen[r.Resource.ID] {
				seen[r.Resource.ID] = true
				fs = append(fs, Filter{ResourceType: typ, ResourceID: r.Resource.ID})
			}
		}
		if len(fs) == 0 {
			continue
		}
		if _, _, err := s.store.DeleteMatching(ctx, fs, audit); err != nil {
			return err
		}
	}
	return nil
}
