package server

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// route is one endpoint of the API: how the one adapter serves it and how
// /openapi.json describes it, from the same fields. Every /v1 route is in
// this table and nowhere else.
type route struct {
	method, path string
	// id is the stable operationId; tag groups operations in the document.
	id, tag string
	summary string
	// rules are the rule IDs of domain.md the operation enforces.
	rules []string
	// checkKey is true for the endpoints a check-only key may call.
	checkKey bool
	actor    actorRule
	query    []param
	// optionalBody lets the body be left out.
	optionalBody bool
	// stream is the media type the route also answers as a stream (In.Stream), when the caller accepts it;
	// streamDoc describes that body in /openapi.json.
	stream, streamDoc string
	// status answers success; 204 routes return written.
	status int
	// location, on a 201, is the path of what was created, less its id.
	location string
	op       binding
}

// limit and cursor page the bounded reads (api.md: "Reads are bounded").
var (
	limit  = param{name: "limit", kind: "integer", min: 1, max: wire.MaxLimit, def: wire.DefaultLimit, doc: "at most this many items, 1 to 10000 (default 1000)"}
	cursor = param{name: "cursor", kind: "string", doc: "the cursor of the previous page, to continue it; opaque"}
)

// api is the /v1 API, in the order api.md lists it.
var api = []route{
	{method: "POST", path: "/v1/check", id: "check", tag: "check", summary: "Check one permission", rules: []string{"X1", "X3", "X5"}, checkKey: true, status: 200, op: bind(handleCheck)},
	{method: "POST", path: "/v1/check/bulk", id: "checkBulk", tag: "check", summary: "Check up to 1000 permissions at once; a bad item fails alone", rules: []string{"X1", "X3", "X5"}, checkKey: true, status: 200, op: bind(handleCheckBulk)},
	{method: "POST", path: "/v1/lookup/resources", id: "lookupResources", tag: "check", summary: "List the resources a subject holds a permission on", rules: []string{"K3", "X3", "X5"}, checkKey: true, status: 200, op: bind(handleLookupResources)},
	{method: "POST", path: "/v1/lookup/subjects", id: "lookupSubjects", tag: "check", summary: "List the subjects that hold a permission on a resource", rules: []string{"X3", "X5"}, checkKey: true, status: 200, op: bind(handleLookupSubjects)},
	{method: "POST", path: "/v1/explain", id: "explain", tag: "check", summary: "Explain a check as the relationship chains that grant it; a denial as each way it could be granted, what it lacks, the rule that blocks it and who may grant it through which endpoint (whyNot, summary); a grant that ends on its own says until when (pathsUntil; grantors' until, T5); a search cut short by its bounds (32 levels deep, 3 seconds, 100 chains or ways) answers what it found so far with truncated: true", rules: []string{"X3", "X5", "X6"}, checkKey: true, status: 200, op: bind(handleExplain)},
	{method: "GET", path: "/v1/schema", id: "readSchema", tag: "relationships", summary: "Read the SpiceDB schema", checkKey: true, status: 200, op: bind(handleSchema)},
	{
		method: "GET", path: "/v1/relationships", id: "readRelationships", tag: "relationships", summary: "Read relationships; resource (type:id) or resourceType is required",
		rules: []string{"X3"}, status: 200, op: bind(handleReadRelationships),
		query: []param{
			{name: "resource", kind: "string", doc: "type:id"},
			{name: "resourceType", kind: "string", doc: "every resource of this type"},
			{name: "relation", kind: "string"},
			{name: "subject", kind: "string", doc: "type:id or type:id#relation"},
			limit,
			cursor,
		},
	},
	{method: "POST", path: "/v1/relationships", id: "writeRelationships", tag: "relationships", summary: "Touch and delete relationships atomically; the relations that hold O2 and S1 are refused", rules: []string{"O2", "S1", "X2", "X3", "X5"}, actor: actorOptional, status: 200, op: bind(handleWriteRelationships)},
	{
		method: "GET", path: "/v1/audit", id: "listAudit", tag: "relationships",
		summary: "List the audit trail of an organisation (or, with platform=true, the events that name none), newest first; Accept: application/x-ndjson exports every matching event, oldest first",
		rules:   []string{"X2"}, status: 200, op: bind(handleAudit), stream: ndjson,
		streamDoc: "sent when the request's Accept names this type: one JSON object per line, each an AuditEvent, oldest first",
		query: []param{
			{name: "organisation", kind: "string", doc: "organisation id; required unless platform=true"},
			{name: "platform", kind: "boolean", doc: "list the events that name no organisation (e.g. platform#staff)"},
			{name: "actor", kind: "string", doc: "user:<id>"},
			{name: "action", kind: "string", doc: "one action's events, by its name (remove_member, file_change_request)"},
			{name: "since", kind: "date-time"},
			{name: "until", kind: "date-time"},
			limit,
			cursor,
		},
	},

	{
		method: "GET", path: "/v1/abilities", id: "abilities", tag: "organisations",
		summary: "What the actor may do on an organisation, contractor, invoice, change request or the platform now: each permission the workflow's operations on it require, whether the actor holds it, and for a change request they may read its transitions open to them; to show only the actions that will not be refused (each is decided again when sent)",
		rules:   []string{"X1"}, actor: actorRequired, status: 200, op: bind(handleAbilities),
		query: []param{{name: "object", kind: "string", required: true, doc: "type:id, e.g. organisation:acme, contractor:c1, change_request:cr1, platform:provider"}},
	},
	{method: "POST", path: "/v1/organisations", id: "createOrganisation", tag: "organisations", summary: "Create an organisation; the actor becomes its owner", rules: []string{"O1", "X5"}, actor: actorRequired, status: 201, location: "/v1/organisations/", op: bind(handleCreateOrganisation)},
	{method: "GET", path: "/v1/organisations/{org}", id: "getOrganisation", tag: "organisations", summary: "Read an organisation (members only)", rules: []string{"X1"}, actor: actorRequired, status: 200, op: bind(handleGetOrganisation)},
	{method: "PATCH", path: "/v1/organisations/{org}", id: "editOrganisation", tag: "organisations", summary: "Change an organisation's details (its name), audited", rules: []string{"O7"}, actor: actorRequired, status: 200, op: bind(handleEditOrganisation)},
	{method: "DELETE", path: "/v1/organisations/{org}", id: "deleteOrganisation", tag: "organisations", summary: "Delete an organisation and everything in it, with an optional reason for the audit trail", rules: []string{"O3", "X2"}, actor: actorRequired, status: 204, optionalBody: true, op: bind(handleDeleteOrganisation)},
	{method: "POST", path: "/v1/organisations/{org}/transfer-ownership", id: "transferOwnership", tag: "organisations", summary: "Transfer ownership to a team member", rules: []string{"O2", "O4"}, actor: actorRequired, status: 200, op: bind(handleTransferOwnership)},
	{method: "GET", path: "/v1/organisations/{org}/members", id: "listMembers", tag: "members", summary: "List members with their roles, each role's expiry, and designations", rules: []string{"T5", "X1"}, actor: actorRequired, status: 200, op: bind(handleListMembers)},
	{
		method: "PUT", path: "/v1/organisations/{org}/members/{user}/roles/{role}", id: "grantRole", tag: "members", summary: "Grant a role, optionally until expiresAt; SA and ASA replace the current holder atomically",
		rules: []string{"O6", "S1", "S2", "S3", "S5", "S7", "T2", "T3", "T5"}, actor: actorRequired, status: 204, optionalBody: true, op: bind(handleGrantRole),
		query: []param{{name: "previousBecomesAlternate", kind: "boolean", doc: "on security_admin: the outgoing SA becomes the ASA (S3)"}},
	},
	{method: "DELETE", path: "/v1/organisations/{org}/members/{user}/roles/{role}", id: "revokeRole", tag: "members", summary: "Revoke a role, with an optional reason for the audit trail", rules: []string{"O6", "S2", "T2", "T3", "X2"}, actor: actorRequired, status: 204, optionalBody: true, op: bind(handleRevokeRole)},
	{method: "DELETE", path: "/v1/organisations/{org}/members/{user}", id: "removeMember", tag: "members", summary: "Remove a member with all their roles, designations and exceptions, with an optional reason for the audit trail", rules: []string{"O6", "S2", "T1", "X2"}, actor: actorRequired, status: 204, optionalBody: true, op: bind(handleRemoveMember)},
	{
		method: "GET", path: "/v1/organisations/{org}/access", id: "reviewAccess", tag: "members",
		summary: "Who holds what, for an access review: every member (by user, paged) with every organisation permission and every permission on its contractors and invoices (the first 100 of each, by id; truncated beyond) that they hold, each with the relationships that grant it (via) and when the last ends (until); members with view_reports and provider staff only. Accept: text/csv exports every page",
		rules:   []string{"X1", "R7", "K2", "T5"}, actor: actorRequired, status: 200, op: bind(handleAccessReview), stream: textCSV,
		streamDoc: "sent when the request's Accept names this type: a header row user,permission,object,via,until, then one row per member, permission and object, every page (via: the relationships, space-separated; until: RFC 3339 or empty); a last row #truncated when objects were left out, #error when the export stopped before its end",
		query: []param{
			{name: "limit", kind: "integer", min: 1, max: workflow.AccessMaxLimit, def: workflow.AccessDefaultLimit, doc: "at most this many members, 1 to 200 (default 50); the CSV export reads pages of this size"},
			cursor,
		},
	},
	{method: "GET", path: "/v1/organisations/{org}/members/{user}/access", id: "memberAccess", tag: "members", summary: "One person's access with its paths, as the access review shows it, and the latest 20 changes they made in the organisation (the person themselves while a member, members with view_reports, provider staff)", rules: []string{"X1", "X2", "R7", "K2", "T5"}, actor: actorRequired, status: 200, op: bind(handleMemberAccess)},
	{method: "PUT", path: "/v1/organisations/{org}/members/{user}/designations/{designation}", id: "setDesignation", tag: "members", summary: "Give a designation to a team member", rules: []string{"C7", "C9", "R7", "T4"}, actor: actorRequired, status: 204, optionalBody: true, op: bind(handleSetDesignation)},
	{method: "DELETE", path: "/v1/organisations/{org}/members/{user}/designations/{designation}", id: "unsetDesignation", tag: "members", summary: "Take a designation away", rules: []string{"T4"}, actor: actorRequired, status: 204, optionalBody: true, op: bind(handleUnsetDesignation)},
	{method: "POST", path: "/v1/organisations/{org}/contractors", id: "createContractor", tag: "contractors", summary: "Create a contractor, optionally admin-only", rules: []string{"K1", "K2", "R4"}, actor: actorRequired, status: 201, location: "/v1/contractors/", op: bind(handleCreateContractor)},
	{method: "GET", path: "/v1/contractors/{id}", id: "getContractor", tag: "contractors", summary: "Read a contractor: its organisation, name and admin-only flag (those who may view it; anyone else gets 403 naming view, whether or not it exists)", rules: []string{"K2", "K3", "X1"}, actor: actorRequired, status: 200, op: bind(handleGetContractor)},
	{method: "PATCH", path: "/v1/contractors/{id}", id: "patchContractor", tag: "contractors", summary: "Rename a contractor or change its admin-only flag", rules: []string{"K2", "R4"}, actor: actorRequired, status: 200, op: bind(handlePatchContractor)},
	{method: "DELETE", path: "/v1/contractors/{id}", id: "deleteContractor", tag: "contractors", summary: "Delete a contractor, with an optional reason for the audit trail", rules: []string{"K1", "X2"}, actor: actorRequired, status: 204, optionalBody: true, op: bind(handleDeleteContractor)},
	{method: "POST", path: "/v1/organisations/{org}/invoices", id: "createInvoice", tag: "contractors", summary: "Create an invoice", rules: []string{"R3", "R6"}, actor: actorRequired, status: 201, op: bind(handleCreateInvoice)},

	{method: "POST", path: "/v1/organisations/{org}/change-requests", id: "fileChangeRequest", tag: "changeRequests", summary: "File a change request", rules: []string{"C1", "C2", "C3", "C5", "C10", "C11", "C12"}, actor: actorRequired, status: 201, location: "/v1/change-requests/", op: bind(handleFileChangeRequest)},
	{method: "GET", path: "/v1/change-requests/{id}", id: "getChangeRequest", tag: "changeRequests", summary: "Read a change request's current state", rules: []string{"C4", "C7", "C8", "C9"}, actor: actorRequired, status: 200, op: bind(handleGetChangeRequest)},
	{method: "POST", path: "/v1/change-requests/{id}/authorise", id: "authoriseChangeRequest", tag: "changeRequests", summary: "Authorise or approve a change request", rules: []string{"C4", "C7", "C8", "C9", "C10", "C11", "C17"}, actor: actorRequired, status: 200, optionalBody: true, op: bind(handleAuthoriseChangeRequest)},
	{method: "POST", path: "/v1/organisations/{org}/exceptions", id: "grantException", tag: "changeRequests", summary: "Grant an exception (main contacts only)", rules: []string{"C6", "T1"}, actor: actorRequired, status: 201, op: bind(handleGrantException)},
	{method: "DELETE", path: "/v1/organisations/{org}/exceptions/{user}/{kind}", id: "revokeException", tag: "changeRequests", summary: "Revoke an exception", rules: []string{"C6"}, actor: actorRequired, status: 204, op: bind(handleRevokeException)},
	{
		method: "GET", path: "/v1/organisations/{org}/change-requests", id: "listChangeRequests", tag: "changeRequests",
		summary: "List the change requests the actor may view (all with view_reports, else their own); awaiting=me lists the open ones the actor may authorise or approve now",
		rules:   []string{"C13", "C14"}, actor: actorRequired, status: 200, op: bind(handleListChangeRequests),
		query: []param{
			{name: "status", kind: "string", doc: "authorised, pending, blocked, rejected or withdrawn"},
			{name: "awaiting", kind: "string", doc: "me: the open requests the actor may authorise or approve now"},
			limit,
			{name: "cursor", kind: "string", doc: "from the previous page"},
		},
	},
	{
		method: "GET", path: "/v1/organisations/{org}/exceptions", id: "listExceptions", tag: "changeRequests",
		summary: "List the organisation's exceptions (main contacts and provider staff)", rules: []string{"C6", "C14"}, actor: actorRequired, status: 200, op: bind(handleListExceptions),
		query: []param{limit, {name: "cursor", kind: "string", doc: "from the previous page"}},
	},
	{method: "POST", path: "/v1/change-requests/{id}/reject", id: "rejectChangeRequest", tag: "changeRequests", summary: "Reject an open change request, with a reason (its current tier, or an approver it still needs)", rules: []string{"C13"}, actor: actorRequired, status: 200, op: bind(handleRejectChangeRequest)},
	{method: "POST", path: "/v1/change-requests/{id}/withdraw", id: "withdrawChangeRequest", tag: "changeRequests", summary: "Withdraw one's own open change request", rules: []string{"C13"}, actor: actorRequired, status: 200, optionalBody: true, op: bind(handleWithdrawChangeRequest)},
	{method: "POST", path: "/v1/change-requests/{id}/flags", id: "raiseFlags", tag: "changeRequests", summary: "Raise the substantial-security or substantial-charge flag of an open request (never lower it)", rules: []string{"C10", "C11", "C13", "C15"}, actor: actorRequired, status: 200, op: bind(handleRaiseFlags)},
	{method: "POST", path: "/v1/change-requests/{id}/override", id: "overrideChangeRequest", tag: "changeRequests", summary: "Provider staff authorise on mitigating circumstances, pending a second staff member's confirmation", rules: []string{"C13", "C18"}, actor: actorRequired, status: 200, op: bind(handleOverride)},
	{method: "POST", path: "/v1/change-requests/{id}/override/confirm", id: "confirmOverride", tag: "changeRequests", summary: "A second, different staff member confirms an override", rules: []string{"C13", "C18"}, actor: actorRequired, status: 200, op: bind(handleConfirmOverride)},
	{
		method: "PUT", path: "/v1/organisations/{org}/substantial/{kind}", id: "setAlwaysSubstantial", tag: "changeRequests",
		summary: "Declare a kind (or, with target, one target of it) always substantial", rules: []string{"C15"}, actor: actorRequired, status: 204, op: bind(handleSetSubstantial),
		query: []param{{name: "target", kind: "string", doc: "narrow the declaration to one target"}},
	},
	{
		method: "DELETE", path: "/v1/organisations/{org}/substantial/{kind}", id: "unsetAlwaysSubstantial", tag: "changeRequests",
		summary: "Lift an always-substantial declaration", rules: []string{"C15"}, actor: actorRequired, status: 204, op: bind(handleUnsetSubstantial),
		query: []param{{name: "target", kind: "string", doc: "the target the declaration names"}},
	},
}

