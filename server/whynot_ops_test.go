package server

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse/workflow"
)

// TestWhyNotGrantOpsAreRoutes proves that every operation a why-not grant
// may name (X6) is a route of the table, so its endpoint is never left out.
func TestWhyNotGrantOpsAreRoutes(t *testing.T) {
	ids := map[string]bool{}
	for _, rt := range api {
		ids[rt.id] = true
	}
	for _, op := range workflow.GrantOps() {
		if !ids[op] {
			t.Errorf("why-not names operation %q, which no route serves", op)
		}
	}
}
