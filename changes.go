package gatehouse

import "context"

// ChangeFeed is what a Store knows of the changes to SpiceDB's data as
// they are made: SpiceDB's Watch stream, or, on the embedded memory
// datastore that only this process writes, the writes themselves. A Store
// decorator keeps answers exact by it (package proxy's decision cache), as
// Zanzibar's caches are kept by its changelog.
//
// A change is told in three steps: it begins (Changes' begun moves), the
// snapshot moves past it, every OnChange function is called with it, and
// then it is told (Changes' told moves). Several may be under way at once.
// So a reader that saw begun == told == n before it read anything, and
// begun == n still after it read the snapshot, read a snapshot and a
// state of its own (generations, say) that no untold change separates.
type ChangeFeed interface {
	// Snapshot is where a read of consistency c made under ctx may go with
	// every freshness promise kept (c's own, the caller's Gatehouse-Zed-Token,
	// this process's writes): false when it must go as c says.
	Snapshot(ctx context.Context, c Consistency) (Snapshot, bool)
	// Changes counts the changes begun and those told.
	Changes() (begun, told uint64)
	// OnChange calls f with every change from now on, in order, after the
	// snapshot moved past it and before it is told.
	OnChange(f func(Change))
}

// Snapshot is a state of the data a read may be answered at.
type Snapshot struct {
	// Token is the ZedToken an answer at it carries: the snapshot's, or a
	// bound the snapshot is at least as fresh as.
	Token string
	// Read is the consistency that reads it.
	Read Consistency
}

// Change is one change a ChangeFeed tells.
type Change struct {
	// Relations are the (resource type, relation) pairs whose
	// relationships changed.
	Relations []TypeRelation
	// Everything: the schema changed, or a change the feed cannot say;
	// any answer may differ.
	Everything bool
	// Expired: an expiration passed, with no write (C6's exceptions, T5's
	// roles); an answer that can reach an expiring relationship may differ.
	Expired bool
}

// TypeRelation names a relation (or permission) of a resource type.
type TypeRelation struct{ Type, Relation string }
