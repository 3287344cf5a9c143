package dryrun

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// Effect is one permission a subject gains or loses on an object.
type Effect struct {
	Subject    gatehouse.Subject
	Permission string
	On         gatehouse.Object
	Gained     bool
}

// Outcome is what a dry run would do: its changes, one a relationship in
// the order first made, and their effects, sorted by subject, then object,
// then permission in domain.md's table order. Truncated says the effects were not computed: the touched
// organisations hold more than MaxRelationships, or the comparison would
// take more than MaxChecks checks a side.
type Outcome struct {
	Changes   []gatehouse.Update
	Effects   []Effect
	Truncated bool
}

// Outcome computes the changes recorded and their effects, by SpiceDB's
// evaluation of the touched organisations before and after them in one
// scratch SpiceDB.
func (s *Store) Outcome(ctx context.Context) (Outcome, error) {
	s.mu.Lock()
	ups := s.updates()
	s.mu.Unlock()
	out := Outcome{Changes: ups}
	if len(ups) == 0 {
		return out, nil
	}
	if s.engine == nil {
		out.Truncated = true
		return out, nil
	}
	rels, ok, err := s.bundle(ctx, ups)
	if err != nil || !ok {
		out.Truncated = !ok
		return out, err
	}
	reqs, ok := checks(rels, ups)
	if !ok {
		out.Truncated = true
		return out, nil
	}
	sc, err := s.engine(ctx, rels)
	if err != nil {
		return out, err
	}
	defer sc.Close()
	before, err := checkAll(ctx, sc, reqs)
	if err != nil {
		return out, err
	}
	if _, err := sc.Apply(ctx, ups); err != nil {
		return out, err
	}
	after, err := checkAll(ctx, sc, reqs)
	if err != nil {
		return out, err
	}
	for i, r := range reqs {
		if before[i] != after[i] {
			out.Effects = append(out.Effects, Effect{Subject: r.Subject, Permission: r.Permission, On: r.Resource, Gained: after[i]})
		}
	}
	return out, nil
}

// checkAll answers reqs at the scratch SpiceDB's head, in bulk calls.
func checkAll(ctx context.Context, sc Scratch, reqs []gatehouse.CheckRequest) ([]bool, error) {
	out := make([]bool, 0, len(reqs))
	for chunk := range slices.Chunk(reqs, bulkSize) {
		res, _, err := sc.CheckBulk(ctx, chunk, latest)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if r.Err != nil {
				return nil, r.Err
			}
			out = append(out, r.Allowed)
		}
	}
	return out, nil
}

// checks are the comparisons of a dry run, sorted: every user named in
// the changes or related to a touched organisation, on every permission
// domain.md's tables list (gatehouse.Checked) of the organisations, the
// contractors, invoices and change requests of the bundle and the changes,
// and on the platform's staff_member when the changes touch it. False
// when they are more than MaxChecks.
func checks(rels []gatehouse.Relationship, ups []gatehouse.Update) ([]gatehouse.CheckRequest, bool) {
	users := map[string]bool{}
	objects := map[gatehouse.Object]bool{}
	platform := false
	see := func(r gatehouse.Relationship, named bool) {
		if gatehouse.Checked(r.Resource.Type) != nil {
			objects[r.Resource] = true
		}
		if r.Resource.Type == gatehouse.TypePlatform {
			platform = platform || named
		}
		if r.Subject.Type == gatehouse.TypeUser && r.Subject.ID != "*" &&
			(named || r.Resource.Type == gatehouse.TypeOrganisation) {
			users[r.Subject.ID] = true
		}
	}
	for _, r := range rels {
		see(r, false)
	}
	for _, u := range ups {
		see(u.Relationship, true)
	}
	objs := make([]gatehouse.Object, 0, len(objects))
	for o := range objects {
		objs = append(objs, o)
	}
	if platform {
		objs = append(objs, gatehouse.Provider)
	}
	slices.SortFunc(objs, func(a, b gatehouse.Object) int { return strings.Compare(a.String(), b.String()) })
	ids := make([]string, 0, len(users))
	for u := range users {
		ids = append(ids, u)
	}
	slices.Sort(ids)
	n := 0
	for _, o := range objs {
		n += len(permissions(o.Type))
	}
	if n*len(ids) > MaxChecks {
		return nil, false
	}
	reqs := make([]gatehouse.CheckRequest, 0, n*len(ids))
	for _, u := range ids {
		for _, o := range objs {
			for _, p := range permissions(o.Type) {
				reqs = append(reqs, gatehouse.CheckRequest{Resource: o, Permission: p, Subject: gatehouse.User(u), Consistency: latest})
			}
		}
	}
	return reqs, true
}

// permissions are the permissions compared on an object of type t.
func permissions(t string) []string {
	if t == gatehouse.TypePlatform {
		return []string{gatehouse.PermStaffMember}
	}
	return gatehouse.Checked(t)
}

