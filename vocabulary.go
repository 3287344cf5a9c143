package gatehouse

import "slices"

// The object types of the schema (schema/schema.zed), as domain.md names them.
const (
	TypeUser          = "user"
	TypeLabel         = "label"
	TypePlatform      = "platform"
	TypeOrganisation  = "organisation"
	TypeContractor    = "contractor"
	TypeInvoice       = "invoice"
	TypeChangeKind    = "change_kind"
	TypeChangeTarget  = "change_target"
	TypeChangeRequest = "change_request"
)

// The roles a user can hold in an organisation (a user may hold several).
// Each is a relation of organisation.
const (
	RoleOwner                  = "owner"
	RoleSecurityAdmin          = "security_admin"
	RoleAlternateSecurityAdmin = "alternate_security_admin"
	RoleAdministrator          = "administrator"
	RoleITManager              = "it_manager"
	RoleITAdmin                = "it_admin"
	RoleFinanceAdmin           = "finance_admin"
	RoleBillingManager         = "billing_manager"
	RoleCISProcessor           = "cis_processor"
)

// The designations a user can hold in an organisation in addition to
// roles. Each is a relation of organisation. Only provider staff give
// verified_director and unavailable_contact (C7, C9).
const (
	DesignationMainContact        = "main_contact"
	DesignationTechnicalContact   = "technical_contact"
	DesignationFinanceContact     = "finance_contact"
	DesignationAlternateContact   = "alternate_contact"
	DesignationDirector           = "director"
	DesignationVerifiedDirector   = "verified_director"
	DesignationUnavailableContact = "unavailable_contact"
	// DesignationNoFinancialAccess takes every financial permission away (R7).
	DesignationNoFinancialAccess = "no_financial_access"
)

// The kinds of change request (C2): standard is routine support, every
// other kind is non-standard and needs authorisation. Each is also a
// relation of change_request that names the organisation, so that the
// schema reads who authorises each kind.
const (
	KindStandard             = "standard"
	KindAccessPermissions    = "access_permissions"
	KindUserManagement       = "user_management"
	KindPublicFacing         = "public_facing"
	KindService              = "service"
	KindSensitiveInformation = "sensitive_information"
	KindConfiguration        = "configuration"
	KindSpending             = "spending"
)

// The relations of the schema that are neither a role, a designation nor a
// kind. LabelRelation (label.go) is the label of every labelled type.
const (
	// RelStaff is platform#staff: the provider's staff.
	RelStaff = "staff"
	// RelPlatform is organisation#platform: the provider an organisation belongs to.
	RelPlatform = "platform"
	// RelOrganisation is the organisation a contractor, invoice or change request belongs to.
	RelOrganisation = "organisation"
	// RelAdminOnly is contractor#admin_only, the wildcard flag of K2.
	RelAdminOnly = "admin_only"
	// RelException is the exception of a change_kind or change_target (C6).
	RelException = "exception"

	// The relations of change_request (C1-C12).
	RelRequester           = "requester"
	RelKind                = "kind"
	RelTarget              = "target"
	RelSubstantialSecurity = "substantial_security"
	RelSubstantialCharge   = "substantial_charge"
	RelLegalMandate        = "legal_mandate"
	RelAuthorisedBy        = "authorised_by"
	RelSecurityApprovedBy  = "security_approved_by"
	RelChargeApprovedBy    = "charge_approved_by"

	// The relations of change_request added by C13-C18.
	RelTargetUser              = "target_user"
	RelConfigurationApprovedBy = "configuration_approved_by"
	RelSpendApprovedBy         = "spend_approved_by"
	RelOverrideBy              = "override_by"
	RelOverrideConfirmedBy     = "override_confirmed_by"
	RelRejectedBy              = "rejected_by"
	RelWithdrawnBy             = "withdrawn_by"
	RelClosed                  = "closed"
	// RelSettled flags a request that needs nothing more (C14).
	RelSettled = "settled"

	// The always-substantial declarations of a change_kind or change_target (C15).
	RelAlwaysSecurity = "always_security"
	RelAlwaysCharge   = "always_charge"
)

