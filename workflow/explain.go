package workflow

import (
	"context"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// Why is a check explained to a person: each chain of relationships that
// grants it (Store.Explain), and for a denial the schema's line that
// defines the permission on the resource's type, when there is one.
type Why struct {
	gatehouse.Explanation
	Definition string
}

// Why explains req to actor: anyone may ask about themselves; only
// provider staff (staff_member on the platform) about another subject,
// else 403 naming staff_member. A permission name SpiceDB would refuse
// is 400 naming permission.
func (s *Service) Why(ctx context.Context, actor gatehouse.Subject, req gatehouse.CheckRequest) (Why, error) {
	if !gatehouse.ValidRelation(req.Permission) {
		return Why{}, gatehouse.Invalid("permission", "%q is not a valid permission name", req.Permission)
	}
	if req.Subject != actor {
		if err := s.require(ctx, actor, gatehouse.PermStaffMember, gatehouse.Provider); err != nil {
			return Why{}, err
		}
	}
	ex, err := s.store.Explain(ctx, req)
	if err != nil {
		return Why{}, err
	}
	out := Why{Explanation: ex}
	if !ex.Allowed {
		if text, err := s.store.ReadSchema(ctx); err == nil {
			out.Definition = definitionLine(text, req.Resource.Type, req.Permission)
		}
	}
	return out, nil
}

// definitionLine returns the schema line that defines permission (or
// relation) name on type typ, trimmed, or "" when there is none.
func definitionLine(schema, typ, name string) string {
	in := false
	for line := range strings.Lines(schema) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "definition ") {
			in = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t, "definition "), "{")) == typ
			continue
		}
		if in && (strings.HasPrefix(t, "permission "+name+" ") || strings.HasPrefix(t, "relation "+name+":")) {
			return t
		}
	}
	return ""
}

// Insider reports whether actor may be told what holds on res, as an
// explanation of a refusal tells it (X1: what holds on an organisation's
// objects is its team's business): provider staff, or a member of the
// organisation res is or belongs to.
func (s *Service) Insider(ctx context.Context, actor gatehouse.Subject, res gatehouse.Object) (bool, error) {
	if ok, err := s.allowed(ctx, gatehouse.Provider, gatehouse.PermStaffMember, actor); err != nil || ok {
		return ok, err
	}
	owners := map[gatehouse.Object]string{}
	if gatehouse.Owned(res.Type) {
		links, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{
			ResourceType: res.Type, ResourceID: res.ID, Relation: gatehouse.RelOrganisation, SubjectType: gatehouse.TypeOrganisation,
		}, latest)
		if err != nil || len(links) == 0 {
			return false, err
		}
		owners[res] = links[0].Subject.ID
	}
	org := gatehouse.OrganisationOf(res, owners)
	if org == "" {
		return false, nil
	}
	return s.allowed(ctx, gatehouse.OrganisationRef(org), gatehouse.PermMember, actor)
}

// RequireTrail is the guard of organisation org's audit trail for a
// person (X2): only holders of view_reports read it; anyone else gets
// 403 naming it.
func (s *Service) RequireTrail(ctx context.Context, actor gatehouse.Subject, org string) error {
	if err := validOrg("org", org); err != nil {
		return err
	}
	return s.require(ctx, actor, gatehouse.PermViewReports, gatehouse.OrganisationRef(org))
}
