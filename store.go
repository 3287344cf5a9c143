package gatehouse

import (
	"context"
)

// Consistency is how fresh a read must be, in SpiceDB's terms. The zero
// value lets the Store choose: it sees every write this process made
// (read-your-writes) and is otherwise as fast as possible.
type Consistency struct {
	AtLeastAsFresh string
	// AtExactSnapshot reads at the snapshot the ZedToken names and no
	// other (SpiceDB's at_exact_snapshot). It is for a Store decorator
	// that keeps answers by snapshot (a ChangeFeed's), not for callers:
	// SpiceDB keeps an old snapshot only within its GC window.
	AtExactSnapshot string
	FullyConsistent bool
	MinimizeLatency bool
}

// CheckRequest asks whether Subject holds Permission on Resource.
type CheckRequest struct {
	Resource    Object
	Permission  string
	Subject     Subject
	Context     map[string]any
	Consistency Consistency
}

// CheckResult is the answer to a CheckRequest. Conditional means a caveat
// lacked context; MissingContext names what it lacked.
type CheckResult struct {
	Allowed        bool
	Conditional    bool
	MissingContext []string
	ZedToken       string
}

// BulkResult is one answer of a bulk check: a result, or the error of that item.
type BulkResult struct {
	CheckResult
	Err error
}

// LookupResourcesRequest lists the resources of ResourceType on which
// Subject holds Permission: at most Limit of them (0: every one), after
// Cursor, a Cursor of an earlier page of the same request.
type LookupResourcesRequest struct {
	ResourceType string
	Permission   string
	Subject      Subject
	Context      map[string]any
	Limit        int
	Cursor       string
	Consistency  Consistency
}

// LookupResourcesResult is one page of resources; Cursor continues it when non-empty.
type LookupResourcesResult struct {
	Resources []Object
	Cursor    string
	ZedToken  string
	// Conditional: some resource of the page is reached only on a
	// caveat's condition, which a check of it must be told the context of.
	Conditional bool
}

// LookupSubjectsRequest lists the subjects of SubjectType that hold
// Permission on Resource. LookupSubjectsPage reads Limit and Cursor as
// LookupResources does; LookupSubjects ignores them and returns every one.
type LookupSubjectsRequest struct {
	Resource        Object
	Permission      string
	SubjectType     string
	SubjectRelation string
	Context         map[string]any
	Limit           int
	Cursor          string
	Consistency     Consistency
}

// LookupSubjectsResult is one page of subjects in order of id; Cursor continues it when non-empty.
type LookupSubjectsResult struct {
	Subjects []Subject
	Cursor   string
	ZedToken string
}

// ReadRequest reads the relationships that match Filter: at most Limit of
// them (0: every one), after Cursor, a Cursor of an earlier page of the
// same Filter. Every page of a cursor reads the snapshot the first page
// read, so the pages together are each match exactly once.
type ReadRequest struct {
	Filter      Filter
	Limit       int
	Cursor      string
	Consistency Consistency
}

// ReadResult is one page of relationships; Cursor continues it when more remain.
type ReadResult struct {
	Relationships []Relationship
	Cursor        string
	ZedToken      string
}

// Explanation tells why a check answered as it did: every chain of
// relationships that grants the permission, resource-side first.
// Truncated says the search for chains stopped at a bound (its depth or its
// time) before it finished: Paths holds those found so far, and Allowed
// is still the check's full answer. A relationship that ends on its own
// carries its ExpiresAt (T5): a chain lasts until the earliest of them.
type Explanation struct {
	Allowed   bool
	Paths     [][]Relationship
	Truncated bool
	ZedToken  string
}

// Filter selects relationships. Empty fields match anything; IDPrefix
// selects resources whose id starts with it.
type Filter struct {
	ResourceType    string
	ResourceID      string
	IDPrefix        string
	Relation        string
	SubjectType     string
	SubjectID       string
	SubjectRelation string
}

// Operation is what an Update does to a relationship.
type Operation int

// The operations of a write, as in SpiceDB.
const (
	// Touch creates or updates the relationship.
	Touch Operation = iota
	// Create creates it and fails with ECONFLICT when it exists.
	Create
	// Delete removes it; removing a missing one is not an error.
	Delete
)

// String names the operation as the audit trail writes it.
func (o Operation) String() string {
	switch o {
	case Create:
		return "create"
	case Delete:
		return "delete"
	}
	return "touch"
}

// Update is one change of a write.
type Update struct {
	Op           Operation
	Relationship Relationship
}

// Precondition must hold, inside the transaction of the write, for the write to apply.
type Precondition struct {
	// MustMatch: some relationship matches Filter; otherwise none may.
	MustMatch bool
	Filter    Filter
}

// Write is one atomic change: every update applies, or none.
type Write struct {
	Updates       []Update
	Preconditions []Precondition
	Audit         Audit
}

// Store is everything Gatehouse needs of SpiceDB. The adapter in package
// spicedb implements it, embedded in-process or against a remote cluster.
// Every error it returns is an *Error.
type Store interface {
	Check(ctx context.Context, req CheckRequest) (CheckResult, error)
	CheckBulk(ctx context.Context, reqs []CheckRequest, c Consistency) ([]BulkResult, string, error)
	LookupResources(ctx context.Context, req LookupResourcesRequest) (LookupResourcesResult, error)
	// LookupSubjects returns every subject that matches, sorted; for the
	// domain's own reads, which the rules bound (the holders of a tier).
	LookupSubjects(ctx context.Context, req LookupSubjectsRequest) ([]Subject, string, error)
	// LookupSubjectsPage returns one page of at most req.Limit subjects.
	LookupSubjectsPage(ctx context.Context, req LookupSubjectsRequest) (LookupSubjectsResult, error)
	Explain(ctx context.Context, req CheckRequest) (Explanation, error)

	ReadSchema(ctx context.Context) (string, error)
	WriteSchema(ctx context.Context, schema string) error

	// ReadRelationships returns every relationship that matches f; for the
	// domain's own reads, which the rules bound (one organisation's roles).
	ReadRelationships(ctx context.Context, f Filter, c Consistency) ([]Relationship, string, error)
	// ReadRelationshipsPage returns one page of at most req.Limit matches.
	ReadRelationshipsPage(ctx context.Context, req ReadRequest) (ReadResult, error)
	// Write applies w atomically; a failed precondition is ECONFLICT.
	Write(ctx context.Context, w Write) (string, error)
	// DeleteMatching deletes every relationship that matches any filter, in
	// batches as large as SpiceDB allows, and returns how many went.
	DeleteMatching(ctx context.Context, fs []Filter, a Audit) (int, string, error)

	// Ready returns nil once SpiceDB answers.
	Ready(ctx context.Context) error
}
