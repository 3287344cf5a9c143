package workflow

import (
	"context"
	"encoding/base64"

	"github.com/gatehouse-authz/gatehouse"
)

// Paging of the lists: limits and opaque cursors.

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

// viewablePage reads the page at cursor (the Store's, opaque) of at most
// limit objects of type typ that belong to org (typ#organisation), and
// returns those actor may view (K3), checked in one bulk call, with the
// cursor of the next page ("" at the end). A page may hold fewer than
// limit, or none, while more follow.
func (s *kit) viewablePage(ctx context.Context, actor gatehouse.Subject, typ, org string, limit int, cursor string) ([]gatehouse.Object, string, error) {
	limit, err := validLimit(limit)
	if err != nil {
		return nil, "", err
	}
	page, err := s.store.ReadRelationshipsPage(ctx, gatehouse.ReadRequest{
		Filter: gatehouse.Filter{ResourceType: typ, Relation: gatehouse.RelOrganisation, SubjectType: gatehouse.TypeOrganisation, SubjectID: org},
		Limit:  limit, Cursor: cursor,
	})
	if err != nil {
		return nil, "", err
	}
	if len(page.Relationships) == 0 {
		return nil, page.Cursor, nil
	}
	checks := make([]gatehouse.CheckRequest, len(page.Relationships))
	for i, rel := range page.Relationships {
		checks[i] = gatehouse.CheckRequest{Resource: rel.Resource, Permission: gatehouse.PermView, Subject: actor}
	}
	results, _, err := s.store.CheckBulk(ctx, checks, gatehouse.Consistency{})
	if err != nil {
		return nil, "", err
	}
	var out []gatehouse.Object
	for i, r := range results {
		if r.Err != nil {
			return nil, "", r.Err
		}
		if r.Allowed {
			out = append(out, page.Relationships[i].Resource)
		}
	}
	return out, page.Cursor, nil
}
