package wire

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse-authz/gatehouse"
)

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong and, when one input is at fault, which
// (Field); Permission names the permission the actor lacked (403), Rule the
// rule of domain.md a request would break (422).
type ErrorDetail struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	Permission string `json:"permission,omitempty"`
	Rule       string `json:"rule,omitempty"`
}

// statuses is the one table of error codes and their HTTP statuses: the
// server answers a code with its status, and the client reads a status
// that came without a body back as its code.
var statuses = []struct {
	code   string
	status int
}{
	{gatehouse.EINVALID, http.StatusBadRequest},
	{gatehouse.EUNAUTHENTICATED, http.StatusUnauthorized},
	{gatehouse.EFORBIDDEN, http.StatusForbidden},
	{gatehouse.ENOTFOUND, http.StatusNotFound},
	{gatehouse.EMETHOD, http.StatusMethodNotAllowed},
	{gatehouse.ECONFLICT, http.StatusConflict},
	{gatehouse.ETOOLARGE, http.StatusRequestEntityTooLarge},
	{gatehouse.ERULE, http.StatusUnprocessableEntity},
	{gatehouse.EUNAVAILABLE, http.StatusServiceUnavailable},
	{gatehouse.ERATELIMITED, http.StatusTooManyRequests},
	{gatehouse.ECANCELED, 499}, // client closed request, as nginx names it
	{gatehouse.EINTERNAL, http.StatusInternalServerError},
}

// StatusOf returns the HTTP status of an error code; an unknown code is a 500.
func StatusOf(code string) int {
	for _, s := range statuses {
		if s.code == code {
			return s.status
		}
	}
	return http.StatusInternalServerError
}

// CodeOf returns the error code of a status that came without an error
// body, such as a proxy's page: a gateway's 502 and 504 say, like 503, that
// the server is unavailable. Any status not in the table is internal.
func CodeOf(status int) string {
	if status == http.StatusBadGateway || status == http.StatusGatewayTimeout {
		return gatehouse.EUNAVAILABLE
	}
	for _, s := range statuses {
		if s.status == status {
			return s.code
		}
	}
	return gatehouse.EINTERNAL
}

// MarshalJSON writes an item that failed as {"error": {...}} alone, and
// any other as its result.
func (b BulkItem) MarshalJSON() ([]byte, error) {
	if b.Error != nil {
		return json.Marshal(struct {
			Error *ErrorDetail `json:"error"`
		}{b.Error})
	}
	return json.Marshal(b.CheckResult)
}
