package workflow

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// Contractors decides an organisation's contractors: each belongs to
// exactly one organisation (K1); admin-only ones are seen by the owner,
// SA, ASA and administrators only (K2); reading one answers only who may
// view it (K3, X1).
type Contractors struct{ *kit }

// Contractor is a contractor of one organisation (K1). An admin-only one
// is visible only to the owner, SA, ASA and administrators (K2).
type Contractor struct {
	ID           string
	Name         string
	AdminOnly    bool
	Organisation string
	ZedToken     string
}

// ContractorPatch changes the fields that are set.
type ContractorPatch struct {
	Name      *string
	AdminOnly *bool
}

// adminOnly is the flag that hides a contractor from the non-admin roles:
// one wildcard relationship, written only here (K2).
func adminOnly(c gatehouse.Object) gatehouse.Relationship {
	return makeRel(c, gatehouse.RelAdminOnly, gatehouse.Wildcard(gatehouse.TypeUser))
}

// CreateContractor creates contractor c.ID in org for actor, who needs
// manage_contractors. One write whose precondition is that nothing of
// contractor:<id> exists anywhere, so a contractor belongs to exactly one
// organisation (K1): an id in use is 409, whichever organisation holds it.
func (s *Contractors) CreateContractor(ctx context.Context, actor gatehouse.Subject, org string, c Contractor) (Contractor, error) {
	if err := validOrg("org", org); err != nil {
		return Contractor{}, err
	}
	if err := validID("id", c.ID); err != nil {
		return Contractor{}, err
	}
	// A name is optional, but one given is shown: spaces alone would show
	// a contractor with no name (X3).
	name := strings.TrimSpace(c.Name)
	if c.Name != "" && name == "" {
		return Contractor{}, gatehouse.Invalid("name", "name must not be only spaces")
	}
	c.Name = name
	obj := gatehouse.ContractorRef(c.ID)
	updates := []gatehouse.Update{{Op: gatehouse.Create, Relationship: makeRel(obj, gatehouse.RelOrganisation, gatehouse.Subject{Object: gatehouse.OrganisationRef(org)})}}
	if c.Name != "" {
		l, err := labelOf(obj, map[string]string{"name": c.Name})
		if err != nil {
			return Contractor{}, err
		}
		updates = append(updates, gatehouse.Update{Op: gatehouse.Create, Relationship: l})
	}
	if c.AdminOnly {
		updates = append(updates, gatehouse.Update{Op: gatehouse.Create, Relationship: adminOnly(obj)})
	}
	c.Organisation = org
	err := retryWrite(ctx, func() error {
		pins, err := s.requirePins(ctx, actor, org, gatehouse.PermManageContractors)
		if err != nil {
			return err
		}
		if err := s.mustBeUnused(ctx, obj, "K1"); err != nil {
			return err
		}
		c.ZedToken, err = s.store.Write(ctx, gatehouse.Write{
			Updates:       updates,
			Preconditions: append(pins, pinAbsent(gatehouse.Filter{ResourceType: obj.Type, ResourceID: obj.ID})),
			Audit: gatehouse.Audit{
				Actor: actor.String(), Action: "create_contractor", Organisation: org,
				Details: map[string]string{"contractor": obj.String()},
			},
		})
		return err
	})
	if err != nil {
		return Contractor{}, err
	}
	return c, nil
}

// contractorState is a contractor as read: its relationships by kind.
type contractorState struct {
	org    string
	labels []gatehouse.Relationship
	flag   bool
	all    []gatehouse.Relationship
}

// readContractor reads contractor id at the head revision; 404 when it has no organisation.
func (s *Contractors) readContractor(ctx context.Context, id string) (contractorState, error) {
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: gatehouse.TypeContractor, ResourceID: id}, latest)
	if err != nil {
		return contractorState{}, err
	}
	st := contractorState{all: rels}
	for _, r := range rels {
		switch r.Relation {
		case gatehouse.RelOrganisation:
			st.org = r.Subject.ID
		case gatehouse.LabelRelation:
			st.labels = append(st.labels, r)
		case gatehouse.RelAdminOnly:
			st.flag = true
		}
	}
	if st.org == "" {
		return contractorState{}, gatehouse.Errorf(gatehouse.ENOTFOUND, "contractor %q does not exist", id)
	}
	return st, nil
}

