package spicedb

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// TestEngineDeadline: a check by the in-process engine gets the embedded
// SpiceDB's Timeout, and one that outlives it is unavailable with a
// Retry-After, as a remote call is.
func TestEngineDeadline(t *testing.T) {
	emb, err := StartEmbedded(t.Context(), EmbeddedConfig{Datastore: "memory", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	s := New(emb.Conn, emb.Options()...)
	if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	req := gatehouse.CheckRequest{Resource: gatehouse.Object{Type: "contractor", ID: "c1"}, Permission: "view", Subject: gatehouse.User("a")}
	if _, err := s.Check(t.Context(), req); err != nil {
		t.Fatalf("check within the timeout: %v", err)
	}
	emb.Checker.timeout = time.Nanosecond
	// Another subject: the first answer is cached and needs no engine.
	req.Subject = gatehouse.User("b")
	_, err = s.Check(t.Context(), req)
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Code != gatehouse.EUNAVAILABLE || ge.RetryAfter == 0 {
		t.Fatalf("check past the timeout: %v, want unavailable with a Retry-After", err)
	}
}
