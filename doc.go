// Package gatehouse is Gatehouse's vocabulary: the names of the schema's
// object types, roles, designations, change kinds, relations and the
// permissions Gatehouse checks (vocabulary.go), declared once; references
// and their parsing (ref.go); the one error type (error.go); labels, the
// display data kept in SpiceDB (label.go); the audit record and the
// AuditTrail port (audit.go), and which organisation each changed
// relationship belongs to (attribution.go, X2); the caller of a request
// and the newest ZedToken it sent, carried on the context (caller.go,
// freshness.go); the Store interface through which everything
// reaches SpiceDB (store.go), and the ChangeFeed a Store decorator keeps
// its answers exact by (changes.go; package proxy).
//
// It holds no workflow: the rules of domain.md that need more than one
// relationship live in package workflow. It imports only the standard
// library and knows nothing of HTTP or gRPC, so every package of Gatehouse
// may import it, and most do: workflow, server, console, spicedb, proxy,
// audit, dryrun, seed, wire, client, storetest and cmd/gatehouse.
package gatehouse
