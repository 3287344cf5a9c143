package workflow

import (
	"context"
	"slices"

	"github.com/gatehouse-authz/gatehouse"
)

// Abilities answers "what may this actor do here": for an organisation, a
// contractor, an invoice, a change request or the platform, each
// permission the workflow's commands on it require, and whether the actor
// holds it now; for a change request, also which of its transitions the
// actor may make in the state it is in. An adapter shows only the actions
// it allows (issue 22: the console's buttons, an application's); the
// workflow decides each action again when it is sent.
type Abilities struct {
	Object gatehouse.Object
	// Actor is whom it answers for.
	Actor gatehouse.Subject
	// Permissions are the permissions of abilityPermissions(Object.Type),
	// each true when the actor holds it.
	Permissions map[string]bool
	// Actions, for a change request the actor may read, are its
	// transitions by the API's operation id (ActionAuthorise ...), each
	// true when the actor may make it now; for an organisation, its reads
	// (ReadTeam ...), each true when the actor may make it; nil otherwise.
	Actions map[string]bool
}

// The reads of an organisation that Abilities.Actions names, by the API's
// operation ids where the API has the read (ReadTeam and the contractor
// and invoice lists are the workflow's, which the console's pages call).
const (
	// ReadTeam: the organisation's team, for a member (GetOrganisation,
	// Members), or the forms only provider staff use (C7, C9, S7).
	ReadTeam              = "team"
	ReadContractors       = "listContractors"
	ReadInvoices          = "listInvoices"
	ReadChangeRequests    = "listChangeRequests"
	ReadExceptions        = "listExceptions"
	ReadAlwaysSubstantial = "listAlwaysSubstantial"
	ReadAudit             = "listAudit"
	ReadAccessReview      = "reviewAccess"
)

// The commands on an organisation that Abilities.Actions names, by the
// API's operation ids (delegation is grantRole of security_admin and of
// alternate_security_admin, S3, S5).
const (
	ActionCreateContractor     = "createContractor"
	ActionCreateInvoice        = "createInvoice"
	ActionGrantException       = "grantException"
	ActionDelegateSA           = "delegateSecurityAdmin"
	ActionDelegateASA          = "delegateAlternateSecurityAdmin"
	ActionSetAlwaysSubstantial = "setAlwaysSubstantial"
)

// orgCommands are, for each command on an organisation, the permission its
// guard requires (CreateContractor: manage_contractors, K1; CreateInvoice:
// manage_billing, R3, R6; GrantException: main_contacts, C6; the
// delegations, S3, S5; SetAlwaysSubstantial: manage_members, C15).
var orgCommands = map[string]string{
	ActionCreateContractor:     gatehouse.PermManageContractors,
	ActionCreateInvoice:        gatehouse.PermManageBilling,
	ActionGrantException:       gatehouse.PermMainContacts,
	ActionDelegateSA:           gatehouse.PermDelegateSecurityAdmin,
	ActionDelegateASA:          gatehouse.PermDelegateAlternateSecurityAdmin,
	ActionSetAlwaysSubstantial: gatehouse.PermManageMembers,
}

// orgReads are, for each read of an organisation, the permissions of which
// its guard needs any one: the reads' own guards (GetOrganisation: member;
// ListInvoices: view_billing, R3, R6, R7; ListChangeRequests:
// list_change_requests, C14; ListExceptions: view_exceptions, C14;
// ListAlwaysSubstantial: manage_members, C15; the audit trail:
// view_reports, X2; Access: view_reports or provider staff).
var orgReads = map[string][]string{
	ReadTeam:              {gatehouse.PermMember, gatehouse.PermProviderStaff},
	ReadContractors:       {gatehouse.PermMember},
	ReadInvoices:          {gatehouse.PermViewBilling},
	ReadChangeRequests:    {gatehouse.PermListChangeRequests},
	ReadExceptions:        {gatehouse.PermViewExceptions},
	ReadAlwaysSubstantial: {gatehouse.PermManageMembers},
	ReadAudit:             {gatehouse.PermViewReports},
	ReadAccessReview:      {gatehouse.PermViewReports, gatehouse.PermProviderStaff},
}

// May reports whether the actor may make the action or read named (an
// Actions key).
func (a Abilities) May(action string) bool { return a.Actions[action] }

