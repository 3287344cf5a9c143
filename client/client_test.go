package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
)

// fastRetries keeps the retry tests quick without changing what they prove.
func fastRetries() []client.Option {
	return []client.Option{client.WithBackoff(time.Millisecond, 5*time.Millisecond)}
}

// MustServer starts an httptest server with h and returns a client of it.
func MustServer(tb testing.TB, h http.HandlerFunc, opts ...client.Option) *client.Client {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return client.New(srv.URL, "k1", append(fastRetries(), opts...)...)
}

func writeErr(w http.ResponseWriter, status int, code, msg, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg, "field": field}})
}

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   client.Error
	}{
		{
			"invalid_argument_names_field", 400, `{"error":{"code":"invalid_argument","message":"bad ref","field":"resource"}}`,
			client.Error{Status: 400, Code: client.EINVALID, Message: "bad ref", Field: "resource"},
		},
		{
			"permission_denied_names_permission", 403, `{"error":{"code":"permission_denied","message":"no","permission":"manage_members"}}`,
			client.Error{Status: 403, Code: client.EFORBIDDEN, Message: "no", Permission: "manage_members"},
		},
		{
			"rule_violation_names_rule", 422, `{"error":{"code":"rule_violation","message":"O6: no","rule":"O6"}}`,
			client.Error{Status: 422, Code: client.ERULE, Message: "O6: no", Rule: "O6"},
		},
		{
			"not_json_from_a_proxy", 502, `<html>bad gateway</html>`,
			client.Error{Status: 502, Code: client.EUNAVAILABLE, Message: "<html>bad gateway</html>"},
		},
		{
			"empty_body", 404, ``,
			client.Error{Status: 404, Code: client.ENOTFOUND, Message: "Not Found"},
		},
		{
			"unknown_status_without_body", 418, ``,
			client.Error{Status: 418, Code: client.EINTERNAL, Message: "I'm a teapot"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := c.Check(t.Context(), client.CheckRequest{Resource: "contractor:c1", Permission: "view", Subject: "user:alice"})
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *client.Error", err, err)
			}
			if *e != tt.want {
				t.Errorf("error = %+v, want %+v", *e, tt.want)
			}
			if got := client.ErrorCode(fmt.Errorf("wrapped: %w", err)); got != tt.want.Code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.want.Code)
			}
		})
	}
}

func TestRequestHeadersAndBody(t *testing.T) {
	var got *http.Request
	var body map[string]any
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		_ = json.NewDecoder(r.Body).Decode(&body)
		_, _ = io.WriteString(w, `{"allowed":true,"zedToken":"zt1"}`)
	}, client.WithActor("alice"))

	res, err := c.WithConsistency(client.AtLeastAsFresh("zt0")).Check(t.Context(), client.CheckRequest{Resource: "contractor:c1", Permission: "view", Subject: "user:alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Allowed || res.ZedToken != "zt1" {
		t.Errorf("result = %+v", res)
	}
	for h, want := range map[string]string{"Authorization": "Bearer k1", client.ActorHeader: "user:alice", "Content-Type": "application/json"} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	if got.Method != http.MethodPost || got.URL.Path != "/v1/check" {
		t.Errorf("request = %s %s", got.Method, got.URL.Path)
	}
	cons, _ := body["consistency"].(map[string]any)
	if cons["atLeastAsFresh"] != "zt0" {
		t.Errorf("consistency = %v, want atLeastAsFresh zt0", body["consistency"])
	}
}

