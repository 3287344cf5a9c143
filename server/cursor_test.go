package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCursorTampering pages each list one item at a time and sends its
// cursor back edited: a byte changed, cut short, or re-encoded to start
// somewhere else. Each is 400 naming the cursor (a cursor is opaque and
// signed, api.md); the cursor as it was given still continues the list.
func TestCursorTampering(t *testing.T) {
	a := MustSeededAPI(t)
	// Two exceptions: a second page of exceptions and of globex's trail.
	for _, body := range []map[string]any{
		{"user": "user:pat", "kind": "public_facing", "reason": "pat runs the website"},
		{"user": "user:dan", "kind": "service", "reason": "dan runs the service desk"},
	} {
		if r := a.Do("POST", "/v1/organisations/globex/exceptions", "user:mia", body); r.Status/100 != 2 {
			t.Fatalf("granting an exception: %d %s", r.Status, r.Raw)
		}
	}
	var lists []func(cursor string) Response
	for _, l := range []struct {
		name string
		page func(cursor string) Response
	}{
		{"GET /v1/relationships", func(cursor string) Response {
			return a.Do("GET", "/v1/relationships?resource=organisation:acme&limit=1&cursor="+url.QueryEscape(cursor), "", nil)
		}},
		{"lookup/resources", func(cursor string) Response {
			return a.Do("POST", "/v1/lookup/resources", "", map[string]any{"resourceType": "contractor", "permission": "view", "subject": "user:carla", "limit": 1, "cursor": cursor})
		}},
		{"lookup/subjects", func(cursor string) Response {
			return a.Do("POST", "/v1/lookup/subjects", "", map[string]any{"resource": "organisation:acme", "permission": "member", "subjectType": "user", "limit": 1, "cursor": cursor})
		}},
		{"GET /v1/audit", func(cursor string) Response {
			return a.Do("GET", "/v1/audit?organisation=globex&limit=1&cursor="+url.QueryEscape(cursor), "", nil)
		}},
		{"change requests", func(cursor string) Response {
			return a.Do("GET", "/v1/organisations/globex/change-requests?limit=1&cursor="+url.QueryEscape(cursor), "user:pat", nil)
		}},
		{"exceptions", func(cursor string) Response {
			return a.Do("GET", "/v1/organisations/globex/exceptions?limit=1&cursor="+url.QueryEscape(cursor), "user:mia", nil)
		}},
		{"access review", func(cursor string) Response {
			return a.Do("GET", "/v1/organisations/brightcis/access?limit=1&cursor="+url.QueryEscape(cursor), "user:olivia", nil)
		}},
	} {
		lists = append(lists, l.page)
		t.Run(l.name, func(t *testing.T) {
			first := l.page("")
			cursor := str(first.Body["cursor"])
			if first.Status != http.StatusOK || cursor == "" {
				t.Fatalf("first page: %d %s, want 200 and a cursor", first.Status, first.Raw)
			}
			for name, edited := range map[string]string{
				"a byte changed": flip(cursor, len(cursor)/2),
				"cut short":      cursor[:len(cursor)-4],
				"re-encoded":     reencoded(t, cursor),
			} {
				r := l.page(edited)
				if r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_argument" || r.ErrorField() != "cursor" {
					t.Errorf("cursor %s: %d %s, want 400 invalid_argument naming cursor", name, r.Status, r.Raw)
				}
			}
			if r := l.page(cursor); r.Status != http.StatusOK {
				t.Errorf("the cursor as given: %d %s", r.Status, r.Raw)
			}
		})
	}
	// A cursor of one list is refused by another: the audit trail's,
	// given to the exceptions list.
	audit := str(lists[3]("").Body["cursor"])
	if r := lists[5](audit); r.Status != http.StatusBadRequest || r.ErrorField() != "cursor" {
		t.Errorf("the audit trail's cursor given to the exceptions list: %d %s, want 400 naming cursor", r.Status, r.Raw)
	}
}

// flip changes the character at i of a base64url cursor to another one.
func flip(cursor string, i int) string {
	c := byte('A')
	if cursor[i] == c {
		c = 'B'
	}
	return cursor[:i] + string(c) + cursor[i+1:]
}

// reencoded is cursor with its JSON (the base64url text before any '.')
// edited as a caller could: where it continues from dropped, so that it
// starts again from the first item; a cursor that names a position is
// made to name another.
func reencoded(t *testing.T, cursor string) string {
	t.Helper()
	body, rest, _ := strings.Cut(cursor, ".")
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatalf("cursor %q is not base64url: %v", cursor, err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		// A position (the last id, an event's place): the first instead.
		return base64.RawURLEncoding.EncodeToString([]byte("0")) + "." + rest
	}
	delete(fields, "a")
	delete(fields, "s")
	b, err = json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	if rest != "" {
		rest = "." + rest
	}
	return base64.RawURLEncoding.EncodeToString(b) + rest
}
