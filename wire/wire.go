// Package wire is the vocabulary of Gatehouse's HTTP API (api.md): the JSON
// shapes of every request and answer, the error body and the one table that
// maps error codes to HTTP statuses. The server answers in these types and
// the client sends and reads them, so the two cannot drift apart; the
// server's /openapi.json is generated from them too.
//
// wire imports only the standard library and the root package's error
// codes; server/, console/ and client/ import it.
package wire

// ActorHeader names the person an admin request acts for: user:<id>.
const ActorHeader = "Gatehouse-Actor"

// ZedTokenHeader carries the ZedToken of a write answered 204 No Content.
const ZedTokenHeader = "Gatehouse-Zed-Token"

// Consistency is how fresh a read must be, in SpiceDB's terms; set at most
// one field. Nil lets the server choose: it sees every write made through
// the same Gatehouse process and is otherwise as fast as possible.
type Consistency struct {
	AtLeastAsFresh  string `json:"atLeastAsFresh,omitempty"`
	FullyConsistent bool   `json:"fullyConsistent,omitempty"`
	MinimizeLatency bool   `json:"minimizeLatency,omitempty"`
}

// CheckRequest asks whether Subject ("user:alice", or "type:id#relation")
// holds Permission on Resource ("contractor:c1"). Context feeds caveats.
type CheckRequest struct {
	Resource    string         `json:"resource"`
	Permission  string         `json:"permission"`
	Subject     string         `json:"subject"`
	Context     map[string]any `json:"context,omitempty"`
	Consistency *Consistency   `json:"consistency,omitempty"`
}

// CheckResult is the answer to a check. Conditional means a caveat lacked
// context; MissingContext names what it lacked.
type CheckResult struct {
	Allowed        bool     `json:"allowed"`
	Conditional    bool     `json:"conditional,omitempty"`
	MissingContext []string `json:"missingContext,omitempty"`
	ZedToken       string   `json:"zedToken,omitempty"`
}

// BulkCheckRequest carries up to 1000 checks answered together; Consistency
// applies to every item.
type BulkCheckRequest struct {
	Items       []CheckRequest `json:"items"`
	Consistency *Consistency   `json:"consistency,omitempty"`
}

// BulkItem is one answer of a bulk check: the result, or Error when that
// item alone failed (a malformed reference, say). An item with an error
// carries no result fields.
type BulkItem struct {
	CheckResult `openapi:"optional"`

	Error *ErrorDetail `json:"error,omitempty"`
}

// BulkCheckResult holds the answers of a bulk check in request order.
type BulkCheckResult struct {
	Results  []BulkItem `json:"results"`
	ZedToken string     `json:"zedToken,omitempty"`
}

// Reads are bounded (api.md): a list answers at most Limit items,
// DefaultLimit when the request names none, and a cursor while more remain.
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
)

// LookupResourcesRequest lists the resources of ResourceType on which
// Subject holds Permission. Limit (1 to MaxLimit; nil for DefaultLimit)
// and Cursor, the Cursor of the previous page, page through them.
type LookupResourcesRequest struct {
	ResourceType string         `json:"resourceType"`
	Permission   string         `json:"permission"`
	Subject      string         `json:"subject"`
	Context      map[string]any `json:"context,omitempty"`
	Limit        *int           `json:"limit,omitempty" openapi:"minimum=1,maximum=10000,default=1000"`
	Cursor       string         `json:"cursor,omitempty"`
	Consistency  *Consistency   `json:"consistency,omitempty"`
}

// LookupResourcesResult is one page of resources ("contractor:c1"); a
// Cursor, present while more remain, continues it.
type LookupResourcesResult struct {
	Resources []string `json:"resources"`
	Cursor    string   `json:"cursor,omitempty"`
	ZedToken  string   `json:"zedToken,omitempty"`
}

// LookupSubjectsRequest lists the subjects of SubjectType (with
// SubjectRelation, if set) that hold Permission on Resource. Limit and
// Cursor page through them as in LookupResourcesRequest.
type LookupSubjectsRequest struct {
	Resource        string         `json:"resource"`
	Permission      string         `json:"permission"`
	SubjectType     string         `json:"subjectType"`
	SubjectRelation string         `json:"subjectRelation,omitempty"`
	Context         map[string]any `json:"context,omitempty"`
	Limit           *int           `json:"limit,omitempty" openapi:"minimum=1,maximum=10000,default=1000"`
	Cursor          string         `json:"cursor,omitempty"`
	Consistency     *Consistency   `json:"consistency,omitempty"`
}

