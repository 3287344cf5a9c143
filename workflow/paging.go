package workflow

import (
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
