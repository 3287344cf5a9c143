package client

import "github.com/gatehouse-authz/gatehouse/wire"

// The requests and answers of the API are the wire vocabulary the server
// answers in (package wire); the client names them for its callers.
type (
	// Consistency is how fresh a read must be; set one field. Nil lets the
	// server choose: it sees every write made through the same Gatehouse
	// process and is otherwise as fast as possible.
	Consistency = wire.Consistency
	// CheckRequest asks whether Subject holds Permission on Resource.
	CheckRequest = wire.CheckRequest
	// CheckResult is the answer to a check.
	CheckResult = wire.CheckResult
	// BulkCheckResult holds the answers of a bulk check in request order.
	BulkCheckResult = wire.BulkCheckResult
	// BulkItem is one answer of a bulk check: the result, or Error when
	// that item alone failed.
	BulkItem = wire.BulkItem
	// LookupResourcesRequest lists the resources a subject may reach.
	LookupResourcesRequest = wire.LookupResourcesRequest
	// LookupResourcesResult is one page of resources.
	LookupResourcesResult = wire.LookupResourcesResult
	// LookupSubjectsRequest lists the subjects that hold a permission.
	LookupSubjectsRequest = wire.LookupSubjectsRequest
	// LookupSubjectsResult lists the subjects found.
	LookupSubjectsResult = wire.LookupSubjectsResult
	// Explanation holds every chain of relationships that grants a check
	// or, for a denial, every way it could be granted and what each
	// lacks (X6).
	Explanation = wire.Explanation
	// PathUntil is until when one chain of an explanation lasts, and
	// which of its relationships end on their own (T5).
	PathUntil = wire.PathUntil
	// Expiring is a relationship that ends on its own, and when (T5).
	Expiring = wire.Expiring
	// WhyNotWay is one way a denied permission could be granted.
	WhyNotWay = wire.WhyNotWay
	// Missing is a relationship a way lacks, with who may write it.
	Missing = wire.Missing
	// BlockedBy is what shuts a way whatever is written, by rule ID.
	BlockedBy = wire.BlockedBy
	// Grantors are who may make a change now, and through which endpoint.
	Grantors = wire.Grantors
	// Relationships lists relationships in zed's notation.
	Relationships = wire.Relationships
	// WriteRelationshipsRequest is one atomic change of relationships.
	WriteRelationshipsRequest = wire.WriteRelationshipsRequest
	// WriteResult carries the ZedToken of a write.
	WriteResult = wire.WriteResult
	// AuditEvent is one recorded change (rule X2).
	AuditEvent = wire.AuditEvent
	// AuditLog is one page of the audit trail, newest first.
	AuditLog = wire.AuditLog
	// Organisation is a client organisation of the provider.
	Organisation = wire.Organisation
	// Abilities is what the actor may do on one object now.
	Abilities = wire.Abilities
	// Ownership is the owner after a transfer.
	Ownership = wire.Ownership
	// Member is one person on a team with their roles, when each role that
	// ends on its own ends (T5), and their designations.
	Member = wire.Member
	// Access is one permission a person holds, with the relationships that
	// grant it and until when.
	Access = wire.Access
	// AccessReview is one page of an organisation's access review.
	AccessReview = wire.AccessReview
	// MemberAccess is one person's access and latest changes.
	MemberAccess = wire.MemberAccess
	// Contractor is a contractor of one organisation (K1, K2).
	Contractor = wire.Contractor
	// ContractorPatch changes the fields of a contractor that are set.
	ContractorPatch = wire.ContractorPatch
	// Invoice is an invoice of one organisation.
	Invoice = wire.Invoice
	// NewChangeRequest files a change request.
	NewChangeRequest = wire.NewChangeRequest
	// ChangeRequest is the state of a change request.
	ChangeRequest = wire.ChangeRequest
	// GrantExceptionRequest grants an exception (C6).
	GrantExceptionRequest = wire.GrantExceptionRequest
	// Exception is a granted exception.
	Exception = wire.Exception
	// ChangeRequestList is one page of an organisation's change requests (C14).
	ChangeRequestList = wire.ChangeRequestList
	// ListedException is one exception of an organisation (C6, C14).
	ListedException = wire.ListedException
	// ExceptionList is one page of an organisation's exceptions.
	ExceptionList = wire.ExceptionList
	// FlagsRequest raises the C10/C11 flags of an open request (C15).
	FlagsRequest = wire.FlagsRequest
	// SubstantialRequest declares a kind always substantial (C15).
	SubstantialRequest = wire.SubstantialRequest
	// EditOrganisationRequest changes an organisation's details (O7).
	EditOrganisationRequest = wire.EditOrganisationRequest
)

// The change-request statuses (api.md).
const (
	StatusAuthorised = wire.StatusAuthorised
	StatusPending    = wire.StatusPending
	StatusBlocked    = wire.StatusBlocked
	StatusRejected   = wire.StatusRejected
	StatusWithdrawn  = wire.StatusWithdrawn
)

// ActorHeader is the header that names the person an admin request acts for.
const ActorHeader = wire.ActorHeader

// ZedTokenHeader carries the ZedToken of a write answered 204 No Content.
const ZedTokenHeader = wire.ZedTokenHeader

// PageSize is a lookup's Limit: at most n items a page. n of 0 or less
// is nil, which leaves the page size to the server (1000).
func PageSize(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}