// MayGrantRole reports whether the actor may grant and revoke role;
// nobody may the owner's, which changes by transfer only (O4, O6).
func (a Abilities) MayGrantRole(role string) bool {
	return role != gatehouse.RoleOwner && a.Permissions[RolePermission(role)]
}

// MayDesignate reports whether the actor may give and take away
// designation (C7, C9, T4).
func (a Abilities) MayDesignate(designation string) bool {
	return a.Permissions[DesignationPermission(designation)]
}

// MayManageTeam reports whether the actor may remove anyone at all: the
// manage_team_members every removal needs (T2).
func (a Abilities) MayManageTeam() bool { return a.Permissions[gatehouse.PermManageTeamMembers] }

// MayRemove reports whether the actor may remove m from the team: never
// the owner (O6); manage_team_members and each permission
// RemovalPermissions names for m's roles and designations (T2, S2).
// Exceptions, which a member listing does not read, may still need
// manage_members: RemoveMember decides that when it is sent.
func (a Abilities) MayRemove(m Member) bool {
	if slices.Contains(m.Roles, gatehouse.RoleOwner) || !a.MayManageTeam() {
		return false
	}
	for _, p := range RemovalPermissions(m.Roles, len(m.Designations) > 0) {
		if !a.Permissions[p] {
			return false
		}
	}
	return true
}

// MayReview reports whether the actor may read user's access
// (MemberAccess, requireReviewer): their own as a member, anyone's with
// view_reports or as provider staff.
func (a Abilities) MayReview(user gatehouse.Subject) bool {
	return a.Actions[ReadAccessReview] || (user == a.Actor && a.Permissions[gatehouse.PermMember])
}

// MayExportAccess reports whether the actor may read the organisation's
// access review (Access: view_reports or provider staff).
func (a Abilities) MayExportAccess() bool { return a.Actions[ReadAccessReview] }

// IsMember reports whether the actor is on the organisation's team.
func (a Abilities) IsMember() bool { return a.Permissions[gatehouse.PermMember] }

// IsStaff reports whether the actor is provider staff of the organisation.
func (a Abilities) IsStaff() bool { return a.Permissions[gatehouse.PermProviderStaff] }

// Can reports whether the actor holds permission on the object.
func (a Abilities) Can(permission string) bool { return a.Permissions[permission] }

// The transitions of a change request that Abilities.Actions names, by the
// API's operation ids.
const (
	ActionAuthorise       = "authoriseChangeRequest"
	ActionReject          = "rejectChangeRequest"
	ActionWithdraw        = "withdrawChangeRequest"
	ActionRaiseFlags      = "raiseFlags"
	ActionOverride        = "overrideChangeRequest"
	ActionConfirmOverride = "confirmOverride"
)

// abilityPermissions are, for each type Abilities answers on, the
// permissions the workflow's commands and reads on an object of it
// require (requirePins, require, RolePermission, DesignationPermission),
// in a fixed order. nil for a type it does not answer on.
func abilityPermissions(typ string) []string {
	switch typ {
	case gatehouse.TypeOrganisation:
		ps := []string{
			gatehouse.PermMember, gatehouse.PermProviderStaff,
			gatehouse.PermEditDetails, gatehouse.PermDelete, gatehouse.PermTransferOwnership,
			gatehouse.PermManageTeamMembers, gatehouse.PermManageMembers, gatehouse.PermManageDesignations,
			gatehouse.PermDelegateSecurityAdmin, gatehouse.PermDelegateAlternateSecurityAdmin,
			gatehouse.PermManageContractors, gatehouse.PermViewBilling, gatehouse.PermManageBilling,
			gatehouse.PermViewReports, gatehouse.PermListChangeRequests, gatehouse.PermViewAllChangeRequests,
			gatehouse.PermViewExceptions, gatehouse.PermMainContacts,
		}
		add := func(p string) {
			if !slices.Contains(ps, p) {
				ps = append(ps, p)
			}
		}
		for _, r := range gatehouse.Roles() {
			if r != gatehouse.RoleOwner {
				add(RolePermission(r))
			}
		}
		for _, d := range gatehouse.Designations() {
			add(DesignationPermission(d))
		}
		return ps
	case gatehouse.TypeContractor:
		return []string{gatehouse.PermView, gatehouse.PermEdit}
	case gatehouse.TypeInvoice:
		return []string{gatehouse.PermView}
	case gatehouse.TypeChangeRequest:
		return []string{gatehouse.PermView, gatehouse.PermReject, gatehouse.PermWithdraw, gatehouse.PermRaiseFlags, gatehouse.PermOverride, gatehouse.PermConfirmOverride}
	case gatehouse.TypePlatform:
		return []string{gatehouse.PermStaffMember}
	}
	return nil
}

