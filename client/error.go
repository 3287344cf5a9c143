package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// The error codes the server answers with, the same constants the server
// maps to statuses, so that a code compared on either side means the same.
const (
	EINVALID         = gatehouse.EINVALID
	EUNAUTHENTICATED = gatehouse.EUNAUTHENTICATED
	EFORBIDDEN       = gatehouse.EFORBIDDEN
	ENOTFOUND        = gatehouse.ENOTFOUND
	ECONFLICT        = gatehouse.ECONFLICT
	ERULE            = gatehouse.ERULE
	ETOOLARGE        = gatehouse.ETOOLARGE
	EMETHOD          = gatehouse.EMETHOD
	EUNAVAILABLE     = gatehouse.EUNAVAILABLE
	ECANCELED        = gatehouse.ECANCELED
	EINTERNAL        = gatehouse.EINTERNAL
)

// Error is an answer outside 2xx, rebuilt from the server's
// {"error": {...}} body. Field names the input at fault, Permission the
// permission the actor lacked (403), Rule the rule of domain.md a request
// would break (422). RetryAfter is the server's Retry-After on a 503.
type Error struct {
	Status     int
	Code       string
	Message    string
	Field      string
	Permission string
	Rule       string
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gatehouse: %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		fmt.Fprintf(&b, " (field %s)", e.Field)
	}
	return b.String()
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, and
// "" otherwise, for a switch on what the server said.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// parseError rebuilds the *Error of an answer outside 2xx.
func parseError(resp *http.Response) *Error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	e := &Error{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var b wire.ErrorBody
	if json.Unmarshal(raw, &b) == nil && b.Error.Code != "" {
		e.Code, e.Message, e.Field = b.Error.Code, b.Error.Message, b.Error.Field
		e.Permission, e.Rule = b.Error.Permission, b.Error.Rule
		return e
	}
	e.Code = wire.CodeOf(resp.StatusCode)
	e.Message = strings.TrimSpace(string(raw))
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date; 0 when
// it is absent or does not parse.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
