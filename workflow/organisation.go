package workflow

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Organisations decides the life of an organisation: creating it, its
// owner becoming its owner (O1); exactly one owner at every moment (O2);
// deleting it with everything of it (O3); transferring ownership to a
// member, never one designated no_financial_access (O4, R7); editing its
// details (O7, details.go); and reading it and its team (X1).
type Organisations struct{ *kit }

// Organisation is a client organisation as Gatehouse shows it.
type Organisation struct {
	ID    string
	Name  string
	Owner gatehouse.Subject
	// ZedToken is the revision the answer was read or written at.
	ZedToken string
}

// CreateOrganisation creates organisation id named name, owned by actor
// (O1), linked to the provider. One write whose precondition is that
// nothing of organisation:id exists, so that of two concurrent creations
// one gets 409; and that nothing names it (no contractor, invoice or
// change request left by an interrupted delete, which it would inherit).
// Anyone may create an organisation: there is nothing yet to hold a
// permission on.
func (s *Organisations) CreateOrganisation(ctx context.Context, actor gatehouse.Subject, id, name string) (Organisation, error) {
	if err := validOrg("id", id); err != nil {
		return Organisation{}, err
	}
	// A name of spaces alone is no name (X3), and one is kept without its
	// outer spaces, as EditOrganisation keeps it.
	name = strings.TrimSpace(name)
	if name == "" {
		return Organisation{}, gatehouse.Invalid("name", "name is required")
	}
	org := gatehouse.OrganisationRef(id)
	label, err := labelOf(org, map[string]string{"name": name})
	if err != nil {
		return Organisation{}, err
	}
	w := gatehouse.Write{
		Updates: []gatehouse.Update{
			{Op: gatehouse.Create, Relationship: makeRel(org, gatehouse.RoleOwner, actor)},
			{Op: gatehouse.Create, Relationship: makeRel(org, gatehouse.RelPlatform, gatehouse.Subject{Object: gatehouse.Provider})},
			{Op: gatehouse.Create, Relationship: label},
		},
		Preconditions: []gatehouse.Precondition{pinAbsent(gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: id})},
		Audit:         gatehouse.Audit{Actor: actor.String(), Action: "create_organisation", Organisation: id},
	}
	// Anything that still names id would belong to the new organisation:
	// refuse until it is gone (see DeleteOrganisation).
	for _, f := range leftoverFilters(id) {
		w.Preconditions = append(w.Preconditions, pinAbsent(f))
	}
	tok, err := s.store.Write(ctx, w)
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return Organisation{}, s.taken(ctx, id, err)
	}
	if err != nil {
		return Organisation{}, err
	}
	return Organisation{ID: id, Name: name, Owner: actor, ZedToken: tok}, nil
}

// taken explains why organisation id cannot be created (409): it exists;
// or its owner's delete of it is unfinished, which the owner finishes by
// deleting it again; or something still names it, which staff clear.
func (s *Organisations) taken(ctx context.Context, id string, cause error) error {
	e := &gatehouse.Error{Code: gatehouse.ECONFLICT, Rule: "O1", Message: "O1: organisation " + id + " exists already", Err: cause}
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: id}, latest)
	if err != nil {
		return e
	}
	if len(rels) > 0 {
		if !slices.ContainsFunc(rels, func(r gatehouse.Relationship) bool { return r.Relation == gatehouse.RelPlatform }) &&
			slices.ContainsFunc(rels, func(r gatehouse.Relationship) bool { return r.Relation == gatehouse.RoleOwner }) {
			e.Rule = "O3"
			e.Message = "O3: organisation " + id + " is being deleted and its delete was cut short; its owner finishes it with DELETE /v1/organisations/" + id
		}
		return e
	}
	if left, err := s.hasLeftovers(ctx, id); err == nil && left {
		e.Rule = "O3"
		e.Message = "O3: organisation " + id + " no longer exists but data still names it; provider staff clear it with DELETE /v1/organisations/" + id
	}
	return e
}