// AbilityTypes are the types of object Abilities answers on.
func AbilityTypes() []string {
	return []string{gatehouse.TypeOrganisation, gatehouse.TypeContractor, gatehouse.TypeInvoice, gatehouse.TypeChangeRequest, gatehouse.TypePlatform}
}

// Abilities returns what actor may do on obj now: one CheckBulk at the
// head revision over abilityPermissions(obj.Type), and, for a change
// request actor may read (ChangeRequest), its transitions open to them.
// An object that does not exist answers every permission false, so the
// answer tells nobody whether it exists (X1). A type it does not answer on
// is 400 naming object.
func (s *Service) Abilities(ctx context.Context, actor gatehouse.Subject, obj gatehouse.Object) (Abilities, error) {
	perms := abilityPermissions(obj.Type)
	if perms == nil {
		return Abilities{}, gatehouse.Invalid("object", "abilities are answered on an organisation, contractor, invoice, change_request or platform, not %q", obj.Type)
	}
	if err := validID("object", obj.ID); err != nil {
		return Abilities{}, err
	}
	if obj.Type == gatehouse.TypeOrganisation {
		if err := validOrg("object", obj.ID); err != nil {
			return Abilities{}, err
		}
	}
	held, err := s.holdsEach(ctx, obj, actor, perms)
	if err != nil {
		return Abilities{}, err
	}
	out := Abilities{Object: obj, Actor: actor, Permissions: held}
	if obj.Type == gatehouse.TypeOrganisation {
		out.Actions = make(map[string]bool, len(orgReads)+len(orgCommands))
		for read, anyOf := range orgReads {
			out.Actions[read] = slices.ContainsFunc(anyOf, func(p string) bool { return held[p] })
		}
		for cmd, p := range orgCommands {
			out.Actions[cmd] = held[p]
		}
	}
	if obj.Type == gatehouse.TypeChangeRequest {
		if out.Actions, err = s.crActions(ctx, actor, obj.ID, held); err != nil {
			return Abilities{}, err
		}
	}
	return out, nil
}

// holdsEach checks, in one bulk call at the head revision, which of perms
// actor holds on obj.
func (s *kit) holdsEach(ctx context.Context, obj gatehouse.Object, actor gatehouse.Subject, perms []string) (map[string]bool, error) {
	checks := make([]gatehouse.CheckRequest, len(perms))
	for i, p := range perms {
		checks[i] = gatehouse.CheckRequest{Resource: obj, Permission: p, Subject: actor}
	}
	results, _, err := s.store.CheckBulk(ctx, checks, latest)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(perms))
	for i, r := range results {
		if r.Err != nil {
			return nil, r.Err
		}
		out[perms[i]] = r.Allowed
	}
	return out, nil
}

// crActions are the transitions actor may make now on the change request
// id, whose permissions held are: none on one that is closed, and nil when
// actor may not read it, as what state it is in is then none of theirs.
// The rules are the transitions' own: authorise and reject to those it
// awaits (its current tier, an approver it still needs), withdraw to its
// requester, flags while one is down (C15), an override while it still
// needs authorisation and none was made, its confirmation while one waits
// (C18).
func (s *Service) crActions(ctx context.Context, actor gatehouse.Subject, id string, held map[string]bool) (map[string]bool, error) {
	cr, err := s.ChangeRequest(ctx, actor, id)
	if code := gatehouse.ErrorCode(err); err != nil && (code == gatehouse.EFORBIDDEN || code == gatehouse.ENOTFOUND) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	open := cr.Open()
	return map[string]bool{
		ActionAuthorise:       open && cr.Awaits(actor),
		ActionReject:          open && cr.Awaits(actor),
		ActionWithdraw:        open && cr.Requester == actor,
		ActionRaiseFlags:      open && held[gatehouse.PermRaiseFlags] && (!cr.SubstantialSecurity || !cr.SubstantialCharge),
		ActionOverride:        open && held[gatehouse.PermOverride] && cr.OverrideBy == nil && cr.Needs(NeedAuthorisation),
		ActionConfirmOverride: open && held[gatehouse.PermConfirmOverride] && cr.OverrideBy != nil && cr.OverrideConfirmedBy == nil,
	}, nil
}
