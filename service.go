package gatehouse

import (
	"context"
	"time"
)

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

// Require checks that actor holds permission on resource, fully
// consistent, and otherwise returns EFORBIDDEN naming the permission.
func (s *Service) Require(ctx context.Context, actor Subject, permission string, resource Object) error {
	res, err := s.store.Check(ctx, CheckRequest{Resource: resource, Permission: permission, Subject: actor, Consistency: Consistency{FullyConsistent: true}})
	if err != nil {
		return err
	}
	if !res.Allowed {
		return Forbidden(actor, permission, resource)
	}
	return nil
}

// maxAttempts bounds the retries of a write whose precondition a concurrent change broke.
const maxAttempts = 5

// retryConflicts runs attempt until it succeeds, fails with something other
// than ECONFLICT, or has tried maxAttempts times; then the conflict stands (409).
func retryConflicts(ctx context.Context, attempt func() error) error {
	var err error
	for i := range maxAttempts {
		if err = attempt(); ErrorCode(err) != ECONFLICT {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(1+i*i) * 5 * time.Millisecond):
		}
	}
	return err
}