func TestRequestConsistencyOverridesDefault(t *testing.T) {
	var body map[string]any
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&body)
		_, _ = io.WriteString(w, `{"resources":[]}`)
	})
	_, err := c.WithConsistency(client.AtLeastAsFresh("old")).LookupResources(t.Context(), client.LookupResourcesRequest{
		ResourceType: "contractor", Permission: "view", Subject: "user:alice", Consistency: client.FullyConsistent(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if cons, _ := body["consistency"].(map[string]any); cons["fullyConsistent"] != true || cons["atLeastAsFresh"] != nil {
		t.Errorf("consistency = %v, want fullyConsistent only", body["consistency"])
	}
}

func TestPathsEscapeAndStripUserType(t *testing.T) {
	var got []string
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := t.Context()
	if _, err := c.GrantRole(ctx, "acme", "user:bob", "security_admin", client.PreviousBecomesAlternate()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveMember(ctx, "acme", "a|b", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RevokeException(ctx, "acme", "pat", "public_facing"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"PUT /v1/organisations/acme/members/bob/roles/security_admin?previousBecomesAlternate=true",
		"DELETE /v1/organisations/acme/members/a%7Cb?",
		"DELETE /v1/organisations/acme/exceptions/pat/public_facing?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNoContentWritesCarryTheirZedToken(t *testing.T) {
	var body map[string]string
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set(client.ZedTokenHeader, "ztok")
		w.WriteHeader(http.StatusNoContent)
	}, client.WithActor("staff"))
	res, err := c.GrantRole(t.Context(), "acme", "sam", "security_admin", client.WithReason("SA and ASA away"), client.RequestedBy("dora"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ZedToken != "ztok" {
		t.Errorf("zedToken = %q, want the header's", res.ZedToken)
	}
	if body["reason"] != "SA and ASA away" || body["requestedBy"] != "user:dora" {
		t.Errorf("body = %v", body)
	}
}

// TestGrantRoleExpiresAt_T5: the ExpiresAt option sends the grant's expiry
// in RFC 3339, in UTC, and nothing else.
func TestGrantRoleExpiresAt_T5(t *testing.T) {
	var body map[string]string
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.WriteHeader(http.StatusNoContent)
	}, client.WithActor("olivia"))
	at := time.Date(2027, 1, 31, 1, 0, 0, 0, time.FixedZone("CET", 3600))
	if _, err := c.GrantRole(t.Context(), "brightcis", "tina", "cis_processor", client.ExpiresAt(at)); err != nil {
		t.Fatal(err)
	}
	if len(body) != 1 || body["expiresAt"] != "2027-01-31T00:00:00Z" {
		t.Errorf("body = %v, want expiresAt 2027-01-31T00:00:00Z alone", body)
	}
}

func TestRetryOn503HonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var first, second time.Time
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
		switch calls.Add(1) {
		case 1:
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			writeErr(w, http.StatusServiceUnavailable, "unavailable", "SpiceDB is unreachable", "")
		default:
			second = time.Now()
			_, _ = io.WriteString(w, `{"allowed":false}`)
		}
	}, client.WithBackoff(time.Millisecond, 2*time.Second))
	res, err := c.Check(t.Context(), client.CheckRequest{Resource: "contractor:c1", Permission: "view", Subject: "user:alice"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Allowed || calls.Load() != 2 {
		t.Errorf("allowed = %v after %d calls, want false after 2", res.Allowed, calls.Load())
	}
	if d := second.Sub(first); d < time.Second {
		t.Errorf("retried after %v, before Retry-After: 1", d)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	var calls atomic.Int32
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "down", "")
	}, client.WithRetries(3))
	_, err := c.Schema(t.Context())
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want the 503", err)
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("calls = %d, want 4 (1 + 3 retries)", n)
	}
}

func TestRetryAfterLongerThanMaxBackoffIsNotWaited(t *testing.T) {
	var calls atomic.Int32
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "120")
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "down", "")
	})
	_, err := c.Schema(t.Context())
	var e *client.Error
	if !errors.As(err, &e) || e.RetryAfter != 120*time.Second {
		t.Fatalf("err = %#v, want the 503 with RetryAfter 2m", err)
	}
	if calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", calls.Load())
	}
}

func TestNoRetryOnOtherErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 422, 500} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var calls atomic.Int32
			c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
				calls.Add(1)
				writeErr(w, status, "x", "no", "")
			})
			if _, err := c.Schema(t.Context()); err == nil {
				t.Fatal("no error")
			}
			if calls.Load() != 1 {
				t.Errorf("calls = %d, want 1", calls.Load())
			}
		})
	}
}

func TestContextEndsTheRetries(t *testing.T) {
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "2")
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "down", "")
	}, client.WithBackoff(time.Millisecond, 10*time.Second))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Schema(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if client.ErrorCode(err) != client.EUNAVAILABLE {
		t.Errorf("err = %v, want it to carry the last 503 too", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("returned after %v, want at the deadline", time.Since(start))
	}
}

// flakyTransport fails the first n round trips with err, then passes.
type flakyTransport struct {
	n     atomic.Int32
	err   error
	calls atomic.Int32
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls.Add(1)
	if f.n.Add(-1) >= 0 {
		return nil, f.err
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestTransportErrors(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	tests := []struct {
		name      string
		err       error
		call      func(context.Context, *client.Client) error
		wantCalls int32
		wantErr   bool
	}{
		{"refused_read_retried", refused, readSchema, 3, false},
		{"refused_write_retried_never_sent", refused, createOrg, 3, false},
		{"reset_read_retried", reset, readSchema, 3, false},
		{"reset_create_not_retried", reset, createOrg, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					w.WriteHeader(http.StatusCreated)
					_, _ = io.WriteString(w, `{"id":"acme","name":"Acme","owner":"user:alice"}`)
					return
				}
				_, _ = io.WriteString(w, `{"schema":"definition user {}"}`)
			}))
			t.Cleanup(srv.Close)
			ft := &flakyTransport{err: tt.err}
			ft.n.Store(2)
			c := client.New(srv.URL, "k", append(fastRetries(), client.WithHTTPClient(&http.Client{Transport: ft}), client.WithActor("alice"))...)
			err := tt.call(t.Context(), c)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			if ft.calls.Load() != tt.wantCalls {
				t.Errorf("calls = %d, want %d", ft.calls.Load(), tt.wantCalls)
			}
		})
	}
}

