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
	// Permissions are the permissions of abilityPermissions(Object.Type),
	// each true when the actor holds it.
	Permissions map[string]bool
	// Actions, for a change request the actor may read, are its
	// transitions by the API's operation id (ActionAuthorise ...), each
	// true when the actor may make it now; nil otherwise.
	Actions map[string]bool
}

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
	out := Abilities{Object: obj, Permissions: held}
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
