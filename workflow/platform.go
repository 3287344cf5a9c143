package workflow

import (
	"context"
	"errors"
	"sync"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// Platform is what runs the platform reads on live data: the checks,
// explanations, lookups, relationship reads and the schema that the API's
// check and relationship endpoints answer (any full or check key may
// call them), and, for provider staff alone (platform:provider's
// staff_member), every organisation and the trail of all of them. The API
// and the console's staff pages call the same methods, so both validate
// a request against the schema the same way (X3).
type Platform struct{ *kit }

// WithTrail returns a Service that reads the audit trail t for
// PlatformTrail; the writes record themselves (X2) whatever it is.
func (s *Service) WithTrail(t gatehouse.AuditTrail) *Service {
	k := *s.kit
	k.trail = t
	return compose(&k)
}

// IsStaff reports whether actor is provider staff, at the head revision:
// the one question the staff pages' guard and navigation ask.
func (s *Platform) IsStaff(ctx context.Context, actor gatehouse.Subject) (bool, error) {
	if actor.ID == "" {
		return false, nil
	}
	return s.allowed(ctx, gatehouse.Provider, gatehouse.PermStaffMember, actor)
}

// RequireStaff refuses anyone but provider staff: 403 naming staff_member
// on platform:provider.
func (s *Platform) RequireStaff(ctx context.Context, actor gatehouse.Subject) error {
	ok, err := s.IsStaff(ctx, actor)
	if err == nil && !ok {
		err = gatehouse.Forbidden(actor, gatehouse.PermStaffMember, gatehouse.Provider)
	}
	return err
}

// schemaIndex is schema.Text indexed once.
var schemaIndex = sync.OnceValues(func() (*schema.Index, error) { return schema.NewIndex(schema.Text) })

// KnownPermission refuses a resource type the schema does not define
// (typeField) or a permission or relation it does not give that type
// (permField): 400 naming the field.
func KnownPermission(typeField, permField, typ, perm string) error {
	idx, err := schemaIndex()
	if err != nil {
		return err
	}
	if !idx.HasType(typ) {
		return gatehouse.Invalid(typeField, "object type %q is not defined in the schema", typ)
	}
	if perm != "" && !idx.Has(typ, perm) {
		return gatehouse.Invalid(permField, "%q is not a permission or relation of %s", perm, typ)
	}
	return nil
}

// KnownSubject refuses a subject type, or a subject relation, that the
// schema does not define: 400 naming typeField or relField.
func KnownSubject(typeField, relField, typ, rel string) error {
	idx, err := schemaIndex()
	if err != nil {
		return err
	}
	if !idx.HasType(typ) {
		return gatehouse.Invalid(typeField, "subject type %q is not defined in the schema", typ)
	}
	if rel != "" && !idx.Has(typ, rel) {
		return gatehouse.Invalid(relField, "%q is not a relation of %s", rel, typ)
	}
	return nil
}

// knownCheck refuses a check the schema cannot answer.
func knownCheck(req gatehouse.CheckRequest) error {
	if err := KnownPermission("resource", "permission", req.Resource.Type, req.Permission); err != nil {
		return err
	}
	if req.Permission == "" {
		return gatehouse.Invalid("permission", "permission is required")
	}
	return KnownSubject("subject", "subject", req.Subject.Type, req.Subject.Relation)
}

// Check answers one check (POST /v1/check).
func (s *Platform) Check(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	if err := knownCheck(req); err != nil {
		return gatehouse.CheckResult{}, err
	}
	return s.store.Check(ctx, req)
}

// Explain answers a check with the chains of relationships that grant
// it (POST /v1/explain); WhyNot explains a denial.
func (s *Platform) Explain(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.Explanation, error) {
	if err := knownCheck(req); err != nil {
		return gatehouse.Explanation{}, err
	}
	return s.store.Explain(ctx, req)
}

// LookupResources lists, a page at a time, the resources of a type the
// subject holds a permission on (POST /v1/lookup/resources, K3).
func (s *Platform) LookupResources(ctx context.Context, req gatehouse.LookupResourcesRequest) (gatehouse.LookupResourcesResult, error) {
	if err := KnownPermission("resourceType", "permission", req.ResourceType, req.Permission); err != nil {
		return gatehouse.LookupResourcesResult{}, err
	}
	if err := KnownSubject("subject", "subject", req.Subject.Type, req.Subject.Relation); err != nil {
		return gatehouse.LookupResourcesResult{}, err
	}
	return s.store.LookupResources(ctx, req)
}

// LookupSubjects lists, a page at a time, the subjects that hold a
// permission on a resource (POST /v1/lookup/subjects).
func (s *Platform) LookupSubjects(ctx context.Context, req gatehouse.LookupSubjectsRequest) (gatehouse.LookupSubjectsResult, error) {
	if err := KnownPermission("resource", "permission", req.Resource.Type, req.Permission); err != nil {
		return gatehouse.LookupSubjectsResult{}, err
	}
	if err := KnownSubject("subjectType", "subjectRelation", req.SubjectType, req.SubjectRelation); err != nil {
		return gatehouse.LookupSubjectsResult{}, err
	}
	return s.store.LookupSubjectsPage(ctx, req)
}

// Relationships reads a page of the relationships a filter selects (GET
// /v1/relationships); the filter names a resource type the schema
// defines, and a relation of it when it names one.
func (s *Platform) Relationships(ctx context.Context, req gatehouse.ReadRequest) (gatehouse.ReadResult, error) {
	if req.Filter.ResourceType == "" {
		return gatehouse.ReadResult{}, gatehouse.Invalid("resource", "resource (type:id) or resourceType is required")
	}
	idx, err := schemaIndex()
	if err != nil {
		return gatehouse.ReadResult{}, err
	}
	if !idx.HasType(req.Filter.ResourceType) {
		return gatehouse.ReadResult{}, gatehouse.Invalid("resource", "object type %q is not defined in the schema", req.Filter.ResourceType)
	}
	if rel := req.Filter.Relation; rel != "" && !idx.Has(req.Filter.ResourceType, rel) {
		return gatehouse.ReadResult{}, gatehouse.Invalid("relation", "%q is not a relation of %s", rel, req.Filter.ResourceType)
	}
	return s.store.ReadRelationshipsPage(ctx, req)
}

// Schema returns the schema SpiceDB holds (GET /v1/schema).
func (s *Platform) Schema(ctx context.Context) (string, error) {
	return s.store.ReadSchema(ctx)
}

// OrganisationRow is one organisation of the platform as its staff list
// them, with what the reading actor may do to it now: rename it (O7,
// edit_details) and delete it (O3, its owner alone).
type OrganisationRow struct {
	Organisation
	MayRename, MayDelete bool
}

// AllOrganisations lists, for provider staff alone, a page of every
// organisation linked to the provider, by id, with its name, its owner
// and what actor may do to it.
func (s *Platform) AllOrganisations(ctx context.Context, actor gatehouse.Subject, limit int, cursor string) ([]OrganisationRow, string, error) {
	if err := s.RequireStaff(ctx, actor); err != nil {
		return nil, "", err
	}
	page, err := s.store.ReadRelationshipsPage(ctx, gatehouse.ReadRequest{
		Filter: gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, Relation: gatehouse.RelPlatform, SubjectType: gatehouse.TypePlatform, SubjectID: gatehouse.Provider.ID},
		Limit:  limit, Cursor: cursor, Consistency: latest,
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]OrganisationRow, len(page.Relationships))
	checks := make([]gatehouse.CheckRequest, 0, 2*len(out))
	for i, link := range page.Relationships {
		o := link.Resource
		rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: o.Type, ResourceID: o.ID}, latest)
		if err != nil {
			return nil, "", err
		}
		out[i].ID = o.ID
		for _, r := range rels {
			switch r.Relation {
			case gatehouse.RoleOwner:
				out[i].Owner = r.Subject
			case gatehouse.LabelRelation:
				if m, err := gatehouse.DecodeLabel(r.Subject.Object); err == nil {
					out[i].Name = m["name"]
				}
			}
		}
		checks = append(checks,
			gatehouse.CheckRequest{Resource: o, Permission: gatehouse.PermEditDetails, Subject: actor},
			gatehouse.CheckRequest{Resource: o, Permission: gatehouse.PermDelete, Subject: actor})
	}
	if len(checks) > 0 {
		res, _, err := s.store.CheckBulk(ctx, checks, latest)
		if err != nil {
			return nil, "", err
		}
		for i, r := range res {
			if r.Err != nil {
				return nil, "", r.Err
			}
			if i%2 == 0 {
				out[i/2].MayRename = r.Allowed
			} else {
				out[i/2].MayDelete = r.Allowed
			}
		}
	}
	return out, page.Cursor, nil
}

// errNoTrail is a Service without an audit trail asked for one.
var errNoTrail = errors.New("workflow: no audit trail to read (Service.WithTrail)")

// PlatformTrail lists, for provider staff alone, the audit events of
// every organisation and of none (X2), newest first, a page at a time,
// filtered as q says: by organisation, actor, action and dates, or, with
// q.Platform, only the events that name no organisation.
func (s *Platform) PlatformTrail(ctx context.Context, actor gatehouse.Subject, q gatehouse.AuditQuery) ([]gatehouse.AuditEvent, string, error) {
	if err := s.RequireStaff(ctx, actor); err != nil {
		return nil, "", err
	}
	if s.trail == nil {
		return nil, "", errNoTrail
	}
	if q.Organisation != "" {
		if err := validOrg("organisation", q.Organisation); err != nil {
			return nil, "", err
		}
	}
	if q.Actor != "" {
		if _, err := gatehouse.ParseSubject("actor", q.Actor); err != nil {
			return nil, "", err
		}
	}
	return s.trail.List(ctx, q)
}
