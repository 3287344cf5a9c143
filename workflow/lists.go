package workflow

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// The bounds of a list (api.md: default 1000, at most 10000).
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
)

// lookupPage is the page size of the lookups behind a list: SpiceDB's
// largest (1000).
const lookupPage = 1000

// validLimit applies the default and refuses a limit out of bounds.
func validLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultLimit, nil
	case limit < 0 || limit > MaxLimit:
		return 0, gatehouse.Invalid("limit", "limit must be between 1 and %d", MaxLimit)
	}
	return limit, nil
}

// encodeCursor and decodeCursor make the key of the last item listed an
// opaque cursor: the next page starts after it.
func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", gatehouse.Invalid("cursor", "cursor is not one this server returned")
	}
	return string(b), nil
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

// Awaits reports whether st is open and actor may give something it
// needs now: authorise it in its current tier, or give an approval it
// still needs; exactly who may authorise or reject it (C4, C13), and
// whose "awaiting me" lists it (C14). An adapter offers those actions by it.
func (st ChangeRequest) Awaits(actor gatehouse.Subject) bool { return st.awaits(actor) }

// awaits reports whether st is open and actor may give something it
// needs now: its authorisation in the current tier, or an approval (C14).
func (st ChangeRequest) awaits(actor gatehouse.Subject) bool {
	if !st.Open() {
		return false
	}
	if st.Needs(NeedAuthorisation) && st.Tier != TierNone && slices.Contains(st.Authorisers, actor) {
		return true
	}
	for need, subs := range st.approvers {
		if st.Needs(need) && slices.Contains(subs, actor) {
			return true
		}
	}
	return false
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

// ListedException is one exception as ListExceptions shows it (C6, C14).
type ListedException struct {
	User      gatehouse.Subject
	Kind      string
	Target    string
	ExpiresAt *time.Time
}

// key orders exceptions and makes their cursor.
func (e ListedException) key() string { return e.User.String() + "|" + e.Kind + "|" + e.Target }

// ListExceptions lists, for actor, a main contact of org or provider
// staff, org's exceptions that have not expired (C14, C6), ordered by
// user, kind and target, at most limit (default 1000, at most 10000), with
// a cursor for the next page when more remain. Anyone else gets 403
// naming view_exceptions.
func (s *Service) ListExceptions(ctx context.Context, actor gatehouse.Subject, org string, limit int, cursor string) ([]ListedException, string, error) {
	if err := validOrg("org", org); err != nil {
		return nil, "", err
	}
	limit, after, err := pageOf(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	if err := s.require(ctx, actor, gatehouse.PermViewExceptions, gatehouse.OrganisationRef(org)); err != nil {
		if ok, xerr := s.orgExists(ctx, org); xerr == nil && !ok {
			return nil, "", notFound(org)
		}
		return nil, "", err
	}
	var all []ListedException
	for _, typ := range []string{gatehouse.TypeChangeKind, gatehouse.TypeChangeTarget} {
		rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: typ, IDPrefix: org + "/", Relation: gatehouse.RelException}, latest)
		if err != nil {
			return nil, "", err
		}
		for _, r := range rels {
			// <org>/<kind> or <org>/<kind>/<type>/<id>
			parts := strings.SplitN(r.Resource.ID, "/", 4)
			if len(parts) < 2 || parts[0] != org {
				continue
			}
			e := ListedException{User: r.Subject, Kind: parts[1], ExpiresAt: r.ExpiresAt}
			if len(parts) == 4 {
				e.Target = parts[2] + ":" + parts[3]
			}
			all = append(all, e)
		}
	}
	slices.SortFunc(all, func(a, b ListedException) int { return strings.Compare(a.key(), b.key()) })
	out := []ListedException{}
	for _, e := range all {
		if e.key() <= after {
			continue
		}
		if len(out) == limit {
			return out, encodeCursor(out[len(out)-1].key()), nil
		}
		out = append(out, e)
	}
	return out, "", nil
}

// pageOf checks a list's limit (validLimit) and decodes its cursor into
// the key the page starts after ("" for the first page).
func pageOf(limit int, cursor string) (int, string, error) {
	limit, err := validLimit(limit)
	if err != nil || cursor == "" {
		return limit, "", err
	}
	after, err := decodeCursor(cursor)
	return limit, after, err
}