func (st contractorState) name() string {
	for _, l := range st.labels {
		if m, err := gatehouse.DecodeLabel(l.Subject.Object); err == nil {
			return m["name"]
		}
	}
	return ""
}

// PatchContractor renames contractor id or sets or lifts its admin-only
// flag, for actor, who needs manage_contractors in its organisation.
// Lifting the flag deletes one relationship, so the contractor is visible
// to cis_processors and the IT manager at once (K2). The write pins the
// contractor's organisation and its current name, so a concurrent rename
// or move sends it back to be decided again.
func (s *Contractors) PatchContractor(ctx context.Context, actor gatehouse.Subject, id string, p ContractorPatch) (Contractor, error) {
	if err := validID("id", id); err != nil {
		return Contractor{}, err
	}
	if p.Name == nil && p.AdminOnly == nil {
		return Contractor{}, gatehouse.Invalid("body", "set name or adminOnly")
	}
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		p.Name = &name
	}
	if p.Name != nil && *p.Name == "" {
		return Contractor{}, gatehouse.Invalid("name", "name must not be empty")
	}
	obj := gatehouse.ContractorRef(id)
	var out Contractor
	err := retryWrite(ctx, func() error {
		st, c, err := s.contractorWrite(ctx, actor, id)
		if err != nil {
			return err
		}
		out = Contractor{ID: id, Name: st.name(), AdminOnly: st.flag, Organisation: st.org}
		if p.Name != nil && *p.Name != out.Name {
			l, err := labelOf(obj, map[string]string{"name": *p.Name})
			if err != nil {
				return final(err)
			}
			c.pinHolders(obj, gatehouse.LabelRelation, subjectsOf(st.labels))
			for _, old := range st.labels {
				c.update(gatehouse.Delete, old)
			}
			c.update(gatehouse.Touch, l)
			out.Name = *p.Name
		}
		if p.AdminOnly != nil && *p.AdminOnly != st.flag {
			op := gatehouse.Delete
			if *p.AdminOnly {
				op = gatehouse.Touch
			}
			c.update(op, adminOnly(obj))
			out.AdminOnly = *p.AdminOnly
		}
		if len(c.updates) == 0 {
			return nil // already so
		}
		out.ZedToken, err = s.write(ctx, c, gatehouse.Audit{
			Actor: actor.String(), Action: "update_contractor", Organisation: st.org,
			Details: map[string]string{"contractor": obj.String()},
		})
		return err
	})
	return out, err
}

// DeleteContractor deletes every relationship of contractor id, for actor,
// who needs manage_contractors in its organisation, with an optional
// reason for the audit trail (X2). The write deletes what
// was read, pinned on the actor's standing and on the contractor still
// belonging to the organisation it was read in: ids are global (K1), so a
// contractor deleted and created again in another organisation between
// the check and the write sends the write back to be decided again against
// the new organisation, and is never deleted on the strength of a
// permission in the old one. What was written to the contractor meanwhile
// (a new label through the raw endpoint) is swept after, for as long as it
// belongs to no organisation.
func (s *Contractors) DeleteContractor(ctx context.Context, actor gatehouse.Subject, id, reason string) (string, error) {
	if err := validID("id", id); err != nil {
		return "", err
	}
	obj := gatehouse.ContractorRef(id)
	var tok string
	var audit gatehouse.Audit
	err := retryWrite(ctx, func() error {
		st, c, err := s.contractorWrite(ctx, actor, id)
		if err != nil {
			return err
		}
		c.update(gatehouse.Delete, makeRel(obj, gatehouse.RelOrganisation, gatehouse.Subject{Object: gatehouse.OrganisationRef(st.org)}))
		for _, r := range st.all {
			if len(c.updates) < maxUpdates {
				c.update(gatehouse.Delete, r)
			}
		}
		audit = gatehouse.Audit{
			Actor: actor.String(), Action: "delete_contractor", Reason: strings.TrimSpace(reason), Organisation: st.org,
			Details: map[string]string{"contractor": obj.String()},
		}
		tok, err = s.write(ctx, c, audit)
		return err
	})
	if err != nil {
		return "", err
	}
	if t, err := s.sweepOrphan(ctx, obj, audit); err != nil {
		return "", err
	} else if t != "" {
		tok = t
	}
	return tok, nil
}