// LookupSubjectsResult is one page of the subjects found ("user:alice"),
// in order of id; a Cursor, present while more remain, continues it.
type LookupSubjectsResult struct {
	Subjects []string `json:"subjects"`
	Cursor   string   `json:"cursor,omitempty"`
	ZedToken string   `json:"zedToken,omitempty"`
}

// Explanation tells why a check answered as it did: Paths holds every chain
// of relationships that grants the permission, each in zed's notation
// ("organisation:acme#administrator@user:bob"). Truncated says the search
// for chains hit its bound in depth or time: Paths holds the chains found
// so far, and Allowed is still the check's whole answer.
//
// A relationship that ends on its own (T5) is written with its
// expiration ("…@user:carla[expiration:2026-12-07T11:00:00Z]"), and
// PathsUntil then says, path by path in the order of Paths, until when
// each lasts; it is absent when nothing on any path expires.
//
// On a denial, WhyNot holds each way the permission could have been
// granted and what it lacks (X6), and Summary says it in one sentence;
// Truncated then also covers that search (the same bounds: 32 levels
// deep, 3 seconds, 100 ways).
type Explanation struct {
	Allowed    bool        `json:"allowed"`
	Paths      [][]string  `json:"paths"`
	PathsUntil []PathUntil `json:"pathsUntil,omitempty"`
	WhyNot     []WhyNotWay `json:"whyNot,omitempty"`
	Summary    string      `json:"summary,omitempty"`
	Truncated  bool        `json:"truncated,omitempty"`
	ZedToken   string      `json:"zedToken,omitempty"`
}

// PathUntil is until when one path of an explanation lasts (T5): Until
// (RFC 3339) is the earliest expiry of a relationship on it, null when
// none of them expires; Expiring names each relationship on it that does,
// with its own Until.
type PathUntil struct {
	Until    *string    `json:"until" openapi:"nullable"`
	Expiring []Expiring `json:"expiring,omitempty"`
}

// Expiring is a relationship that ends on its own (T5), in zed's notation,
// and Until (RFC 3339) when.
type Expiring struct {
	Relationship string `json:"relationship"`
	Until        string `json:"until"`
}

// WhyNotWay is one way a denied permission could be granted (X6): Via is
// the path through the schema from the resource ("organisation->
// view_admin_only_contractors->manage_contractors->administrator"; an
// arrow is written tupleset->permission). The way grants once every
// Missing relationship is written and no BlockedBy holds.
type WhyNotWay struct {
	Via       string      `json:"via"`
	Missing   []Missing   `json:"missing,omitempty"`
	BlockedBy []BlockedBy `json:"blockedBy,omitempty"`
}

// Missing is a relationship a way lacks, in zed's notation
// ("organisation:brightcis#administrator@user:carla"), and, when an
// endpoint writes it, who may: Grantors.
type Missing struct {
	Relationship string    `json:"relationship"`
	Grantors     *Grantors `json:"grantors,omitempty"`
}

// BlockedBy is what shuts a way whatever is written: a subtraction whose
// subtracted side holds the subject, or an intersection whose other side
// does not. Relation is where it bites ("contractor:c3#admin_only"), Rule
// the rule ID of domain.md it keeps (K2) and Reason that rule in words;
// Lift, when an endpoint takes it away, who may.
type BlockedBy struct {
	Relation string    `json:"relation"`
	Rule     string    `json:"rule,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Lift     *Grantors `json:"lift,omitempty"`
}

// Grantors are who may make a change now: the Endpoint that makes it
// ("PUT /v1/organisations/brightcis/members/carla/roles/administrator"),
// the Permission it requires On an object, and the first ten Subjects
// holding it; More says there are others. Until gives, for each of
// Subjects who holds the Permission only through roles that expire (T5),
// when the last of them ends (RFC 3339); the others hold it until
// someone takes it away.
type Grantors struct {
	Endpoint   string            `json:"endpoint"`
	Permission string            `json:"permission"`
	On         string            `json:"on"`
	Subjects   []string          `json:"subjects"`
	More       bool              `json:"more,omitempty"`
	Until      map[string]string `json:"until,omitempty"`
}
