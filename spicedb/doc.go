// Package spicedb is Gatehouse's adapter to SpiceDB: it implements
// gatehouse.Store over authzed-go's gRPC clients, against a remote SpiceDB
// cluster (Dial) or one embedded in-process (StartEmbedded), and translates
// SpiceDB's errors into *gatehouse.Error once, in errors.go.
//
// It is the one package of Gatehouse that imports authzed-go, and the one
// that runs SpiceDB (package schema borrows only its schema compiler).
// Only the wiring in cmd/gatehouse and tests may import it; the domain,
// server/ and client/ never do, and reach SpiceDB through gatehouse.Store.
// Every implementation of that interface passes package storetest's suite.
//
// Files by concern: spicedb.go (the Store and its options), convert.go
// (gatehouse values to and from the v1 API), freshness.go (read-your-writes
// without tokens), follow.go and revision.go (the snapshot the Watch stream
// keeps, and SpiceDB's revisions ordered), feed.go (the ChangeFeed that
// keeps proxy.Cached, the decision cache), expiries.go (expirations as changes known in advance), check.go,
// lookup.go, explain.go (why a check allowed), read.go (relationships,
// schema, readiness), write.go (writes, deletes, the schema), errors.go,
// audit.go and auditwait.go (the audit trail's consumer, and writes waiting
// for their record), scratch.go (the dry run's scratch SpiceDB), memindex.go
// (embedded memory's index by resource), hedge.go (hedged reads),
// embedded.go and remote.go (the two ways to reach SpiceDB).
package spicedb