// ginPath turns /a/{b} into Gin's /a/:b.
func ginPath(p string) string {
	return strings.NewReplacer("{", ":", "}", "").Replace(p)
}

// addRoutes registers the middleware, then every route.
func addRoutes(r *gin.Engine, d Deps) {
	// Outermost first: the id and the access log see every answer, a
	// recovered panic's 500 included.
	r.Use(requestID(), accessLog(d.Log), instrument(d.Metrics), recovery(d), deadline(d.RequestTimeout))

	r.GET("/healthz", handleHealthz())
	r.GET("/readyz", handleReadyz(d))
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", handleOpenAPI())
	if d.Console != nil {
		// The console authenticates people by its own session cookie, not by API key.
		r.Any("/console/*path", gin.WrapH(d.Console))
	}

	// Operations name the endpoints of other operations (X6's grantors);
	// they read them from here, as the route table cannot refer to itself.
	d.endpoints = map[string]route{}
	for _, rt := range api {
		d.endpoints[rt.id] = rt
	}
	keys := newKeyring(d.Keys, d.CheckKeys, d.PlatformKeys)
	v1 := r.Group("", started(d), authenticate(keys, d.Log), rateLimit(keys.names(), d.RateLimit, d.RateBurst, d.Log), callerToken(d.Log))
	for _, rt := range api {
		hs := []gin.HandlerFunc{}
		if !rt.checkKey {
			hs = append(hs, fullAccess(d.Log))
		}
		hs = append(hs, rt.op.serve(d, rt))
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
		c.AbortWithStatusJSON(http.StatusInternalServerError, wire.ErrorBody{Error: wire.ErrorDetail{Code: gatehouse.EINTERNAL, Message: "internal error"}})
	})
}