// GetOrganisation reads organisation id for actor, who must be a member:
// 404 when it does not exist, 403 for anyone not on its team.
func (s *Organisations) GetOrganisation(ctx context.Context, actor gatehouse.Subject, id string) (Organisation, error) {
	if err := validOrg("org", id); err != nil {
		return Organisation{}, err
	}
	rels, tok, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: id}, gatehouse.Consistency{})
	if err != nil {
		return Organisation{}, err
	}
	out := Organisation{ID: id, ZedToken: tok}
	for _, r := range rels {
		switch r.Relation {
		case gatehouse.RoleOwner:
			out.Owner = r.Subject
		case gatehouse.LabelRelation:
			if m, err := gatehouse.DecodeLabel(r.Subject.Object); err == nil {
				out.Name = m["name"]
			}
		}
	}
	if out.Owner.ID == "" {
		return Organisation{}, notFound(id)
	}
	if err := s.require(ctx, actor, gatehouse.PermMember, gatehouse.OrganisationRef(id)); err != nil {
		return Organisation{}, err
	}
	return out, nil
}

// ListOrganisations lists, a page at a time (at most limit, default
// 1000, at most 10000, from the Store's cursor), the organisations actor
// is on the team of, each named as GetOrganisation names it, or, with
// staff, those actor serves as provider staff (C7, C9, C12, S7), by id
// only: a name is the team's (X1). The cursor of the next page is ""
// when none may remain.
func (s *Organisations) ListOrganisations(ctx context.Context, actor gatehouse.Subject, staff bool, limit int, cursor string) ([]Organisation, string, error) {
	limit, err := validLimit(limit)
	if err != nil {
		return nil, "", err
	}
	perm := gatehouse.PermMember
	if staff {
		perm = gatehouse.PermProviderStaff
	}
	res, err := s.store.LookupResources(ctx, gatehouse.LookupResourcesRequest{
		ResourceType: gatehouse.TypeOrganisation, Permission: perm, Subject: actor, Limit: limit, Cursor: cursor,
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]Organisation, 0, len(res.Resources))
	for _, o := range res.Resources {
		org := Organisation{ID: o.ID}
		if !staff {
			if named, err := s.GetOrganisation(ctx, actor, o.ID); err == nil {
				org = named
			}
		}
		out = append(out, org)
	}
	next := ""
	if res.Cursor != "" && len(res.Resources) == limit {
		next = res.Cursor
	}
	return out, next, nil
}

// Member is one person of an organisation: a user holding a role there,
// with the roles and the designations they hold, both sorted. ExpiresAt
// says when each role that ends on its own ends (T5); a role that never
// does is not in it.
type Member struct {
	User         gatehouse.Subject
	Roles        []string
	Designations []string
	ExpiresAt    map[string]time.Time
}

// Members lists the users who hold a role in org, sorted by user; actor
// must be a member. A role that expired is gone (T5), so a user whose last
// role expired is not listed, though the designations left behind are
// still stored: they are not a member's, and grant nothing (T4).
func (s *Organisations) Members(ctx context.Context, actor gatehouse.Subject, org string) ([]Member, string, error) {
	if err := validOrg("org", org); err != nil {
		return nil, "", err
	}
	ms, tok, err := s.members(ctx, org, gatehouse.Consistency{})
	if err != nil {
		return nil, "", err
	}
	if err := s.require(ctx, actor, gatehouse.PermMember, gatehouse.OrganisationRef(org)); err != nil {
		return nil, "", err
	}
	return ms, tok, nil
}

