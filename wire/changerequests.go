package wire

import "time"

// The change-request statuses (api.md).
const (
	StatusAuthorised = "authorised"
	StatusPending    = "pending"
	StatusBlocked    = "blocked"
	StatusRejected   = "rejected"
	StatusWithdrawn  = "withdrawn"
)

// NewChangeRequest files a change of one Kind (standard,
// access_permissions, user_management, public_facing, service,
// sensitive_information) on an optional Target ("page:pricing").
// ID may be left out: the server makes one and answers it. Title (one
// line, at most 120 bytes) and Description (at most 500 bytes, line
// breaks allowed) are optional display text, returned in every state.
// LegalReason marks a legally mandated change; only provider staff may
// give one, and it may not be blank (C12).
type NewChangeRequest struct {
	ID                  string  `json:"id,omitempty"`
	Kind                string  `json:"kind"`
	Target              string  `json:"target,omitempty"`
	Title               string  `json:"title,omitempty" openapi:"maxLength=120"`
	Description         string  `json:"description,omitempty" openapi:"maxLength=500"`
	SubstantialSecurity bool    `json:"substantialSecurity,omitempty"`
	SubstantialCharge   bool    `json:"substantialCharge,omitempty"`
	LegalReason         *string `json:"legalReason,omitempty"`
}

// ChangeRequest is the state of a change request, derived from SpiceDB when
// asked. Status is authorised, pending or blocked; Tier names who must
// authorise (main_contact, alternate_contact, verified_director or none);
// Authorisers are who may give what is needed now: the current tier's users
// while authorisation is needed, then the approvers of the approvals still
// needed. ApprovalsNeeded lists what is still missing (authorisation,
// security, charge); BlockedOn names what nobody may give.
type ChangeRequest struct {
	ID           string `json:"id"`
	Organisation string `json:"organisation"`
	Kind         string `json:"kind"`
	Target       string `json:"target,omitempty"`
	// Title and Description are the filer's display text, when given.
	Title               string   `json:"title,omitempty"`
	Description         string   `json:"description,omitempty"`
	Requester           string   `json:"requester"`
	SubstantialSecurity bool     `json:"substantialSecurity"`
	SubstantialCharge   bool     `json:"substantialCharge"`
	LegalMandate        bool     `json:"legalMandate"`
	Status              string   `json:"status"`
	Tier                string   `json:"tier"`
	Authorisers         []string `json:"authorisers"`
	ApprovalsNeeded     []string `json:"approvalsNeeded"`
	BlockedOn           []string `json:"blockedOn,omitempty"`
	AuthorisedBy        []string `json:"authorisedBy"`
	SecurityApprovedBy  []string `json:"securityApprovedBy,omitempty"`
	ChargeApprovedBy    []string `json:"chargeApprovedBy,omitempty"`
	// ConfigurationApprovedBy and SpendApprovedBy give C16's approvals.
	ConfigurationApprovedBy []string `json:"configurationApprovedBy,omitempty"`
	SpendApprovedBy         []string `json:"spendApprovedBy,omitempty"`
	// TargetUser is the user the request is about (C17): they neither
	// authorise nor approve it.
	TargetUser string `json:"targetUser,omitempty"`
	// OverrideBy overrode on mitigating circumstances, OverrideConfirmedBy
	// (a second staff member) confirmed it (C18).
	OverrideBy          string `json:"overrideBy,omitempty"`
	OverrideCategory    string `json:"overrideCategory,omitempty"`
	OverrideReason      string `json:"overrideReason,omitempty"`
	OverrideConfirmedBy string `json:"overrideConfirmedBy,omitempty"`
	// ClosedBy rejected or withdrew a closed request, at ClosedAt, for Reason (C13).
	ClosedBy string     `json:"closedBy,omitempty"`
	ClosedAt *time.Time `json:"closedAt,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	ZedToken string     `json:"zedToken"`
}

// ChangeRequestList is one page of an organisation's change requests
// (C14); a non-empty Cursor continues it.
type ChangeRequestList struct {
	ChangeRequests []ChangeRequest `json:"changeRequests"`
	Cursor         string          `json:"cursor,omitempty"`
}

// ListedException is one exception of an organisation (C6, C14).
type ListedException struct {
	User      string `json:"user"`
	Kind      string `json:"kind"`
	Target    string `json:"target,omitempty"`
	ExpiresAt string `json:"expiresAt,omitempty"`
}

// ExceptionList is one page of an organisation's exceptions; a non-empty
// Cursor continues it.
type ExceptionList struct {
	Exceptions []ListedException `json:"exceptions"`
	Cursor     string            `json:"cursor,omitempty"`
}

// RejectRequest says why an authoriser or approver says no (C13).
type RejectRequest struct {
	Reason string `json:"reason"`
}

// WithdrawRequest optionally says why the requester withdraws (C13).
type WithdrawRequest struct {
	Reason string `json:"reason,omitempty"`
}

// FlagsRequest raises the C10/C11 flags of an open request (C15): true
// raises, false or absent leaves the flag as it is (a flag is never lowered).
type FlagsRequest struct {
	SubstantialSecurity bool `json:"substantialSecurity,omitempty"`
	SubstantialCharge   bool `json:"substantialCharge,omitempty"`
}

// SubstantialRequest declares a kind (or kind and target) of an
// organisation always substantial (C15): each true flag is set, each
// false one cleared.
type SubstantialRequest struct {
	Security bool `json:"security,omitempty"`
	Charge   bool `json:"charge,omitempty"`
}

// OverrideRequest is provider staff authorising on mitigating
// circumstances (C18): a category and a reason.
type OverrideRequest struct {
	Category string `json:"category"`
	Reason   string `json:"reason"`
}

// AuthoriseRequest carries an optional note, recorded as the reason in the
// audit trail.
type AuthoriseRequest struct {
	Note string `json:"note,omitempty"`
}

// GrantExceptionRequest grants User the right to file one non-standard
// Kind, optionally only on Target, authorised when filed (C6), until
// ExpiresAt (RFC 3339) if given. Reason goes to the audit trail.
type GrantExceptionRequest struct {
	User      string `json:"user"`
	Kind      string `json:"kind"`
	Target    string `json:"target,omitempty"`
	ExpiresAt string `json:"expiresAt,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Exception is a granted exception.
type Exception struct {
	Organisation string `json:"organisation"`
	User         string `json:"user"`
	Kind         string `json:"kind"`
	Target       string `json:"target,omitempty"`
	ExpiresAt    string `json:"expiresAt,omitempty"`
	ZedToken     string `json:"zedToken"`
}
