// Package server is Gatehouse's HTTP facade: a Gin handler that speaks the
// JSON contract of api.md and reaches SpiceDB through a gatehouse.Store.
//
// One route table (routes.go) drives every handler through one generic
// adapter (adapter.go): a handler is a typed function of its request, and
// the adapter reads the actor, the query and the body as the route row
// says, answers with the row's status and writes every error in one place
// (error.go). /openapi.json is generated from the same rows. The rules
// live in package workflow; server holds none of them. It imports the root
// package, workflow, dryrun, wire and schema (never authzed-go); only cmd/gatehouse
// and tests import it.
package server

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// Deps is everything the handler needs; New takes all of it.
type Deps struct {
	Store gatehouse.Store
	// Audit is the audit trail (X2) that GET /v1/audit lists.
	Audit gatehouse.AuditTrail
	// AuditHealth, when set, is nil while the trail's consumer of SpiceDB's
	// changes runs; /readyz answers 503 otherwise.
	AuditHealth func() error
	// Workflow holds the rules of domain.md that need more than one relationship.
	Workflow *workflow.Service
	// Schema indexes the schema, to refuse unknown types and permissions by field.
	Schema *schema.Index
	// Keys may call every endpoint; CheckKeys only the checking ones.
	Keys, CheckKeys []string
	Log             *slog.Logger
	Metrics         *Metrics
	// Ready is set once SpiceDB answers and the schema is written.
	Ready *atomic.Bool
	// PlatformKeys may call every endpoint and change platform#staff too
	// (X4). Every key list takes secrets or name=secret entries (KeyName).
	PlatformKeys []string
	// RateLimit is the requests per second each key may make (0: no
	// limit), in bursts of up to RateBurst (0: DefaultBurst).
	RateLimit float64
	RateBurst int
	// RequestTimeout bounds the work of one request (0: unbounded).
	RequestTimeout time.Duration
	// Scratch starts the scratch SpiceDB a dry run (?dryRun=true, X7)
	// evaluates the would-be state in (spicedb.NewScratch with the schema);
	// without it a dry run reports its changes but no effects.
	Scratch dryrun.Engine
	// Console, when set, serves the admin console under /console (package console).
	Console http.Handler
	// CursorKey signs the cursors of the lists the workflow and the trail
	// page (cursors.go), as spicedb.WithCursorKey signs the store's: give
	// every replica the same one. Empty: New draws one for this process.
	CursorKey []byte

	// endpoints are the routes by operation id, filled by New.
	endpoints map[string]route
}

// New returns the HTTP handler of the whole API.
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	d.CursorKey = cursorKeyOf(d)
	addRoutes(r, d)
	return r
}
