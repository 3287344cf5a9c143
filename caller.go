package gatehouse

import "context"

// Caller is who sent the request being served: the name of the bearer key
// that authenticated it (never the key itself), the request's id, and
// whether the key is a platform key (rule X4: only platform keys may change
// platform#staff). The HTTP layer puts it on the context; the Store reads
// it to stamp the audit trail.
type Caller struct {
	KeyName   string
	RequestID string
	Platform  bool
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the Caller on ctx, or the zero Caller when there is none.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// IsPlatformKey reports whether the request on ctx was authenticated with a
// platform key (GATEHOUSE_PLATFORM_KEYS).
func IsPlatformKey(ctx context.Context) bool { return CallerFrom(ctx).Platform }

// StampAudit returns a with the key name of ctx's caller recorded, unless a
// already names a key. Every write passes here, so every audit event names
// the key that made it.
func StampAudit(ctx context.Context, a Audit) Audit {
	if a.Key == "" {
		a.Key = CallerFrom(ctx).KeyName
	}
	return a
}
