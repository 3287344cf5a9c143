package server

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-authz/gatehouse"
)

// route is one endpoint of the API: how it is served and how /openapi.json
// describes it. Every /v1 route is in this table and nowhere else.
type route struct {
	method, path string
	summary      string
	// checkKey is true for the endpoints a check-only key may call.
	checkKey bool
	// actor is true when the Gatehouse-Actor header is required.
	actor   bool
	handler func(Deps) gin.HandlerFunc
	// req and resp are the JSON shapes of the body and the answer (nil for none).
	req, resp any
	status    int
	query     []string
}

// api is the /v1 API, in the order api.md lists it.
var api = []route{
	{method: "POST", path: "/v1/check", summary: "Check one permission", checkKey: true, handler: handleCheck, req: CheckBody{}, resp: CheckAnswer{}, status: 200},
	{method: "POST", path: "/v1/check/bulk", summary: "Check up to 1000 permissions at once", checkKey: true, handler: handleCheckBulk, req: BulkBody{}, resp: BulkAnswer{}, status: 200},
	{method: "POST", path: "/v1/lookup/resources", summary: "List the resources a subject holds a permission on", checkKey: true, handler: handleLookupResources, req: LookupResourcesBody{}, resp: LookupResourcesAnswer{}, status: 200},
	{method: "POST", path: "/v1/lookup/subjects", summary: "List the subjects that hold a permission on a resource", checkKey: true, handler: handleLookupSubjects, req: LookupSubjectsBody{}, resp: LookupSubjectsAnswer{}, status: 200},
	{method: "POST", path: "/v1/explain", summary: "Explain a check as the relationship chains that grant it", checkKey: true, handler: handleExplain, req: CheckBody{}, resp: ExplainAnswer{}, status: 200},
	{method: "GET", path: "/v1/schema", summary: "Read the SpiceDB schema", checkKey: true, handler: handleSchema, resp: SchemaAnswer{}, status: 200},
	{method: "GET", path: "/v1/relationships", summary: "Read relationships", handler: handleReadRelationships, resp: RelationshipsAnswer{}, status: 200, query: []string{"resource", "resourceType", "relation", "subject"}},
	{method: "POST", path: "/v1/relationships", summary: "Touch and delete relationships atomically (guarded relations refused)", handler: handleWriteRelationships, req: WriteBody{}, resp: TokenAnswer{}, status: 200},
	{method: "GET", path: "/v1/audit", summary: "List the audit trail of an organisation, newest first (X2)", handler: handleAudit, resp: AuditAnswer{}, status: 200, query: []string{"organisation", "actor", "since", "until", "limit", "cursor"}},

	{method: "POST", path: "/v1/organisations", summary: "Create an organisation; the actor becomes its owner (O1)", actor: true, handler: handleCreateOrganisation, req: OrganisationBody{}, resp: OrganisationAnswer{}, status: 201},
	{method: "GET", path: "/v1/organisations/{org}", summary: "Read an organisation", actor: true, handler: handleGetOrganisation, resp: OrganisationAnswer{}, status: 200},
	{method: "DELETE", path: "/v1/organisations/{org}", summary: "Delete an organisation and everything in it (O3)", actor: true, handler: handleDeleteOrganisation, status: 204},
	{method: "POST", path: "/v1/organisations/{org}/transfer-ownership", summary: "Transfer ownership to a team member (O4)", actor: true, handler: handleTransferOwnership, req: TransferBody{}, resp: OwnershipAnswer{}, status: 200},
	{method: "GET", path: "/v1/organisations/{org}/members", summary: "List members with their roles and designations", actor: true, handler: handleListMembers, resp: MembersAnswer{}, status: 200},
	{method: "PUT", path: "/v1/organisations/{org}/members/{user}/roles/{role}", summary: "Grant a role (S1, S3, T2, T3)", actor: true, handler: handleGrantRole, req: GrantBody{}, status: 204, query: []string{"previousBecomesAlternate"}},
	{method: "DELETE", path: "/v1/organisations/{org}/members/{user}/roles/{role}", summary: "Revoke a role", actor: true, handler: handleRevokeRole, status: 204},
	{method: "DELETE", path: "/v1/organisations/{org}/members/{user}", summary: "Remove a member with all their roles, designations and exceptions (T1)", actor: true, handler: handleRemoveMember, status: 204},
	{method: "PUT", path: "/v1/organisations/{org}/members/{user}/designations/{designation}", summary: "Give a designation", actor: true, handler: handleSetDesignation, status: 204},
	{method: "DELETE", path: "/v1/organisations/{org}/members/{user}/designations/{designation}", summary: "Take a designation away", actor: true, handler: handleUnsetDesignation, status: 204},
	{method: "POST", path: "/v1/organisations/{org}/contractors", summary: "Create a contractor (K1, K2)", actor: true, handler: handleCreateContractor, req: ContractorBody{}, resp: ContractorAnswer{}, status: 201},
	{method: "PATCH", path: "/v1/contractors/{id}", summary: "Rename a contractor or change its admin-only flag (K2)", actor: true, handler: handlePatchContractor, req: ContractorPatchBody{}, resp: ContractorAnswer{}, status: 200},
	{method: "DELETE", path: "/v1/contractors/{id}", summary: "Delete a contractor", actor: true, handler: handleDeleteContractor, status: 204},
	{method: "POST", path: "/v1/organisations/{org}/invoices", summary: "Create an invoice", actor: true, handler: handleCreateInvoice, req: InvoiceBody{}, resp: InvoiceAnswer{}, status: 201},

	{method: "POST", path: "/v1/organisations/{org}/change-requests", summary: "File a change request (C1-C12)", actor: true, handler: handleFileChangeRequest, req: FileChangeRequestBody{}, resp: ChangeRequestAnswer{}, status: 201},
	{method: "GET", path: "/v1/change-requests/{id}", summary: "Read a change request's current state", actor: true, handler: handleGetChangeRequest, resp: ChangeRequestAnswer{}, status: 200},
	{method: "POST", path: "/v1/change-requests/{id}/authorise", summary: "Authorise or approve a change request (C4-C11)", actor: true, handler: handleAuthoriseChangeRequest, req: AuthoriseBody{}, resp: ChangeRequestAnswer{}, status: 200},
	{method: "POST", path: "/v1/organisations/{org}/exceptions", summary: "Grant an exception (C6)", actor: true, handler: handleGrantException, req: ExceptionBody{}, resp: ExceptionAnswer{}, status: 201},
	{method: "DELETE", path: "/v1/organisations/{org}/exceptions/{user}/{kind}", summary: "Revoke an exception (C6)", actor: true, handler: handleRevokeException, status: 204},
}

