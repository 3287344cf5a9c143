package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/server"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// page is one page of a list: its items and the cursor that continues it.
type page struct {
	items  []string
	cursor string
}

// TestBoundedReads pages through every bounded list of the checking and
// relationship API: at most limit items a page, a cursor while more
// remain and none after the last page, every item exactly once, and a
// write between pages does not shift them (api.md: "Reads are bounded").
func TestBoundedReads(t *testing.T) {
	a := MustAPI(t)
	var rels, users, contractors []string
	for i := range 25 {
		u := fmt.Sprintf("user:u%02d", i)
		c := fmt.Sprintf("contractor:c%02d", i)
		rels = append(rels, "organisation:acme#administrator@"+u, c+"#organisation@organisation:acme")
		users, contractors = append(users, u), append(contractors, c)
	}
	a.Touch(rels...)
	admins := make([]string, 0, len(users))
	for _, u := range users {
		admins = append(admins, "organisation:acme#administrator@"+u)
	}

	lists := []struct {
		name  string
		want  []string
		fetch func(limit int, cursor string) page
	}{
		{"GET /v1/relationships", admins, func(limit int, cursor string) page {
			r := a.Do("GET", fmt.Sprintf("/v1/relationships?resource=organisation:acme&relation=administrator&limit=%d&cursor=%s", limit, url.QueryEscape(cursor)), "", nil)
			return mustPage(t, r, "relationships")
		}},
		{"lookup/subjects", users, func(limit int, cursor string) page {
			r := a.Do("POST", "/v1/lookup/subjects", "", map[string]any{"resource": "organisation:acme", "permission": "member", "subjectType": "user", "limit": limit, "cursor": cursor})
			return mustPage(t, r, "subjects")
		}},
		{"lookup/resources", contractors, func(limit int, cursor string) page {
			r := a.Do("POST", "/v1/lookup/resources", "", map[string]any{"resourceType": "contractor", "permission": "view", "subject": "user:u00", "limit": limit, "cursor": cursor})
			return mustPage(t, r, "resources")
		}},
	}
	for _, l := range lists {
		for _, limit := range []int{1, 10, 25, 10000} {
			t.Run(fmt.Sprintf("%s/limit_%d", l.name, limit), func(t *testing.T) {
				var got []string
				cursor := ""
				for n := 0; ; n++ {
					p := l.fetch(limit, cursor)
					if len(p.items) > limit || (p.cursor != "" && len(p.items) != limit) {
						t.Fatalf("page %d: %d items with cursor %q at limit %d", n, len(p.items), p.cursor, limit)
					}
					got = append(got, p.items...)
					if p.cursor == "" {
						break
					}
					if n == 0 {
						// Later pages read the first page's snapshot.
						a.Touch(fmt.Sprintf("organisation:acme#administrator@user:a_late%d", limit), fmt.Sprintf("contractor:a_late%d#organisation@organisation:acme", limit))
						a.Delete(fmt.Sprintf("organisation:acme#administrator@user:a_late%d", limit), fmt.Sprintf("contractor:a_late%d#organisation@organisation:acme", limit))
					}
					cursor = p.cursor
				}
				slices.Sort(got)
				if !slices.Equal(got, l.want) {
					t.Errorf("pages hold\n %v\nwant\n %v", got, l.want)
				}
			})
		}
	}

	t.Run("a cursor continues only its own request", func(t *testing.T) {
		first := lists[0].fetch(2, "")
		r := a.Do("GET", "/v1/relationships?resource=organisation:acme&relation=owner&cursor="+url.QueryEscape(first.cursor), "", nil)
		if r.Status != 400 || r.ErrorField() != "cursor" {
			t.Errorf("read with another read's cursor: %d %s", r.Status, r.Raw)
		}
		first = lists[1].fetch(2, "")
		r = a.Do("POST", "/v1/lookup/subjects", "", map[string]any{"resource": "organisation:acme", "permission": "administrator", "subjectType": "user", "cursor": first.cursor})
		if r.Status != 400 || r.ErrorField() != "cursor" {
			t.Errorf("lookup with another lookup's cursor: %d %s", r.Status, r.Raw)
		}
	})
}

// TestDefaultLimit: a list that names no limit answers 1000 items and a cursor.
func TestDefaultLimit(t *testing.T) {
	a := MustAPI(t)
	var rels []string
	for i := range 1001 {
		rels = append(rels, fmt.Sprintf("contractor:d%04d#organisation@organisation:acme", i))
	}
	a.Touch(rels[:1000]...)
	a.Touch(rels[1000:]...)
	p := mustPage(t, a.Do("GET", "/v1/relationships?resourceType=contractor", "", nil), "relationships")
	if len(p.items) != 1000 || p.cursor == "" {
		t.Fatalf("default page: %d items, cursor %q; want 1000 and a cursor", len(p.items), p.cursor)
	}
	last := mustPage(t, a.Do("GET", "/v1/relationships?resourceType=contractor&cursor="+url.QueryEscape(p.cursor), "", nil), "relationships")
	if len(last.items) != 1 || last.cursor != "" {
		t.Fatalf("last page: %d items, cursor %q; want 1 and none", len(last.items), last.cursor)
	}
	if got := len(a.readAll("resourceType=contractor")); got != 1001 {
		t.Fatalf("every page: %d relationships, want 1001", got)
	}
}

// mustPage reads a 200 list answer: the strings under key and the cursor.
func mustPage(t *testing.T, r Response, key string) page {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	return page{items: strs(r.Body[key]), cursor: str(r.Body["cursor"])}
}

// TestEmbeddedDeadline: every call to the embedded SpiceDB's in-memory
// gRPC server gets GATEHOUSE_SPICEDB_TIMEOUT as a remote one does; one
// that outlives it is 503 with Retry-After. (spicedb's
// TestEngineDeadline covers the in-process engine, which needs a schema
// this SpiceDB cannot write in a nanosecond.)
func TestEmbeddedDeadline(t *testing.T) {
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: "memory", Timeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	store := spicedb.New(emb.Conn, emb.Options()...)
	idx, err := schema.NewIndex(schema.Text)
	if err != nil {
		t.Fatal(err)
	}
	var ready atomic.Bool
	ready.Store(true)
	srv := httptest.NewServer(server.New(server.Deps{
		Store: store, Workflow: workflow.New(store), Schema: idx, Keys: []string{testKey},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: server.NewMetrics(), Ready: &ready,
	}))
	t.Cleanup(srv.Close)
	a := &API{t: t, URL: srv.URL, Store: store, hc: validatingClient(t, srv.URL)}
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"check at a token (gRPC)", "POST", "/v1/check", map[string]any{"resource": "contractor:c1", "permission": "view", "subject": "user:a", "consistency": map[string]any{"atLeastAsFresh": "GhUKEzE3NjAwMDAwMDAwMDAwMDAwMDA="}}},
		{"lookup subjects (stream)", "POST", "/v1/lookup/subjects", map[string]any{"resource": "organisation:acme", "permission": "member", "subjectType": "user"}},
		{"read relationships (stream)", "GET", "/v1/relationships?resource=organisation:acme", nil},
		{"write", "POST", "/v1/relationships", map[string]any{"touch": []string{"organisation:acme#administrator@user:a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Do(tc.method, tc.path, "", tc.body)
			if r.Status != 503 || r.ErrorCode() != "unavailable" || r.Header.Get("Retry-After") == "" {
				t.Errorf("got %d %s, Retry-After %q; want 503 unavailable with Retry-After: %s", r.Status, r.ErrorCode(), r.Header.Get("Retry-After"), r.Raw)
			}
		})
	}
}
