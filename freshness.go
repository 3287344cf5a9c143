package gatehouse

import "context"

// MaxCallerTokenBytes bounds the ZedToken a caller may send as its
// freshness requirement (the Gatehouse-Zed-Token request header). SpiceDB's
// tokens are a few dozen bytes.
const MaxCallerTokenBytes = 1024

type callerTokenKey struct{}

// WithCallerToken returns ctx carrying tok, the newest ZedToken the caller
// has seen (from any replica): every read made under ctx that names no
// consistency of its own is at least as fresh as it, so a caller that
// writes through one replica and reads through another sees its write.
func WithCallerToken(ctx context.Context, tok string) context.Context {
	if tok == "" {
		return ctx
	}
	return context.WithValue(ctx, callerTokenKey{}, tok)
}

// CallerToken returns the caller's ZedToken on ctx, or "" when it sent none.
func CallerToken(ctx context.Context) string {
	tok, _ := ctx.Value(callerTokenKey{}).(string)
	return tok
}
