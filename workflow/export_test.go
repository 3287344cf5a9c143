package workflow

import (
	"context"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// UseAwaitingPermission makes "awaiting me" look up permission instead of
// awaiting until the returned function restores it: benchmarks compare
// with reject, which cannot leave out settled requests (C14).
func UseAwaitingPermission(permission string) (restore func()) {
	old := awaitingPermission
	awaitingPermission = permission
	return func() { awaitingPermission = old }
}

// WhyNotBounded is WhyNot with its bounds chosen: depth, time and ways.
func (s *Service) WhyNotBounded(ctx context.Context, req gatehouse.CheckRequest, zedToken string, depth int, d time.Duration, ways int) (WhyNot, error) {
	return s.whyNot(ctx, req, zedToken, whyNotBounds{depth: depth, time: d, ways: ways})
}

// PermissionsOf lists the permissions of typ in the compiled schema.
func PermissionsOf(typ string) ([]string, error) { return permissionsOf(typ) }

// UseChangeRequestIDs makes FileChangeRequest's made ids ids, in order,
// until the returned function restores the random ones.
func UseChangeRequestIDs(ids ...string) (restore func()) {
	old := newChangeRequestID
	newChangeRequestID = func() string {
		id := ids[0]
		ids = ids[1:]
		return id
	}
	return func() { newChangeRequestID = old }
}
