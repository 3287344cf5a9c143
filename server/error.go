package server

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// detailOf turns any error into what a caller may see: an untyped error is
// an internal error whose cause goes only to the log.
func detailOf(err error) (int, wire.ErrorDetail, *gatehouse.Error) {
	internal := wire.ErrorDetail{Code: gatehouse.EINTERNAL, Message: "internal error"}
	var e *gatehouse.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError, internal, nil
	}
	status := wire.StatusOf(e.Code)
	if status == http.StatusInternalServerError {
		return status, internal, e
	}
	return status, wire.ErrorDetail{Code: e.Code, Message: e.Message, Field: e.Field, Permission: e.Permission, Rule: e.Rule}, e
}

// writeError writes err as the JSON error body, in the one place that maps errors to statuses.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	ctx := c.Request.Context()
	if errors.Is(ctx.Err(), context.Canceled) {
		// The client went away: whatever failed below failed for that
		// reason, not because SpiceDB did. The access log records the 499.
		err = &gatehouse.Error{Code: gatehouse.ECANCELED, Message: "request canceled", Err: err}
	} else if gatehouse.ErrorCode(err) == gatehouse.ECANCELED {
		// A cancellation that is not the caller's came from SpiceDB (a
		// dispatch to a node that died): an outage to retry, not a 499.
		err = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB canceled the call; retry shortly", RetryAfter: time.Second, Err: err}
	}
	status, d, e := detailOf(err)
	if status >= http.StatusInternalServerError {
		log.ErrorContext(ctx, "request failed", "request_id", gatehouse.CallerFrom(ctx).RequestID, "route", c.FullPath(), "status", status, "err", err)
	}
	if e != nil && e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	c.AbortWithStatusJSON(status, wire.ErrorBody{Error: d})
}
