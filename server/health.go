package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
)

// handleHealthz serves GET /healthz: the process is up.
func handleHealthz() gin.HandlerFunc {
	return func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }
}

// handleReadyz serves GET /readyz: ready once the schema is written and SpiceDB answers now.
func handleReadyz(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !d.Ready.Load() {
			writeError(c, d.Log, &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "starting: the schema is not written yet", RetryAfter: time.Second})
			return
		}
		ctx, cancel := context.WithTimeout(c, 2*time.Second)
		defer cancel()
		if err := d.Store.Ready(ctx); err != nil {
			writeError(c, d.Log, &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB does not answer", RetryAfter: time.Second, Err: err})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}