// bundle reads, at the head revision, every relationship SpiceDB may
// follow to answer a check on the organisations ups touch: each one's own,
// its contractors', invoices' and change requests', its change kinds' and
// targets', and the platform's; a stage's, instead of every dependant, the
// own relationships of the objects ups change. False when they are more
// than MaxRelationships. It reads the wrapped Store, as it is before the
// dry run.
func (s *Store) bundle(ctx context.Context, ups []gatehouse.Update) ([]gatehouse.Relationship, bool, error) {
	orgs, err := s.organisations(ctx, ups)
	if err != nil {
		return nil, false, err
	}
	var out []gatehouse.Relationship
	seen := map[string]bool{}
	add := func(f gatehouse.Filter) (bool, error) {
		rels, _, err := s.Store.ReadRelationships(ctx, f, latest)
		if err != nil {
			return false, err
		}
		for _, r := range rels {
			if k := r.String(); !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
		return len(out) <= MaxRelationships, nil
	}
	filters := []gatehouse.Filter{{ResourceType: gatehouse.TypePlatform, ResourceID: gatehouse.Provider.ID}}
	for _, org := range orgs {
		filters = append(filters,
			gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: org},
			gatehouse.Filter{ResourceType: gatehouse.TypeChangeKind, IDPrefix: org + "/"},
			gatehouse.Filter{ResourceType: gatehouse.TypeChangeTarget, IDPrefix: org + "/"})
	}
	for _, f := range filters {
		if ok, err := add(f); !ok || err != nil {
			return nil, false, err
		}
	}
	if s.stage {
		// A stage checks only the objects it writes: their own
		// relationships, not every other dependant of the organisation.
		for _, f := range written(ups) {
			if ok, err := add(f); !ok || err != nil {
				return nil, false, err
			}
		}
		return out, true, nil
	}
	for _, org := range orgs {
		for _, typ := range dependantTypes {
			links, _, err := s.Store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: typ, Relation: gatehouse.RelOrganisation, SubjectType: gatehouse.TypeOrganisation, SubjectID: org}, latest)
			if err != nil {
				return nil, false, err
			}
			if len(out)+len(links) > MaxRelationships {
				return nil, false, nil
			}
			for _, l := range links {
				if ok, err := add(gatehouse.Filter{ResourceType: typ, ResourceID: l.Resource.ID}); !ok || err != nil {
					return nil, false, err
				}
			}
		}
	}
	return out, true, nil
}

// written are the filters of the own relationships of each dependant
// object (dependantTypes) that ups change, once each, in order.
func written(ups []gatehouse.Update) []gatehouse.Filter {
	var out []gatehouse.Filter
	seen := map[gatehouse.Object]bool{}
	for _, u := range ups {
		r := u.Relationship.Resource
		if seen[r] || !slices.Contains(dependantTypes, r.Type) {
			continue
		}
		seen[r] = true
		out = append(out, gatehouse.Filter{ResourceType: r.Type, ResourceID: r.ID})
	}
	return out
}

// dependantTypes are the object types that belong to an organisation
// through their organisation relation (K1, O3).
var dependantTypes = []string{gatehouse.TypeContractor, gatehouse.TypeInvoice, gatehouse.TypeChangeRequest}

// organisations names, sorted, the organisations ups touch: those they
// change, those whose objects (contractors, invoices, change requests,
// change kinds and targets) they change, read from the wrapped Store when
// the change does not say.
func (s *Store) organisations(ctx context.Context, ups []gatehouse.Update) ([]string, error) {
	orgs := map[string]bool{}
	asked := map[gatehouse.Object]bool{}
	for _, u := range ups {
		r := u.Relationship
		switch r.Resource.Type {
		case gatehouse.TypeOrganisation:
			orgs[r.Resource.ID] = true
		case gatehouse.TypeChangeKind, gatehouse.TypeChangeTarget:
			org, _, _ := strings.Cut(r.Resource.ID, "/")
			orgs[org] = true
		case gatehouse.TypeContractor, gatehouse.TypeInvoice, gatehouse.TypeChangeRequest:
			if r.Relation == gatehouse.RelOrganisation {
				orgs[r.Subject.ID] = true
				continue
			}
			if asked[r.Resource] {
				continue
			}
			asked[r.Resource] = true
			links, _, err := s.Store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: r.Resource.Type, ResourceID: r.Resource.ID, Relation: gatehouse.RelOrganisation}, latest)
			if err != nil {
				return nil, err
			}
			for _, l := range links {
				orgs[l.Subject.ID] = true
			}
		}
	}
	out := make([]string, 0, len(orgs))
	for o := range orgs {
		out = append(out, o)
	}
	slices.Sort(out)
	return out, nil
}
