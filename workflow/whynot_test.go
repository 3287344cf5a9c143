package workflow_test

import (
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/seed"
)

// TestWhyNotBounds proves that a why-not search is bounded like Explain
// (X6): past its count of ways, its depth or its time it answers what it
// weighed so far with Truncated, never an error.
func TestWhyNotBounds(t *testing.T) {
	f := mustFixture(t)
	if err := seed.Load(t.Context(), f.store); err != nil {
		t.Fatal(err)
	}
	req := gatehouse.CheckRequest{Resource: gatehouse.ContractorRef("c3"), Permission: gatehouse.PermView, Subject: gatehouse.User("carla")}
	ex, err := f.store.Explain(t.Context(), req)
	if err != nil || ex.Allowed {
		t.Fatalf("explain: %+v %v", ex, err)
	}
	full, err := f.svc.WhyNot(t.Context(), req, ex.ZedToken)
	if err != nil || full.Truncated || len(full.Ways) != 6 {
		t.Fatalf("unbounded: %d ways, truncated %v, %v; want 6 ways (owner, SA, ASA, administrator, it_manager, cis_processor)", len(full.Ways), full.Truncated, err)
	}
	for _, c := range []struct {
		name   string
		depth  int
		d      time.Duration
		ways   int
		atMost int
	}{
		{"ways", 32, 3 * time.Second, 2, 2},
		{"depth", 2, 3 * time.Second, 100, 5},
		{"time", 32, time.Nanosecond, 100, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := f.svc.WhyNotBounded(t.Context(), req, ex.ZedToken, c.depth, c.d, c.ways)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Truncated || len(got.Ways) > c.atMost {
				t.Errorf("%d ways, truncated %v; want at most %d, truncated", len(got.Ways), got.Truncated, c.atMost)
			}
		})
	}
}
