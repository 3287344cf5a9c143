package wire

// CreateOrganisationRequest creates an organisation; the actor becomes its owner.
type CreateOrganisationRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Organisation is a client organisation of the provider: its id, name and
// owner (user:<id>).
type Organisation struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Owner    string `json:"owner"`
	ZedToken string `json:"zedToken,omitempty"`
}

// TransferOwnershipRequest names the new owner, a current team member, and why.
type TransferOwnershipRequest struct {
	To     string `json:"to"`
	Reason string `json:"reason,omitempty"`
}

// Ownership names the owner after a transfer.
type Ownership struct {
	Owner    string `json:"owner"`
	ZedToken string `json:"zedToken,omitempty"`
}

// Member is one person on an organisation's team, with the roles and
// designations they hold there, each sorted. ExpiresAt gives, for each
// role that ends on its own, when (RFC 3339, T5); a role that never does
// is not in it, and it is left out when no role does.
type Member struct {
	User         string            `json:"user"`
	Roles        []string          `json:"roles"`
	Designations []string          `json:"designations"`
	ExpiresAt    map[string]string `json:"expiresAt,omitempty"`
}

// Members lists the team, sorted by user.
type Members struct {
	Members  []Member `json:"members"`
	ZedToken string   `json:"zedToken,omitempty"`
}

// GrantRoleRequest is the optional body of a role grant: the reason for the
// audit trail; when provider staff delegate a security admin because SA
// and ASA are both unavailable, the verified director who asked (S7); and
// ExpiresAt (RFC 3339), when the grant lapses on its own (T5), never on
// owner, security_admin or alternate_security_admin. Granting again
// without it makes the role permanent.
type GrantRoleRequest struct {
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requestedBy,omitempty"`
	ExpiresAt   string `json:"expiresAt,omitempty"`
}

// CreateContractorRequest creates a contractor; AdminOnly hides it from all
// but owner, SA, ASA and administrators (K2).
type CreateContractorRequest struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	AdminOnly bool   `json:"adminOnly,omitempty"`
}

// ContractorPatch changes the fields that are set.
type ContractorPatch struct {
	Name      *string `json:"name,omitempty"`
	AdminOnly *bool   `json:"adminOnly,omitempty"`
}

// Contractor is a contractor and the organisation it belongs to (K1). An
// admin-only one is visible only to the owner, SA, ASA and administrators (K2).
type Contractor struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	AdminOnly    bool   `json:"adminOnly"`
	Organisation string `json:"organisation"`
	ZedToken     string `json:"zedToken,omitempty"`
}

// CreateInvoiceRequest creates an invoice: Amount a decimal string
// ("120.00", so that no float rounds it), Currency an ISO 4217 code.
type CreateInvoiceRequest struct {
	ID       string `json:"id"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Invoice is an invoice and the organisation it belongs to.
type Invoice struct {
	ID           string `json:"id"`
	Amount       string `json:"amount"`
	Currency     string `json:"currency"`
	Organisation string `json:"organisation"`
	ZedToken     string `json:"zedToken,omitempty"`
}

// DesignationRequest is the optional body of giving or taking a
// designation: why. Giving verified_director or unavailable_contact needs
// one (provider staff record why, C7, C9).
type DesignationRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ReasonRequest is the optional body of an action that takes nothing but
// why, for the audit trail (X2): revoking a role, removing a member,
// deleting a contractor.
type ReasonRequest struct {
	Reason string `json:"reason,omitempty"`
}

// EditOrganisationRequest changes an organisation's details (O7).
type EditOrganisationRequest struct {
	Name string `json:"name"`
}

// Access is one permission a person holds, for an access review: User
// holds Permission on On (an organisation, contractor or invoice), through
// Via, the relationships of theirs that grant it (a role or designation
// in the organisation, or provider staff). Until (RFC 3339) is when the
// last of them ends (T5); null when one never does.
type Access struct {
	User       string   `json:"user"`
	Permission string   `json:"permission"`
	On         string   `json:"on"`
	Via        []string `json:"via"`
	Until      *string  `json:"until" openapi:"nullable"`
}

// AccessReview is one page of an organisation's access review: the rows
// of a page of members, by user, with a cursor while more members remain.
// Truncated says the organisation has more contractors or invoices than a
// review weighs (100 of each, by id): the rows on the others are left out.
type AccessReview struct {
	Access    []Access `json:"access"`
	Cursor    string   `json:"cursor,omitempty"`
	Truncated bool     `json:"truncated"`
}

// MemberAccess is one person's access in an organisation, with its paths
// (Truncated as in AccessReview), and the latest changes they made there,
// newest first (at most 20).
type MemberAccess struct {
	User          string       `json:"user"`
	Access        []Access     `json:"access"`
	Truncated     bool         `json:"truncated"`
	RecentChanges []AuditEvent `json:"recentChanges"`
}

// Abilities is what the actor may do on one object now (issue 22: show
// only the buttons that will not be refused): each permission the
// workflow's commands on it require, and whether the actor holds it; for
// a change request the actor may read, also its transitions by operation
// id (authoriseChangeRequest, rejectChangeRequest, withdrawChangeRequest,
// raiseFlags, overrideChangeRequest, confirmOverride), each true when the
// actor may make it now. Every action is decided again when it is sent.
type Abilities struct {
	Object      string          `json:"object"`
	Permissions map[string]bool `json:"permissions"`
	Actions     map[string]bool `json:"actions,omitempty"`
}
