package client_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
)

// committingServer is a Gatehouse stand-in whose POST /v1/organisations
// commits the create and then fails as fail says; a second create of the
// same id is 409, as the real server answers.
func committingServer(t *testing.T, fail func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var mu sync.Mutex
	created := map[string]bool{}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mu.Lock()
		exists := created["acme"]
		created["acme"] = true
		mu.Unlock()
		if exists {
			writeErr(w, http.StatusConflict, "conflict", "organisation acme exists already", "id")
			return
		}
		fail(w)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestNoMisleadingConflict: a create the server committed and then failed
// to answer is not retried, so the caller never sees 409 "exists" for its
// own create; it sees the failure and can read the state (issue 9, item 8).
func TestNoMisleadingConflict(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(w http.ResponseWriter)
	}{
		{"503 after the commit", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			writeErr(w, http.StatusServiceUnavailable, "unavailable", "SpiceDB did not answer in time", "")
		}},
		{"connection dropped after the commit", func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := committingServer(t, tc.fail)
			c := client.New(srv.URL, "k", append(fastRetries(), client.WithActor("alice"))...)
			_, err := c.CreateOrganisation(t.Context(), "acme", "Acme")
			if err == nil {
				t.Fatal("no error")
			}
			if client.ErrorCode(err) == client.ECONFLICT {
				t.Fatalf("the create was retried into a misleading 409: %v", err)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("the server saw %d creates, want 1", n)
			}
		})
	}
}

// TestRetryWhenNeverSent: a create whose connection could not be made is
// retried (a real refused dial, then the server) and succeeds.
func TestRetryWhenNeverSent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"acme","name":"Acme","owner":"user:alice"}`)
	}))
	t.Cleanup(srv.Close)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := closed.Addr().String()
	_ = closed.Close()
	var dials atomic.Int32
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		if dials.Add(1) <= 2 {
			return d.DialContext(ctx, network, dead)
		}
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := client.New(srv.URL, "k", append(fastRetries(), client.WithActor("alice"), client.WithHTTPClient(&http.Client{Transport: tr}))...)
	org, err := c.CreateOrganisation(t.Context(), "acme", "Acme")
	if err != nil || org.ID != "acme" {
		t.Fatalf("create after two refused dials: %+v, %v", org, err)
	}
	if n := dials.Load(); n != 3 {
		t.Errorf("dials = %d, want 3", n)
	}
}

// TestRetry429HonoursRetryAfter: the rate limit refuses before any handler
// runs, so even a create is retried, after the server's Retry-After.
func TestRetry429HonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var first, second time.Time
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			writeErr(w, http.StatusTooManyRequests, "rate_limited", "slow down", "")
			return
		}
		second = time.Now()
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"acme","name":"Acme","owner":"user:alice"}`)
	}, client.WithBackoff(time.Millisecond, 2*time.Second), client.WithActor("alice"))
	if _, err := c.CreateOrganisation(t.Context(), "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", calls.Load())
	}
	if d := second.Sub(first); d < time.Second {
		t.Errorf("retried after %v, before Retry-After: 1", d)
	}
}

// TestIdempotentRetriedAfter503: a read, or a PUT, is retried after a 503.
func TestIdempotentRetriedAfter503(t *testing.T) {
	var calls atomic.Int32
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeErr(w, http.StatusServiceUnavailable, "unavailable", "down", "")
			return
		}
		if r.Method == http.MethodPost {
			_, _ = io.WriteString(w, `{"subjects":["user:alice"]}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	if _, err := c.LookupSubjects(t.Context(), client.LookupSubjectsRequest{Resource: "organisation:acme", Permission: "member", SubjectType: "user"}); err != nil {
		t.Fatal(err)
	}
	calls.Store(0)
	if _, err := c.As("alice").GrantRole(t.Context(), "acme", "bob", "administrator"); err != nil {
		t.Fatalf("PUT after a 503: %v", err)
	}
}