// ginPath turns /a/{b} into Gin's /a/:b.
func ginPath(p string) string {
	return strings.NewReplacer("{", ":", "}", "").Replace(p)
}

// addRoutes registers the middleware, then every route.
func addRoutes(r *gin.Engine, d Deps) {
	// Outermost first: the id and the access log see every answer, a
	// recovered panic's 500 included.
	r.Use(requestID(), accessLog(d.Log), instrument(d.Metrics), recovery(d), deadline(d.RequestTimeout), errorHandler(d.Log))

	r.GET("/healthz", handleHealthz())
	r.GET("/readyz", handleReadyz(d))
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", handleOpenAPI())

	keys := newKeyring(d.Keys, d.CheckKeys, d.PlatformKeys)
	v1 := r.Group("", authenticate(keys, d.Log), rateLimit(keys.names(), d.RateLimit, d.RateBurst, d.Log))
	for _, rt := range api {
		hs := []gin.HandlerFunc{}
		if !rt.checkKey {
			hs = append(hs, fullAccess(d.Log))
		}
		hs = append(hs, rt.handler(d))
		v1.Handle(rt.method, ginPath(rt.path), hs...)
	}

	r.NoRoute(func(c *gin.Context) {
		writeError(c, d.Log, gatehouse.Errorf(gatehouse.ENOTFOUND, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		writeError(c, d.Log, gatehouse.Errorf(gatehouse.EMETHOD, "method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
}

// recovery turns a panic into a logged 500 that says only "internal error".
func recovery(d Deps) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		ctx := c.Request.Context()
		d.Log.ErrorContext(ctx, "panic", "request_id", gatehouse.CallerFrom(ctx).RequestID, "route", c.FullPath(),
			"panic", fmt.Sprint(err), "stack", string(debug.Stack()))
		c.AbortWithStatusJSON(http.StatusInternalServerError, ErrorBody{Error: ErrorDetail{Code: gatehouse.EINTERNAL, Message: "internal error"}})
	})
}
