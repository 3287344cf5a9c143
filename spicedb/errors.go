package spicedb

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
)

// translate turns SpiceDB's gRPC errors into gatehouse errors, once, here.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return &gatehouse.Error{Code: gatehouse.ECANCELED, Message: "request canceled", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB did not answer in time", RetryAfter: time.Second, Err: err}
	}
	st, ok := status.FromError(err)
	if !ok {
		return &gatehouse.Error{Code: gatehouse.EINTERNAL, Message: "internal error", Err: err}
	}
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB is unavailable; retry shortly", RetryAfter: time.Second, Err: err}
	case codes.Canceled:
		return &gatehouse.Error{Code: gatehouse.ECANCELED, Message: "request canceled", Err: err}
	case codes.FailedPrecondition:
		if strings.Contains(msg, "precondition") {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: "a concurrent change got there first; retry", Err: err}
		}
		return &gatehouse.Error{Code: gatehouse.EINVALID, Message: msg, Err: err}
	case codes.AlreadyExists:
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: "it exists already", Err: err}
	case codes.NotFound:
		return &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: msg, Err: err}
	case codes.InvalidArgument, codes.OutOfRange:
		return &gatehouse.Error{Code: gatehouse.EINVALID, Message: msg, Field: fieldOf(msg), Err: err}
	case codes.Unauthenticated, codes.PermissionDenied:
		return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "Gatehouse cannot authenticate to SpiceDB", RetryAfter: 5 * time.Second, Err: err}
	case codes.Unknown:
		// SpiceDB answers a datastore it cannot reach (a Postgres read
		// that timed out, a connection reset while its pool reconnects)
		// with Unknown: that is an outage to retry, not a bug.
		if containsAny(msg, "i/o timeout", "connection refused", "connection reset", "unexpected EOF", "failed to connect") {
			return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB cannot reach its datastore; retry shortly", RetryAfter: time.Second, Err: err}
		}
	}
	return &gatehouse.Error{Code: gatehouse.EINTERNAL, Message: "internal error", Err: err}
}

// fieldOf guesses which input an InvalidArgument from SpiceDB is about, so
// that a 400 names a field even when the schema, not our parser, refused it.
func fieldOf(msg string) string {
	switch {
	case strings.Contains(msg, "permission") || strings.Contains(msg, "relation"):
		return "permission"
	case strings.Contains(msg, "object definition") || strings.Contains(msg, "object type"):
		return "resource"
	case strings.Contains(msg, "subject"):
		return "subject"
	}
	return ""
}

// engineError turns the engine's errors (not gRPC statuses) into gatehouse
// errors: unknown types and permissions are the caller's mistake.
func engineError(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return translate(err)
	case status.Code(err) == codes.Canceled || status.Code(err) == codes.DeadlineExceeded:
		// The engine dispatches as the gRPC server does, so an ended
		// context comes back as a status, not as the context's error.
		return translate(err)
	case containsAny(msg, "not found", "does not exist", "undefined"):
		return &gatehouse.Error{Code: gatehouse.EINVALID, Message: msg, Field: fieldOf(msg), Err: err}
	}
	return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB could not answer; retry shortly", RetryAfter: time.Second, Err: err}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
