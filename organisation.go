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
// one gets 409.
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
	tok, err := s.store.Write(ctx, w)
	if ErrorCode(err) == ECONFLICT {
		return Organisation{}, &Error{Code: ECONFLICT, Rule: "O1", Message: "O1: organisation " + id + " exists already", Err: err}
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
// It goes in batches, since an organisation may hold more than one write
// can: first the dependants, so that a delete cut short leaves an
// organisation its owner can still delete; then, in one write pinned on
// the actor still owning org, the owner relationship, after which org no
// longer exists; then the rest of org; then the dependants again, to catch
// any created while the first sweep ran (creating one pins the creator's
// role in org, so none can follow the second sweep).
func (s *Service) DeleteOrganisation(ctx context.Context, actor Subject, org string) (string, error) {
	if err := validID("org", org); err != nil {
		return "", err
	}
	audit := Audit{Actor: actor.String(), Action: "delete_organisation", Organisation: org}
	var tok string
	err := retryWrite(ctx, func() error {
		pins, err := s.authorise(ctx, actor, org, "delete")
		if err != nil {
			return err
		}
		if err := s.deleteDependants(ctx, org, audit); err != nil {
			return err
		}
		if _, err := s.store.Write(ctx, Write{
			Updates:       []Update{{Op: Delete, Relationship: makeRel(OrganisationRef(org), roleOwner, actor)}},
			Preconditions: pins,
			Audit:         audit,
		}); err != nil {
			return err
		}
		if _, _, err := s.store.DeleteMatching(ctx, []Filter{{ResourceType: typeOrganisation, ResourceID: org}}, audit); err != nil {
			return err
		}
		if err := s.deleteDependants(ctx, org, audit); err != nil {
			return err
		}
		prefix := org + "/"
		_, tok, err = s.store.DeleteMatching(ctx, []Filter{
			{ResourceType: typeChangeKind, IDPrefix: prefix},
			{ResourceType: typeChangeTarget, IDPrefix: prefix},
		}, audit)
		return err
	})
	return tok, err
}

// dependantTypes are the object types whose relationships name an
// organisation as subject: they belong to it and go with it (O3).
var dependantTypes = []string{typeContractor, typeInvoice, typeChangeReq}

// deleteDependants deletes every relationship of every contractor, invoice
// and change request that names org.
func (s *Service) deleteDependants(ctx context.Context, org string, audit Audit) error {
	for _, typ := range dependantTypes {
		rels, _, err := s.store.ReadRelationships(ctx, Filter{ResourceType: typ, SubjectType: typeOrganisation, SubjectID: org}, headRead)
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