// sweepOrphan deletes what is left of obj, a contractor or invoice whose
// organisation relationship is gone, in writes pinned on it still having
// none: once obj belongs to an organisation again it is someone else's.
func (s *Contractors) sweepOrphan(ctx context.Context, obj gatehouse.Object, audit gatehouse.Audit) (string, error) {
	var tok string
	for range maxAttempts {
		rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: obj.Type, ResourceID: obj.ID}, latest)
		if err != nil {
			return "", err
		}
		if len(rels) == 0 || slices.ContainsFunc(rels, func(r gatehouse.Relationship) bool { return r.Relation == gatehouse.RelOrganisation }) {
			return tok, nil
		}
		var c writeSet
		c.pin(pinAbsent(gatehouse.Filter{ResourceType: obj.Type, ResourceID: obj.ID, Relation: gatehouse.RelOrganisation}))
		for _, r := range rels[:min(len(rels), maxUpdates)] {
			c.update(gatehouse.Delete, r)
		}
		t, err := s.write(ctx, c, audit)
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return tok, nil
		}
		if err != nil {
			return "", err
		}
		tok = t
	}
	return tok, nil
}

// contractorWrite reads contractor id and starts the write that changes
// it: pinned on actor's manage_contractors in its organisation and on the
// contractor still belonging to that organisation (K1: ids are global).
func (s *Contractors) contractorWrite(ctx context.Context, actor gatehouse.Subject, id string) (contractorState, writeSet, error) {
	st, err := s.readContractor(ctx, id)
	if err != nil {
		return st, writeSet{}, final(err)
	}
	pins, err := s.requirePins(ctx, actor, st.org, gatehouse.PermManageContractors)
	if err != nil {
		return st, writeSet{}, err
	}
	var c writeSet
	c.pin(pins...)
	c.pin(pinPresent(makeRel(gatehouse.ContractorRef(id), gatehouse.RelOrganisation, gatehouse.Subject{Object: gatehouse.OrganisationRef(st.org)})))
	return st, c, nil
}

// Contractor reads contractor id for actor, who needs view on it: its
// name, organisation and admin-only flag (K2, K3). Anyone else gets 403
// naming view, whether or not it exists, so that the answer tells them
// nothing of a contractor they may not see (X1): ids are global, and a 404
// would tell anyone which ids other organisations use. A contractor that
// does not exist grants no view, so it is 403 for everyone.
func (s *Contractors) Contractor(ctx context.Context, actor gatehouse.Subject, id string) (Contractor, error) {
	if err := validID("id", id); err != nil {
		return Contractor{}, err
	}
	if err := s.require(ctx, actor, gatehouse.PermView, gatehouse.ContractorRef(id)); err != nil {
		return Contractor{}, err
	}
	st, err := s.readContractor(ctx, id)
	if err != nil {
		return Contractor{}, err
	}
	return Contractor{ID: id, Name: st.name(), AdminOnly: st.flag, Organisation: st.org}, nil
}

// ListContractors lists, for actor, a member of org, a page of org's
// contractors (at most limit, default 1000, at most 10000, from the
// Store's cursor) keeping those actor may view (K2, K3: a billing manager
// sees none, R6), with the cursor of the next page when more may remain.
// 404 when org does not exist; anyone off its team gets 403 naming member.
func (s *Contractors) ListContractors(ctx context.Context, actor gatehouse.Subject, org string, limit int, cursor string) ([]Contractor, string, error) {
	if err := validOrg("org", org); err != nil {
		return nil, "", err
	}
	if err := s.requireOf(ctx, actor, org, gatehouse.PermMember); err != nil {
		return nil, "", err
	}
	objs, next, err := s.viewablePage(ctx, actor, gatehouse.TypeContractor, org, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	out := make([]Contractor, 0, len(objs))
	for _, o := range objs {
		rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: o.Type, ResourceID: o.ID}, gatehouse.Consistency{})
		if err != nil {
			return nil, "", err
		}
		c := Contractor{ID: o.ID, Organisation: org}
		for _, r := range rels {
			switch r.Relation {
			case gatehouse.RelAdminOnly:
				c.AdminOnly = true
			case gatehouse.LabelRelation:
				if m, err := gatehouse.DecodeLabel(r.Subject.Object); err == nil {
					c.Name = m["name"]
				}
			}
		}
		out = append(out, c)
	}
	return out, next, nil
}
