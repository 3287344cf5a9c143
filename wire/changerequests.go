package wire

// The change-request statuses (api.md).
const (
	StatusAuthorised = "authorised"
	StatusPending    = "pending"
	StatusBlocked    = "blocked"
)

// NewChangeRequest files a change of one Kind (standard,
// access_permissions, user_management, public_facing, service,
// sensitive_information) on an optional Target ("page:pricing").
// LegalReason marks a legally mandated change; only provider staff may
// give one, and it may not be blank (C12).
type NewChangeRequest struct {
	ID                  string  `json:"id"`
	Kind                string  `json:"kind"`
	Target              string  `json:"target,omitempty"`
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
	ID                  string   `json:"id"`
	Organisation        string   `json:"organisation"`
	Kind                string   `json:"kind"`
	Target              string   `json:"target,omitempty"`
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
	ZedToken            string   `json:"zedToken"`
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
