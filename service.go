package gatehouse

import "time"

// Service holds the rules of domain.md that need more than one
// relationship: the organisation workflows (O, S, R, T, K) and change
// authorisation (C). Each checks the actor's permission in SpiceDB before it
// writes, and holds invariants with write preconditions, never a read
// followed by a write.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store, now: time.Now}
}