func readSchema(ctx context.Context, c *client.Client) error {
	_, err := c.Schema(ctx)
	return err
}

func createOrg(ctx context.Context, c *client.Client) error {
	_, err := c.CreateOrganisation(ctx, "acme", "Acme")
	return err
}

func TestBulkItemErrors(t *testing.T) {
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"results":[{"allowed":true},{"error":{"code":"invalid_argument","message":"bad","field":"items[1].resource"}}],"zedToken":"z"}`)
	})
	res, err := c.CheckBulk(t.Context(), []client.CheckRequest{{}, {}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || !res.Results[0].Allowed || res.Results[0].Error != nil {
		t.Fatalf("results = %+v", res.Results)
	}
	if e := res.Results[1].Error; e == nil || e.Code != client.EINVALID || e.Field != "items[1].resource" {
		t.Errorf("item 1 error = %+v", e)
	}
}

func TestAllResourcesFollowsCursor(t *testing.T) {
	var bodies []map[string]any
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		bodies = append(bodies, b)
		if b["cursor"] == nil {
			_, _ = io.WriteString(w, `{"resources":["contractor:c1","contractor:c2"],"cursor":"p2","zedToken":"z1"}`)
			return
		}
		_, _ = io.WriteString(w, `{"resources":["contractor:c3"],"zedToken":"z2"}`)
	})
	var got []string
	for r, err := range c.AllResources(t.Context(), client.LookupResourcesRequest{ResourceType: "contractor", Permission: "view", Subject: "user:alice", Limit: client.PageSize(2)}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if strings.Join(got, ",") != "contractor:c1,contractor:c2,contractor:c3" {
		t.Errorf("resources = %v", got)
	}
	if cons, _ := bodies[1]["consistency"].(map[string]any); cons["atLeastAsFresh"] != "z1" {
		t.Errorf("second page consistency = %v, want atLeastAsFresh z1", bodies[1]["consistency"])
	}
}

func TestParseRetryAfterDate(t *testing.T) {
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "down", "")
	}, client.WithRetries(0))
	_, err := c.Schema(t.Context())
	var e *client.Error
	if !errors.As(err, &e) || e.RetryAfter < 80*time.Second || e.RetryAfter > 91*time.Second {
		t.Errorf("err = %#v, want RetryAfter about 90s", err)
	}
}

// TestContractorAbilitiesAndReasons proves the calls of GET
// /v1/contractors/{id} and GET /v1/abilities, and that revoke, remove and
// delete contractor send their reason in a body, and none without one.
func TestContractorAbilitiesAndReasons(t *testing.T) {
	var got []string
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery+" "+strings.TrimSpace(string(body)))
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/contractors/"):
			_, _ = io.WriteString(w, `{"id":"c1","organisation":"acme","name":"Northwind","adminOnly":true}`)
		case r.Method == http.MethodGet:
			_, _ = io.WriteString(w, `{"object":"change_request:cr1","permissions":{"view":true},"actions":{"authoriseChangeRequest":true}}`)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	ctx := t.Context()
	k, err := c.GetContractor(ctx, "c1")
	if err != nil || k.ID != "c1" || k.Organisation != "acme" || k.Name != "Northwind" || !k.AdminOnly {
		t.Fatalf("GetContractor = %+v, %v", k, err)
	}
	ab, err := c.Abilities(ctx, "change_request:cr1")
	if err != nil || ab.Object != "change_request:cr1" || !ab.Permissions["view"] || !ab.Actions["authoriseChangeRequest"] {
		t.Fatalf("Abilities = %+v, %v", ab, err)
	}
	if _, err := c.RevokeRole(ctx, "acme", "bob", "it_admin", "left"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveMember(ctx, "acme", "bob", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteContractor(ctx, "c1", "a duplicate"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /v1/contractors/c1? ",
		"GET /v1/abilities?object=change_request%3Acr1 ",
		`DELETE /v1/organisations/acme/members/bob/roles/it_admin? {"reason":"left"}`,
		"DELETE /v1/organisations/acme/members/bob? ",
		`DELETE /v1/contractors/c1? {"reason":"a duplicate"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
