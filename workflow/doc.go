// Package workflow holds the rules of domain.md that need more than one
// relationship, one file per concept, run by one Service over a
// gatehouse.Store (service.go): the write-guard kit every workflow
// uses (guard.go: permission checks, pins, write sets, retries),
// organisations (organisation.go, details.go), roles and designations
// (roles.go, designations.go), team membership (membership.go, T1/T4),
// contractors and invoices (contractors.go, invoices.go), who has access
// (access.go), why a check is denied (whynot.go, X6), and the rule that
// keeps the raw relationship endpoint from going around the others (raw.go,
// X4).
//
// A change request is one aggregate (C1–C18): its state and evaluation in
// changerequest.go, which names where each rule is decided; its filing in
// changerequest_filing.go and its other transitions (authorise, reject,
// withdraw, raise flags, override, confirm), each one load and one write,
// in changerequest_transitions.go; the standing they rest on in
// changerequest_standing.go; reading and listing in changerequest_lists.go;
// exceptions (C6) in exceptions.go and always-substantial declarations
// (C15) in alwayssubstantial.go; list paging in paging.go.
//
// Each workflow checks the actor's permission in SpiceDB before it writes,
// and holds its invariants with write preconditions, never a read followed
// by a write. It reaches SpiceDB only through gatehouse.Store.
//
// It imports the root package gatehouse (the vocabulary), the standard
// library, golang.org/x/text (ISO 4217 currency codes), and, to explain a
// denial from the schema's own rules (whynot.go), the package schema and
// SpiceDB's schema compiler; nothing else: no HTTP, no gRPC, no SpiceDB
// client. The adapters at the edge import it: server (the HTTP API),
// console (the admin console) and cmd/gatehouse.
package workflow
