package spicedb

import (
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// TestCallerToken covers the Gatehouse-Zed-Token header's freshness: a read
// with no consistency of its own is at least as fresh as the caller's
// token, fully consistent when this process's own latest write token is
// another one (tokens cannot be compared), and the request's own
// consistency wins.
func TestCallerToken(t *testing.T) {
	describe := func(c *v1.Consistency) string {
		switch r := c.GetRequirement().(type) {
		case *v1.Consistency_AtLeastAsFresh:
			return "at_least_as_fresh " + r.AtLeastAsFresh.GetToken()
		case *v1.Consistency_FullyConsistent:
			return "fully_consistent"
		case *v1.Consistency_MinimizeLatency:
			return "minimize_latency"
		default:
			return "none"
		}
	}
	caller := gatehouse.WithCallerToken(t.Context(), "caller")
	for _, tc := range []struct {
		name  string
		own   string
		ctx   bool
		asked gatehouse.Consistency
		want  string
	}{
		{"no_token_no_write", "", false, gatehouse.Consistency{}, "minimize_latency"},
		{"no_token_own_write", "own", false, gatehouse.Consistency{}, "at_least_as_fresh own"},
		{"token_no_write", "", true, gatehouse.Consistency{}, "at_least_as_fresh caller"},
		{"token_is_own_write", "caller", true, gatehouse.Consistency{}, "at_least_as_fresh caller"},
		{"token_and_another_own_write", "own", true, gatehouse.Consistency{}, "fully_consistent"},
		{"request_names_its_own", "own", true, gatehouse.Consistency{AtLeastAsFresh: "asked"}, "at_least_as_fresh asked"},
		{"request_minimizes_latency", "own", true, gatehouse.Consistency{MinimizeLatency: true}, "minimize_latency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(nil)
			s.fresh.token = tc.own
			ctx := t.Context()
			if tc.ctx {
				ctx = caller
			}
			if got := describe(s.consistency(ctx, tc.asked)); got != tc.want {
				t.Errorf("read: %s, want %s", got, tc.want)
			}
			if cons, _ := s.checkConsistency(ctx, tc.asked); describe(cons) != tc.want {
				t.Errorf("check: %s, want %s", describe(cons), tc.want)
			}
		})
	}
	t.Run("overlapping_own_writes", func(t *testing.T) {
		s := New(nil)
		s.fresh.token, s.fresh.unsure = "caller", true
		if got := describe(s.consistency(caller, gatehouse.Consistency{})); got != "fully_consistent" {
			t.Errorf("read: %s, want fully_consistent", got)
		}
	})
}
