package workflow_test

import "testing"

// rule is one rule of domain.md proved against the workflows; name starts
// with its ID.
type rule struct {
	name string
	run  func(*testing.T, fixture)
}

// TestRules proves the rules of domain.md that the workflows hold, against
// a real Store (embedded SpiceDB), without HTTP. The rules share one
// SpiceDB; each builds its own organisations.
func TestRules(t *testing.T) {
	f := mustFixture(t)
	for _, group := range [][]rule{organisationRules, roleRules, contractorRules, invoiceRules, changeRequestRules, exceptionRules, lifecycleRules, approvalRules, awaitingRules, rawRules} {
		for _, r := range group {
			t.Run(r.name, func(t *testing.T) { r.run(t, f.in(t)) })
		}
	}
}
