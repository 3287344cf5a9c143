package workflow

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// Reading change requests: one, evaluated now, and the lists of C14.

// ChangeRequest returns the current state of the change request id (item 7:
// re-evaluated now, so it escalates and returns as contacts become
// unavailable and available again). Its requester, holders of view_reports
// (change_request#view), provider staff, and whoever may give or has given
// what it needs may read it; anyone else gets EFORBIDDEN naming view.
func (s *Service) ChangeRequest(ctx context.Context, actor gatehouse.Subject, id string) (ChangeRequest, error) {
	if !gatehouse.ValidID(id) {
		return ChangeRequest{}, gatehouse.Invalid("id", "%q is not a valid change request id", id)
	}
	cr, err := s.load(ctx, gatehouse.ChangeRequestRef(id))
	if err != nil {
		return ChangeRequest{}, err
	}
	for _, p := range []struct {
		res  gatehouse.Object
		perm string
	}{{cr.object(), gatehouse.PermView}, {gatehouse.OrganisationRef(cr.Organisation), gatehouse.PermProviderStaff}} {
		ok, err := s.allowed(ctx, p.res, p.perm, actor)
		if err != nil {
			return ChangeRequest{}, err
		}
		if ok {
			return s.evaluate(ctx, cr)
		}
	}
	st, err := s.evaluate(ctx, cr)
	if err != nil {
		return ChangeRequest{}, err
	}
	if !st.involves(actor) {
		return ChangeRequest{}, gatehouse.Forbidden(actor, gatehouse.PermView, cr.object())
	}
	return st, nil
}

// statuses are the statuses a list may be filtered by.
var statuses = []string{StatusAuthorised, StatusPending, StatusBlocked, StatusRejected, StatusWithdrawn}

// awaitingPermission is the change_request permission whose
// LookupResources gives the candidates of "awaiting me": awaiting, which
// leaves out the settled requests (C14). A benchmark sets it to reject to
// measure what that saves.
var awaitingPermission = gatehouse.PermAwaiting

// ListChangeRequests lists, for actor, org's change requests they may view
// (C14): every one with view_all_change_requests (view_reports, or provider
// staff, who list any organisation's), otherwise their own; status ("" for
// any) filters by status. awaitingMe lists instead the open requests actor
// may authorise (current tier) or approve now, whether or not they may
// view the rest: SpiceDB's LookupResources on change_request#awaiting
// (reject, minus the settled requests) gives the candidates, which are
// then narrowed to org, to the current tier and to the approvals still
// needed. At most limit (default 1000, at most
// 10000) come back, in id order, with a cursor for the next page when more
// may remain. Outsiders get 403 naming list_change_requests.
func (s *Service) ListChangeRequests(ctx context.Context, actor gatehouse.Subject, org, status string, awaitingMe bool, limit int, cursor string) ([]ChangeRequest, string, error) {
	if err := validOrg("org", org); err != nil {
		return nil, "", err
	}
	if status != "" && !slices.Contains(statuses, status) {
		return nil, "", gatehouse.Invalid("status", "%q is not a status (one of %s)", status, strings.Join(statuses, ", "))
	}
	limit, after, err := pageOf(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	o := gatehouse.OrganisationRef(org)
	if err := s.require(ctx, actor, gatehouse.PermListChangeRequests, o); err != nil {
		if ok, xerr := s.orgExists(ctx, org); xerr == nil && !ok {
			return nil, "", notFound(org)
		}
		return nil, "", err
	}
	ids, err := s.requestIDs(ctx, org)
	if err != nil {
		return nil, "", err
	}
	var candidates []string
	switch {
	case awaitingMe:
		// Every request anywhere, not settled, that actor may reject is
		// one they may authorise in some tier or approve; narrowed to org
		// and to what is needed now below.
		candidates, err = s.lookupIDs(ctx, actor, awaitingPermission, ids)
	default:
		var all bool
		if all, err = s.allowed(ctx, o, gatehouse.PermViewAllChangeRequests, actor); err == nil {
			if all {
				candidates = slices.Sorted(func(yield func(string) bool) {
					for id := range ids {
						if !yield(id) {
							return
						}
					}
				})
			} else {
				candidates, err = s.lookupIDs(ctx, actor, gatehouse.PermView, ids)
			}
		}
	}
	if err != nil {
		return nil, "", err
	}
	out := []ChangeRequest{}
	for _, id := range candidates {
		if id <= after {
			continue
		}
		if len(out) == limit {
			return out, encodeCursor(out[len(out)-1].ID), nil
		}
		st, err := s.state(ctx, gatehouse.ChangeRequestRef(id))
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			continue // deleted since it was listed
		}
		if err != nil {
			return nil, "", err
		}
		if status != "" && st.Status != status {
			continue
		}
		if awaitingMe && !st.awaits(actor) {
			continue
		}
		out = append(out, st)
	}
	return out, "", nil
}

// requestIDs returns the ids of org's change requests: the relationships
// that name it as their organisation, read from SpiceDB's index.
func (s *Service) requestIDs(ctx context.Context, org string) (map[string]bool, error) {
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{
		ResourceType: gatehouse.TypeChangeRequest, Relation: gatehouse.RelOrganisation,
		SubjectType: gatehouse.TypeOrganisation, SubjectID: org,
	}, latest)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]bool, len(rels))
	for _, r := range rels {
		ids[r.Resource.ID] = true
	}
	return ids, nil
}

// lookupIDs returns, sorted, the change requests among in on which actor
// holds permission, as SpiceDB's LookupResources answers.
func (s *Service) lookupIDs(ctx context.Context, actor gatehouse.Subject, permission string, in map[string]bool) ([]string, error) {
	var out []string
	cursor := ""
	for {
		res, err := s.store.LookupResources(ctx, gatehouse.LookupResourcesRequest{
			ResourceType: gatehouse.TypeChangeRequest, Permission: permission, Subject: actor,
			Limit: lookupPage, Cursor: cursor, Consistency: latest,
		})
		if err != nil {
			return nil, err
		}
		for _, r := range res.Resources {
			if in[r.ID] {
				out = append(out, r.ID)
			}
		}
		if res.Cursor == "" {
			break
		}
		cursor = res.Cursor
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
