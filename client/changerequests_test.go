package client_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
)

// TestLifecycleCalls: each call of a request's life (C13-C18, O7, T4)
// sends its method, path, query and body, and decodes the answer.
func TestLifecycleCalls(t *testing.T) {
	type sent struct{ method, path, query, body string }
	tests := []struct {
		name   string
		status int
		answer string
		call   func(ctx context.Context, c *client.Client) (any, error)
		want   sent
		check  func(t *testing.T, got any)
	}{
		{
			name: "EditOrganisation", status: 200, answer: `{"id":"globex","name":"Globex Group","owner":"user:grace","zedToken":"zt"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.EditOrganisation(ctx, "globex", client.EditOrganisationRequest{Name: "Globex Group"})
			},
			want: sent{"PATCH", "/v1/organisations/globex", "", `{"name":"Globex Group"}`},
			check: func(t *testing.T, got any) {
				if o := got.(*client.Organisation); o.Name != "Globex Group" || o.ZedToken != "zt" {
					t.Errorf("organisation = %+v", o)
				}
			},
		},
		{
			name: "Audit_filtered_by_actor_and_action", status: 200, answer: `{"events":[{"action":"remove_member","actor":"user:olivia"}]}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Audit(ctx, client.AuditQuery{Organisation: "brightcis", Actor: "user:olivia", Action: "remove_member"})
			},
			want: sent{"GET", "/v1/audit", "action=remove_member&actor=user%3Aolivia&organisation=brightcis", ""},
			check: func(t *testing.T, got any) {
				if l := got.(*client.AuditLog); len(l.Events) != 1 || l.Events[0].Action != "remove_member" {
					t.Errorf("audit = %+v", l)
				}
			},
		},
		{
			name: "FileChangeRequest_titled_without_an_id", status: 201,
			answer: `{"id":"cr-abc","status":"pending","tier":"main_contact","title":"New pricing page","description":"Two tiers, not three."}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.FileChangeRequest(ctx, "globex", client.NewChangeRequest{Kind: "public_facing", Title: "New pricing page", Description: "Two tiers, not three."})
			},
			want: sent{"POST", "/v1/organisations/globex/change-requests", "", `{"kind":"public_facing","title":"New pricing page","description":"Two tiers, not three."}`},
			check: func(t *testing.T, got any) {
				if cr := got.(*client.ChangeRequest); cr.ID != "cr-abc" || cr.Title != "New pricing page" || cr.Description != "Two tiers, not three." {
					t.Errorf("change request = %+v", cr)
				}
			},
		},
		{
			name: "ListChangeRequests_filtered_and_paged", status: 200,
			answer: `{"changeRequests":[{"id":"cr1","status":"pending","tier":"main_contact","authorisers":["user:mia"],"approvalsNeeded":["authorisation"]}],"cursor":"c2"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.ListChangeRequests(ctx, "globex", client.ListChangeRequestsOptions{Status: client.StatusPending, AwaitingMe: true, Limit: 10, Cursor: "c1"})
			},
			want: sent{"GET", "/v1/organisations/globex/change-requests", "awaiting=me&cursor=c1&limit=10&status=pending", ""},
			check: func(t *testing.T, got any) {
				l := got.(*client.ChangeRequestList)
				if len(l.ChangeRequests) != 1 || l.ChangeRequests[0].Authorisers[0] != "user:mia" || l.Cursor != "c2" {
					t.Errorf("list = %+v", l)
				}
			},
		},
		{
			name: "ListChangeRequests_unfiltered", status: 200, answer: `{"changeRequests":[]}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.ListChangeRequests(ctx, "globex", client.ListChangeRequestsOptions{})
			},
			want: sent{"GET", "/v1/organisations/globex/change-requests", "", ""},
		},
		{
			name: "ListExceptions", status: 200, answer: `{"exceptions":[{"user":"user:pat","kind":"public_facing","target":"page:pricing","expiresAt":"2030-01-01T00:00:00Z"}]}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.ListExceptions(ctx, "globex", client.ListExceptionsOptions{Limit: 5})
			},
			want: sent{"GET", "/v1/organisations/globex/exceptions", "limit=5", ""},
			check: func(t *testing.T, got any) {
				l := got.(*client.ExceptionList)
				if len(l.Exceptions) != 1 || l.Exceptions[0].Target != "page:pricing" || l.Exceptions[0].ExpiresAt == "" {
					t.Errorf("exceptions = %+v", l)
				}
			},
		},
		{
			name: "RejectChangeRequest", status: 200, answer: `{"id":"cr1","status":"rejected","tier":"none","closedBy":"user:tom","closedAt":"2026-01-15T09:30:00Z","reason":"frozen"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.RejectChangeRequest(ctx, "cr1", "frozen")
			},
			want: sent{"POST", "/v1/change-requests/cr1/reject", "", `{"reason":"frozen"}`},
			check: func(t *testing.T, got any) {
				cr := got.(*client.ChangeRequest)
				if cr.Status != client.StatusRejected || cr.ClosedBy != "user:tom" || cr.ClosedAt == nil || cr.Reason != "frozen" {
					t.Errorf("state = %+v", cr)
				}
			},
		},
		{
			name: "WithdrawChangeRequest", status: 200, answer: `{"id":"cr1","status":"withdrawn","closedBy":"user:pat"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.WithdrawChangeRequest(ctx, "cr1", "")
			},
			want: sent{"POST", "/v1/change-requests/cr1/withdraw", "", `{}`},
			check: func(t *testing.T, got any) {
				if cr := got.(*client.ChangeRequest); cr.Status != client.StatusWithdrawn {
					t.Errorf("state = %+v", cr)
				}
			},
		},
		{
			name: "RaiseFlags", status: 200, answer: `{"id":"cr1","status":"pending","substantialCharge":true,"approvalsNeeded":["charge"]}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.RaiseFlags(ctx, "cr1", client.FlagsRequest{SubstantialCharge: true})
			},
			want: sent{"POST", "/v1/change-requests/cr1/flags", "", `{"substantialCharge":true}`},
			check: func(t *testing.T, got any) {
				if cr := got.(*client.ChangeRequest); !cr.SubstantialCharge || cr.ApprovalsNeeded[0] != "charge" {
					t.Errorf("state = %+v", cr)
				}
			},
		},
		{
			name: "OverrideChangeRequest", status: 200, answer: `{"id":"cr1","status":"pending","overrideBy":"user:stella","overrideCategory":"outage","overrideReason":"down"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.OverrideChangeRequest(ctx, "cr1", "outage", "down")
			},
			want: sent{"POST", "/v1/change-requests/cr1/override", "", `{"category":"outage","reason":"down"}`},
			check: func(t *testing.T, got any) {
				if cr := got.(*client.ChangeRequest); cr.OverrideBy != "user:stella" || cr.OverrideCategory != "outage" {
					t.Errorf("state = %+v", cr)
				}
			},
		},
		{
			name: "ConfirmOverride_sends_no_body", status: 200, answer: `{"id":"cr1","status":"authorised","overrideBy":"user:stella","overrideConfirmedBy":"user:sue"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.ConfirmOverride(ctx, "cr1")
			},
			want: sent{"POST", "/v1/change-requests/cr1/override/confirm", "", ""},
			check: func(t *testing.T, got any) {
				if cr := got.(*client.ChangeRequest); cr.OverrideConfirmedBy != "user:sue" || cr.Status != client.StatusAuthorised {
					t.Errorf("state = %+v", cr)
				}
			},
		},
		{
			name: "SetAlwaysSubstantial_narrowed_to_a_target", status: 204,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.SetAlwaysSubstantial(ctx, "globex", "public_facing", "page:pricing", client.SubstantialRequest{Security: true})
			},
			want: sent{"PUT", "/v1/organisations/globex/substantial/public_facing", "target=page%3Apricing", `{"security":true}`},
			check: func(t *testing.T, got any) {
				if w := got.(*client.WriteResult); w.ZedToken != "ztok" {
					t.Errorf("zedToken = %q, want the header's", w.ZedToken)
				}
			},
		},
		{
			name: "UnsetAlwaysSubstantial", status: 204,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.UnsetAlwaysSubstantial(ctx, "globex", "access_permissions", "")
			},
			want: sent{"DELETE", "/v1/organisations/globex/substantial/access_permissions", "", ""},
		},
		{
			name: "SetDesignation_with_a_reason", status: 204,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.SetDesignation(ctx, "globex", "user:mia", "unavailable_contact", "on leave until March")
			},
			want: sent{"PUT", "/v1/organisations/globex/members/mia/designations/unavailable_contact", "", `{"reason":"on leave until March"}`},
		},
		{
			name: "SetDesignation_without_a_reason_sends_no_body", status: 204,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.SetDesignation(ctx, "globex", "mia", "main_contact", "")
			},
			want: sent{"PUT", "/v1/organisations/globex/members/mia/designations/main_contact", "", ""},
		},
		{
			name: "UnsetDesignation_with_a_reason", status: 204,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.UnsetDesignation(ctx, "globex", "mia", "unavailable_contact", "back")
			},
			want: sent{"DELETE", "/v1/organisations/globex/members/mia/designations/unavailable_contact", "", `{"reason":"back"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got sent
			c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = sent{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b)}
				if r.Header.Get(client.ActorHeader) != "user:alan" {
					t.Errorf("actor header = %q", r.Header.Get(client.ActorHeader))
				}
				if len(b) > 0 && r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
				}
				w.Header().Set(client.ZedTokenHeader, "ztok")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.answer)
			}, client.WithActor("alan"))
			res, err := tt.call(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if got.method != tt.want.method || got.path != tt.want.path || got.query != tt.want.query {
				t.Errorf("sent %s %s?%s, want %s %s?%s", got.method, got.path, got.query, tt.want.method, tt.want.path, tt.want.query)
			}
			if !sameJSON(got.body, tt.want.body) {
				t.Errorf("body = %s, want %s", got.body, tt.want.body)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

// sameJSON says a and b are the same JSON value, or both empty.
func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// TestDecisionsAreNotRetried: reject, withdraw, flags, override and its
// confirmation change a request; after a 503 or a connection dropped once
// sent the server may have committed them, so each is sent once, and the
// caller sees the failure rather than a misleading 409 (C13) for its own
// change.
func TestDecisionsAreNotRetried(t *testing.T) {
	calls := map[string]func(ctx context.Context, c *client.Client) error{
		"reject": func(ctx context.Context, c *client.Client) error {
			_, err := c.RejectChangeRequest(ctx, "cr1", "no")
			return err
		},
		"withdraw": func(ctx context.Context, c *client.Client) error {
			_, err := c.WithdrawChangeRequest(ctx, "cr1", "")
			return err
		},
		"flags": func(ctx context.Context, c *client.Client) error {
			_, err := c.RaiseFlags(ctx, "cr1", client.FlagsRequest{SubstantialSecurity: true})
			return err
		},
		"override": func(ctx context.Context, c *client.Client) error {
			_, err := c.OverrideChangeRequest(ctx, "cr1", "outage", "down")
			return err
		},
		"confirm": func(ctx context.Context, c *client.Client) error { _, err := c.ConfirmOverride(ctx, "cr1"); return err },
	}
	failures := map[string]func(w http.ResponseWriter){
		"503": func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			writeErr(w, http.StatusServiceUnavailable, "unavailable", "SpiceDB did not answer in time", "")
		},
		"dropped": func(w http.ResponseWriter) {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
		},
	}
	for name, call := range calls {
		for fname, fail := range failures {
			t.Run(name+"_after_"+fname, func(t *testing.T) {
				var n atomic.Int32
				c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
					if n.Add(1) > 1 {
						writeErr(w, http.StatusConflict, "conflict", "C13: change request cr1 is closed", "")
						return
					}
					fail(w)
				}, client.WithActor("tom"))
				err := call(t.Context(), c)
				if err == nil || client.ErrorCode(err) == client.ECONFLICT {
					t.Fatalf("err = %v, want the first failure", err)
				}
				if got := n.Load(); got != 1 {
					t.Errorf("the server saw %d calls, want 1", got)
				}
			})
		}
	}
}

// TestSubstantialAndDesignationsRetriedAfter503: the PUTs and DELETEs of
// this change are idempotent, so a 503 is retried.
func TestSubstantialAndDesignationsRetriedAfter503(t *testing.T) {
	var n atomic.Int32
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%2 == 1 {
			writeErr(w, http.StatusServiceUnavailable, "unavailable", "down", "")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}, client.WithActor("grace"))
	ctx := t.Context()
	if _, err := c.SetAlwaysSubstantial(ctx, "globex", "service", "", client.SubstantialRequest{Charge: true}); err != nil {
		t.Errorf("PUT substantial after a 503: %v", err)
	}
	if _, err := c.UnsetDesignation(ctx, "globex", "mia", "unavailable_contact", "back"); err != nil {
		t.Errorf("DELETE designation after a 503: %v", err)
	}
	if got := n.Load(); got != 4 {
		t.Errorf("calls = %d, want 4", got)
	}
}
