package spicedb

import (
	"context"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// Names of the schema (schema/schema.zed) that tie an object to its organisation.
const (
	typeOrganisation = "organisation"
	relOrganisation  = "organisation"
)

// ownedTypes are the object types that belong to an organisation through
// their relation "organisation" (K1; change_request, C*).
var ownedTypes = map[string]bool{"contractor": true, "invoice": true, "change_request": true}

// scopedTypes are the object types whose id starts "<organisation>/".
var scopedTypes = map[string]bool{"change_kind": true, "change_target": true}

// organisationOf names the organisation a raw write touches (issue 10,
// item 2), so that its event is listed with that organisation's trail: an
// organisation's own relationship, the "#organisation" relationship being
// written, an id scoped by the organisation, or else the organisation the
// resource belongs to now. "" when it touches none (platform#staff): such
// an event is listed with AuditQuery.Platform.
func (s *SpiceDB) organisationOf(ctx context.Context, objs []gatehouse.Object, rels []gatehouse.Relationship) string {
	for _, r := range rels {
		if r.Relation == relOrganisation && r.Subject.Type == typeOrganisation && ownedTypes[r.Resource.Type] {
			return r.Subject.ID
		}
		objs = append(objs, r.Resource)
	}
	for _, o := range objs {
		switch {
		case o.Type == typeOrganisation && o.ID != "":
			return o.ID
		case scopedTypes[o.Type]:
			if org, _, ok := strings.Cut(o.ID, "/"); ok {
				return org
			}
		}
	}
	for _, o := range objs {
		if !ownedTypes[o.Type] || o.ID == "" {
			continue
		}
		owners, _, err := s.ReadRelationships(ctx, gatehouse.Filter{
			ResourceType: o.Type, ResourceID: o.ID, Relation: relOrganisation, SubjectType: typeOrganisation,
		}, gatehouse.Consistency{FullyConsistent: true})
		if err == nil && len(owners) > 0 {
			return owners[0].Subject.ID
		}
	}
	return ""
}

// attributed returns a with its organisation named, when a write through
// the raw endpoint left it out.
func (s *SpiceDB) attributed(ctx context.Context, a gatehouse.Audit, objs []gatehouse.Object, rels []gatehouse.Relationship) gatehouse.Audit {
	if a.Organisation != "" || (a.Actor == "" && a.Action == "") {
		return a
	}
	a.Organisation = s.organisationOf(ctx, objs, rels)
	return a
}