// members reads the team of org as Members lists it, with no permission
// checked: 404 when org does not exist.
func (s *Organisations) members(ctx context.Context, org string, c gatehouse.Consistency) ([]Member, string, error) {
	rels, tok, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: org, SubjectType: gatehouse.TypeUser}, c)
	if err != nil {
		return nil, "", err
	}
	if !slices.ContainsFunc(rels, func(r gatehouse.Relationship) bool { return r.Relation == gatehouse.RoleOwner }) {
		return nil, "", notFound(org)
	}
	byUser := map[string]*Member{}
	for _, r := range rels {
		m := byUser[r.Subject.ID]
		if m == nil {
			m = &Member{User: r.Subject, Roles: []string{}, Designations: []string{}}
			byUser[r.Subject.ID] = m
		}
		switch {
		case gatehouse.IsRole(r.Relation):
			m.Roles = append(m.Roles, r.Relation)
			if r.ExpiresAt != nil {
				if m.ExpiresAt == nil {
					m.ExpiresAt = map[string]time.Time{}
				}
				m.ExpiresAt[r.Relation] = r.ExpiresAt.UTC()
			}
		case gatehouse.IsDesignation(r.Relation):
			m.Designations = append(m.Designations, r.Relation)
		}
	}
	out := make([]Member, 0, len(byUser))
	for _, m := range byUser {
		if len(m.Roles) == 0 {
			continue
		}
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
func (s *Organisations) TransferOwnership(ctx context.Context, actor gatehouse.Subject, org string, to gatehouse.Subject, reason string) (string, error) {
	if err := validOrg("org", org); err != nil {
		return "", err
	}
	if err := validUser("to", to); err != nil {
		return "", err
	}
	o := gatehouse.OrganisationRef(org)
	var tok string
	err := retryWrite(ctx, func() error {
		pins, err := s.requirePins(ctx, actor, org, gatehouse.PermTransferOwnership)
		if err != nil {
			return err
		}
		if to == actor {
			return final(gatehouse.RuleViolation("O4", "%s owns %s already; transfer to another team member", to, org))
		}
		held, err := s.relationsOf(ctx, org, to)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(held, func(r gatehouse.Relationship) bool { return gatehouse.IsRole(r.Relation) })
		if i < 0 {
			return final(gatehouse.RuleViolation("O4", "%s is not a current team member of %s; only a team member can become owner", to, org))
		}
		// Membership is a permission, which no precondition can name: pin
		// one role that makes to a member instead, so that removing to
		// concurrently sends this write back to be decided again.
		pins = append(pins, pinPresent(held[i]))
		// R7: not to a member designated no_financial_access, pinned.
		nfa := makeRel(o, gatehouse.DesignationNoFinancialAccess, to)
		if slices.Contains(held, nfa) {
			return final(gatehouse.RuleViolation("R7", "%s is designated %s in %s; lift the designation before transferring ownership to them", to, gatehouse.DesignationNoFinancialAccess, org))
		}
		pins = append(pins, pinAbsent(exactFilter(nfa)))
		w := gatehouse.Write{
			Updates: []gatehouse.Update{
				{Op: gatehouse.Delete, Relationship: makeRel(o, gatehouse.RoleOwner, actor)},
				{Op: gatehouse.Touch, Relationship: makeRel(o, gatehouse.RoleOwner, to)},
				{Op: gatehouse.Touch, Relationship: makeRel(o, gatehouse.RoleAdministrator, actor)},
			},
			Preconditions: pins,
			Audit: gatehouse.Audit{
				Actor: actor.String(), Action: gatehouse.PermTransferOwnership, Reason: reason, Organisation: org,
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
// The delete is decided by one write pinned on the actor owning org: it
// removes every relationship of org but the owner's (up to what one write
// holds, the platform link and the roles first), so that from then on
// nobody but the owner reaches anything of org, every permission on its
// dependants being an arrow through it (X1). A concurrent transfer either
// precedes it (the pin fails; deciding again, the actor is no longer the
// owner: 403, nothing changed) or finds no member left to transfer to.
// The rest is clean-up, in batches: what is left of org, the dependants
// (found by their relationships that name org), the exceptions by id
// prefix; and last one write that deletes the owner, pinned on nothing of
// org being left, so that whatever the owner created meanwhile sends the
// clean-up round again rather than outliving org.
//
// The owner's relationship is thus the record of the decision and of who
// took it, held in SpiceDB like everything else: if the clean-up is cut
// short (a cancelled request, a lost connection, a crash), org still has
// its owner, and the owner's retry of this same call finishes it. Until
// then the id stays taken (409 naming O3) and nobody else holds anything
// of org, so nothing is ever left that only provider staff can clear.
// reason, if not empty, goes to the audit trail with every write.
func (s *Organisations) DeleteOrganisation(ctx context.Context, actor gatehouse.Subject, org, reason string) (string, error) {
	if err := validOrg("org", org); err != nil {
		return "", err
	}
	o := gatehouse.OrganisationRef(org)
	owner := makeRel(o, gatehouse.RoleOwner, actor)
	audit := gatehouse.Audit{Actor: actor.String(), Action: "delete_organisation", Reason: strings.TrimSpace(reason), Organisation: org}
	err := retryWrite(ctx, func() error {
		pins, err := s.requirePins(ctx, actor, org, gatehouse.PermDelete)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return final(s.leftovers(ctx, actor, org, err))
		}
		if err != nil {
			return err
		}
		rest, err := s.allBut(ctx, org, owner)
		if err != nil {
			return err
		}
		if len(rest) == 0 {
			return nil // decided already: a retry of an unfinished delete
		}
		var c writeSet
		c.pin(pins...)
		for _, r := range rest[:min(len(rest), maxUpdates)] {
			c.update(gatehouse.Delete, r)
		}
		_, err = s.write(ctx, c, audit)
		return err
	})
	if err != nil {
		return "", err
	}
	return s.finishDelete(ctx, owner, audit)
}

// allBut reads every relationship of organisation org but keep, the
// platform link and the roles first: what cuts every path into org goes
// first when one write cannot hold them all.
func (s *Organisations) allBut(ctx context.Context, org string, keep gatehouse.Relationship) ([]gatehouse.Relationship, error) {
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: org}, latest)
	if err != nil {
		return nil, err
	}
	rels = slices.DeleteFunc(rels, func(r gatehouse.Relationship) bool { return r.String() == keep.String() })
	rank := func(r gatehouse.Relationship) int {
		switch {
		case r.Relation == gatehouse.RelPlatform:
			return 0
		case gatehouse.IsRole(r.Relation):
			return 1
		}
		return 2
	}
	slices.SortStableFunc(rels, func(a, b gatehouse.Relationship) int { return rank(a) - rank(b) })
	return rels, nil
}

// finishDelete is the clean-up of a decided delete (see DeleteOrganisation):
// everything of the organisation but owner, then owner, in a write pinned
// on nothing else being left. A round whose last write a concurrent change
// refused runs again.
func (s *Organisations) finishDelete(ctx context.Context, owner gatehouse.Relationship, audit gatehouse.Audit) (string, error) {
	org := owner.Resource.ID
	for range maxAttempts {
		for {
			rest, err := s.allBut(ctx, org, owner)
			if err != nil {
				return "", err
			}
			if len(rest) == 0 {
				break
			}
			var c writeSet
			c.pin(pinPresent(owner))
			for _, r := range rest[:min(len(rest), maxUpdates)] {
				c.update(gatehouse.Delete, r)
			}
			if _, err := s.write(ctx, c, audit); err != nil {
				return "", err
			}
		}
		if err := s.deleteDependants(ctx, org, audit); err != nil {
			return "", err
		}
		if _, _, err := s.store.DeleteMatching(ctx, exceptionPrefixes(org), audit); err != nil {
			return "", err
		}
		var c writeSet
		c.pin(pinPresent(owner))
		for _, f := range leftoverFilters(org) {
			c.pin(pinAbsent(f))
		}
		for _, rel := range orgRelations() {
			if rel != gatehouse.RoleOwner {
				c.pin(pinAbsent(gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: org, Relation: rel}))
			}
		}
		c.update(gatehouse.Delete, owner)
		tok, err := s.write(ctx, c, audit)
		if gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			return tok, err
		}
		if ok, err := s.orgExists(ctx, org); err != nil || !ok {
			// A concurrent retry of the same delete finished first.
			return "", err
		}
	}
	return "", gatehouse.Errorf(gatehouse.ECONFLICT, "organisation %s kept changing while it was deleted; delete it again to finish", org)
}

// orgRelations are the relations of organisation in the schema: those the
// X4 table classifies, which TestRawClassification proves against it.
func orgRelations() []string {
	var out []string
	for k := range relationClasses {
		if k.resourceType == gatehouse.TypeOrganisation {
			out = append(out, k.relation)
		}
	}
	slices.Sort(out)
	return out
}

// exceptionPrefixes select the exceptions on org's change kinds and targets.
func exceptionPrefixes(org string) []gatehouse.Filter {
	prefix := org + "/"
	return []gatehouse.Filter{
		{ResourceType: gatehouse.TypeChangeKind, IDPrefix: prefix},
		{ResourceType: gatehouse.TypeChangeTarget, IDPrefix: prefix},
	}
}

// leftovers answers a delete of an organisation that does not exist:
// notFound, unless something still names it (data written before this
// version finished deletes by their owner, or straight into SpiceDB),
// which provider staff may then clear.
func (s *Organisations) leftovers(ctx context.Context, actor gatehouse.Subject, org string, notFound error) error {
	left, err := s.hasLeftovers(ctx, org)
	if err != nil {
		return err
	}
	if !left {
		return notFound
	}
	if err := s.require(ctx, actor, gatehouse.PermStaffMember, gatehouse.Provider); err != nil {
		var e *gatehouse.Error
		if errors.As(err, &e) && e.Code == gatehouse.EFORBIDDEN {
			e.Message += "; organisation " + org + " no longer exists, and only provider staff clear what still names it"
		}
		return err
	}
	_, err = s.cleanUp(ctx, org, gatehouse.Audit{Actor: actor.String(), Action: "delete_organisation", Reason: "clear what names an organisation that no longer exists", Organisation: org})
	return err
}

// cleanUp deletes what is left of org and of its dependants, in batches.
func (s *Organisations) cleanUp(ctx context.Context, org string, audit gatehouse.Audit) (string, error) {
	_, tok, err := s.store.DeleteMatching(ctx, []gatehouse.Filter{{ResourceType: gatehouse.TypeOrganisation, ResourceID: org}}, audit)
	if err != nil {
		return "", err
	}
	if err := s.deleteDependants(ctx, org, audit); err != nil {
		return "", err
	}
	n, t, err := s.store.DeleteMatching(ctx, exceptionPrefixes(org), audit)
	if n > 0 {
		tok = t
	}
	return tok, err
}

// leftoverFilters select what would outlive org if its last relationship
// went first: its dependants and the exceptions of its kinds and targets.
// Creating org pins that none matches, as it would otherwise inherit them.
func leftoverFilters(org string) []gatehouse.Filter {
	return append(dependantFilters(org), exceptionPrefixes(org)...)
}

// hasLeftovers reports whether anything still names org (leftoverFilters).
func (s *Organisations) hasLeftovers(ctx context.Context, org string) (bool, error) {
	for _, f := range leftoverFilters(org) {
		rels, _, err := s.store.ReadRelationships(ctx, f, latest)
		if err != nil || len(rels) > 0 {
			return len(rels) > 0, err
		}
	}
	return false, nil
}

// dependantFilters select the relationships that make an object a
// dependant of org: they name it as subject.
func dependantFilters(org string) []gatehouse.Filter {
	fs := make([]gatehouse.Filter, len(dependantTypes))
	for i, typ := range dependantTypes {
		fs[i] = gatehouse.Filter{ResourceType: typ, SubjectType: gatehouse.TypeOrganisation, SubjectID: org}
	}
	return fs
}

// dependantTypes are the object types whose relationships name an
// organisation as subject: they belong to it and go with it (O3).
var dependantTypes = []string{gatehouse.TypeContractor, gatehouse.TypeInvoice, gatehouse.TypeChangeRequest}

// deleteDependants deletes every relationship of every contractor, invoice
// and change request that names org.
func (s *Organisations) deleteDependants(ctx context.Context, org string, audit gatehouse.Audit) error {
	for _, f := range dependantFilters(org) {
		typ := f.ResourceType
		rels, _, err := s.store.ReadRelationships(ctx, f, latest)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		var fs []gatehouse.Filter
		for _, r := range rels {
			if !seen[r.Resource.ID] {
				seen[r.Resource.ID] = true
				fs = append(fs, gatehouse.Filter{ResourceType: typ, ResourceID: r.Resource.ID})
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
