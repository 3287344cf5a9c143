package workflow

// UseAwaitingPermission makes "awaiting me" look up permission instead of
// awaiting until the returned function restores it: benchmarks compare
// with reject, which cannot leave out settled requests (C14).
func UseAwaitingPermission(permission string) (restore func()) {
	old := awaitingPermission
	awaitingPermission = permission
	return func() { awaitingPermission = old }
}