// The permissions of the schema that Gatehouse itself checks or looks up.
// Backends check every permission of domain.md by name; these are the ones
// the workflows need.
const (
	// On platform.
	PermStaffMember = "staff_member"

	// On organisation.
	PermMember                         = "member"
	PermDelete                         = "delete"
	PermTransferOwnership              = "transfer_ownership"
	PermDelegateSecurityAdmin          = "delegate_security_admin"
	PermDelegateAlternateSecurityAdmin = "delegate_alternate_security_admin"
	PermManageMembers                  = "manage_members"
	PermManageTeamMembers              = "manage_team_members"
	PermManageDesignations             = "manage_designations"
	PermManageContractors              = "manage_contractors"
	PermManageBilling                  = "manage_billing"
	PermProviderStaff                  = "provider_staff"
	PermMainContacts                   = "main_contacts"
	PermUnavailableContacts            = "unavailable_contacts"
	PermEditDetails                    = "edit_details"
	PermApproveConfigChanges           = "approve_config_changes"
	PermApproveSpending                = "approve_spending"
	PermApproveSecurityChanges         = "approve_security_changes"
	PermApproveCharges                 = "approve_charges"
	PermListChangeRequests             = "list_change_requests"
	PermViewAllChangeRequests          = "view_all_change_requests"
	PermViewExceptions                 = "view_exceptions"
	// PermViewBilling opens the organisation's invoices (invoice#view;
	// R3, R6, R7), PermViewReports its audit trail (X2).
	PermViewBilling = "view_billing"
	PermViewReports = "view_reports"

	// PermEdit is contractor#edit: who may rename, flag or delete a
	// contractor (manage_contractors in its organisation, R4).
	PermEdit = "edit"

	// On change_request (and view also on contractor and invoice).
	PermView               = "view"
	PermStanding           = "standing"
	PermAuthorise          = "authorise"
	PermAuthoriseMain      = "authorise_main"
	PermAuthoriseAlternate = "authorise_alternate"
	PermAuthoriseDirector  = "authorise_director"
	PermApproveSecurity    = "approve_security"
	PermApproveCharge      = "approve_charge"
	PermAuthorised         = "authorised"
	PermSecurityApproved   = "security_approved"
	PermChargeApproved     = "charge_approved"

	// On change_request, added by C13-C18.
	PermApproveConfiguration  = "approve_configuration"
	PermApproveSpend          = "approve_spend"
	PermConfigurationApproved = "configuration_approved"
	PermSpendApproved         = "spend_approved"
	PermReject                = "reject"
	PermWithdraw              = "withdraw"
	PermRaiseFlags            = "raise_flags"
	PermOverride              = "override"
	PermConfirmOverride       = "confirm_override"
	// PermAwaiting is whoever may reject a request that is not settled (C14).
	PermAwaiting = "awaiting"
)

// Checked reports the permissions domain.md's tables list on objectType,
// the ones backends check by name, in the tables' order: what a dry run
// (X7) compares before and after a write. Nil for a type with none.
func Checked(objectType string) []string {
	switch objectType {
	case TypeOrganisation:
		return []string{
			PermMember, PermDelete, PermTransferOwnership, PermDelegateSecurityAdmin, PermDelegateAlternateSecurityAdmin,
			PermManageMembers, PermManageTeamMembers, PermEditDetails, PermViewBilling, PermManageBilling, PermManageContractors,
			"view_services", PermViewReports, "request_user_changes", "request_config_changes", "request_services",
			PermApproveConfigChanges, PermApproveSpending, PermApproveSecurityChanges, PermApproveCharges,
		}
	case TypeContractor:
		return []string{PermView, "edit"}
	case TypeInvoice:
		return []string{PermView, "pay", "approve"}
	case TypeChangeRequest:
		return []string{PermView, PermAuthorise}
	}
	return nil
}

// Provider is the platform every organisation is linked to, so that its
// staff reach the organisation by an arrow (S7, C7, C9, C12).
var Provider = Object{Type: TypePlatform, ID: "provider"}

// Roles are the roles a user can hold in an organisation, in domain.md's
// order. Holding any of them makes the user a member.
func Roles() []string {
	return []string{
		RoleOwner, RoleSecurityAdmin, RoleAlternateSecurityAdmin, RoleAdministrator,
		RoleITManager, RoleITAdmin, RoleFinanceAdmin, RoleBillingManager, RoleCISProcessor,
	}
}

// Designations are the designations a user can hold in an organisation, in
// domain.md's order, in addition to roles.
func Designations() []string {
	return []string{
		DesignationMainContact, DesignationTechnicalContact, DesignationFinanceContact, DesignationAlternateContact,
		DesignationDirector, DesignationVerifiedDirector, DesignationUnavailableContact, DesignationNoFinancialAccess,
	}
}

// Kinds returns every kind of change request (C2), standard first.
func Kinds() []string {
	return []string{KindStandard, KindAccessPermissions, KindUserManagement, KindPublicFacing, KindService, KindSensitiveInformation, KindConfiguration, KindSpending}
}

// IsRole reports whether r names a role.
func IsRole(r string) bool { return slices.Contains(Roles(), r) }

// IsDesignation reports whether d names a designation.
func IsDesignation(d string) bool { return slices.Contains(Designations(), d) }

// IsKind reports whether k names a kind of change request.
func IsKind(k string) bool { return slices.Contains(Kinds(), k) }
