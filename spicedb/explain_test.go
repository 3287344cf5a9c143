package spicedb

import (
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// TestExplainBounded: an explanation whose search passes its bound in
// depth, time or number of chains says Truncated and keeps the check's
// answer; within the bounds it is whole.
func TestExplainBounded(t *testing.T) {
	emb, err := StartEmbedded(t.Context(), EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	s := New(emb.Conn, emb.Options()...)
	if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	var w gatehouse.Write
	for _, r := range []string{"organisation:acme#administrator@user:ada", "organisation:acme#finance_admin@user:ada", "invoice:inv1#organisation@organisation:acme"} {
		rel, err := gatehouse.ParseRelationship("r", r)
		if err != nil {
			t.Fatal(err)
		}
		w.Updates = append(w.Updates, gatehouse.Update{Op: gatehouse.Touch, Relationship: rel})
	}
	if _, err := s.Write(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	req := gatehouse.CheckRequest{Resource: gatehouse.Object{Type: "invoice", ID: "inv1"}, Permission: "view", Subject: gatehouse.User("ada")}
	whole, err := s.Explain(t.Context(), req)
	if err != nil || !whole.Allowed || whole.Truncated || len(whole.Paths) < 2 {
		t.Fatalf("unbounded explain: %+v, %v; want allowed, whole, two chains or more", whole, err)
	}
	for _, tc := range []struct {
		name     string
		b        explainBounds
		maxPaths int
	}{
		{"depth", explainBounds{depth: 0, time: time.Minute, paths: 100}, len(whole.Paths) - 1},
		{"time", explainBounds{depth: 32, time: time.Nanosecond, paths: 100}, 0},
		{"chains", explainBounds{depth: 32, time: time.Minute, paths: 1}, 1},
	} {
		got, err := s.explain(t.Context(), req, tc.b)
		if err != nil || !got.Allowed || !got.Truncated || len(got.Paths) > tc.maxPaths {
			t.Errorf("explain bounded in %s: %+v, %v; want allowed, truncated, at most %d chains", tc.name, got, err, tc.maxPaths)
		}
	}
}
