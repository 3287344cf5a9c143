// Package workflow holds the rules of domain.md that need more than one
// relationship, one file per concept: the write-guard kit every workflow
// uses (guard.go: permission checks, pins, write sets, retries),
// organisations (organisation.go), roles and designations (roles.go,
// designations.go), team membership (membership.go, T1/T4), contractors and invoices (contractors.go,
// invoices.go), change requests and their exceptions (changerequests.go,
// exceptions.go), and the rule that keeps the raw relationship endpoint
// from going around the others (raw.go, X4).
//
// Each workflow checks the actor's permission in SpiceDB before it writes,
// and holds its invariants with write preconditions, never a read followed
// by a write. It reaches SpiceDB only through gatehouse.Store.
//
// It imports the root package gatehouse (the vocabulary), the standard
// library and golang.org/x/text (ISO 4217 currency codes), nothing else:
// no HTTP, no gRPC. The adapters at the edge import it: server, seed, cmd,
// and the console to come.
package workflow
