package server

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
)

// statusOf maps each error code to its one HTTP status.
var statusOf = map[string]int{
	gatehouse.EINVALID:         http.StatusBadRequest,
	gatehouse.EUNAUTHENTICATED: http.StatusUnauthorized,
	gatehouse.EFORBIDDEN:       http.StatusForbidden,
	gatehouse.ENOTFOUND:        http.StatusNotFound,
	gatehouse.EMETHOD:          http.StatusMethodNotAllowed,
	gatehouse.ECONFLICT:        http.StatusConflict,
	gatehouse.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	gatehouse.ERULE:            http.StatusUnprocessableEntity,
	gatehouse.EUNAVAILABLE:     http.StatusServiceUnavailable,
	gatehouse.ERATELIMITED:     http.StatusTooManyRequests,
	gatehouse.ECANCELED:        499, // client closed request, as nginx names it
	gatehouse.EINTERNAL:        http.StatusInternalServerError,
}

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong and, when one input is at fault, which.
type ErrorDetail struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	Permission string `json:"permission,omitempty"`
	Rule       string `json:"rule,omitempty"`
}

// detailOf turns any error into what a caller may see: an untyped error is
// an internal error whose cause goes only to the log.
func detailOf(err error) (int, ErrorDetail, *gatehouse.Error) {
	var e *gatehouse.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError, ErrorDetail{Code: gatehouse.EINTERNAL, Message: "internal error"}, nil
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	d := ErrorDetail{Code: e.Code, Message: e.Message, Field: e.Field, Permission: e.Permission, Rule: e.Rule}
	if status == http.StatusInternalServerError {
		d = ErrorDetail{Code: gatehouse.EINTERNAL, Message: "internal error"}
	}
	return status, d, e
}

// writeError writes err as the JSON error body, in the one place that maps errors to statuses.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	ctx := c.Request.Context()
	if errors.Is(ctx.Err(), context.Canceled) {
		// The client went away: whatever failed below failed for that
		// reason, not because SpiceDB did. The access log records the 499.
		err = &gatehouse.Error{Code: gatehouse.ECANCELED, Message: "request canceled", Err: err}
	}
	status, d, e := detailOf(err)
	if status >= http.StatusInternalServerError {
		log.ErrorContext(ctx, "request failed", "request_id", gatehouse.CallerFrom(ctx).RequestID, "route", c.FullPath(), "status", status, "err", err)
	}
	if e != nil && e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: d})
}

// errorHandler is the middleware that writes the error a handler left in the context.
func errorHandler(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) > 0 && !c.Writer.Written() {
			writeError(c, log, c.Errors.Last().Err)
		}
	}
}
