package gatehouse

import (
	"errors"
	"fmt"
	"time"
)

// Error codes, one per kind of refusal. The server maps each to exactly one
// HTTP status; the client rebuilds the same code from the body.
const (
	EINVALID         = "invalid_argument"
	EUNAUTHENTICATED = "unauthenticated"
	EFORBIDDEN       = "permission_denied"
	ENOTFOUND        = "not_found"
	ECONFLICT        = "conflict"
	ERULE            = "rule_violation"
	ETOOLARGE        = "payload_too_large"
	EMETHOD          = "method_not_allowed"
	EUNAVAILABLE     = "unavailable"
	ERATELIMITED     = "rate_limited"
	ECANCELED        = "canceled"
	EINTERNAL        = "internal"
)

// Error is the one error type Gatehouse returns to its callers. Field names
// the input at fault, Permission the permission that was missing, Rule the
// rule of domain.md that a request would break.
type Error struct {
	Code       string
	Message    string
	Field      string
	Permission string
	Rule       string
	// RetryAfter is how long a caller should wait before retrying (EUNAVAILABLE, ERATELIMITED).
	RetryAfter time.Duration
	// Err is the underlying cause, logged but never shown to callers.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Forbidden returns an EFORBIDDEN error naming the missing permission on resource.
func Forbidden(actor Subject, permission string, resource Object) *Error {
	return &Error{
		Code:       EFORBIDDEN,
		Permission: permission,
		Message:    fmt.Sprintf("%s lacks permission %q on %s", actor, permission, resource),
	}
}

// RuleViolation returns an ERULE error naming the rule of domain.md that the request would break.
func RuleViolation(rule, format string, args ...any) *Error {
	return &Error{Code: ERULE, Rule: rule, Message: rule + ": " + fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EINTERNAL when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}
