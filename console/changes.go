package console

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// crActions are the forms of a change request's page beyond authorise,
// reject and withdraw, offered by what the actor holds on it now.
type crActions struct {
	// Flag: raise_flags, and a flag is still down (C15).
	Flag bool
	// Override: provider staff, while it still needs authorisation and
	// nobody has overridden it (C18).
	Override bool
	// Confirm: a second staff member, while an override waits (C18).
	Confirm bool
}

// crActionsOf returns the actions actor may be offered on the open request cr.
func (c *console) crActionsOf(r *http.Request, cr workflow.ChangeRequest, actor gatehouse.Subject) (crActions, error) {
	if !cr.Open() {
		return crActions{}, nil
	}
	perms, err := c.can(r, gatehouse.ChangeRequestRef(cr.ID), actor, gatehouse.PermRaiseFlags, gatehouse.PermOverride, gatehouse.PermConfirmOverride)
	if err != nil {
		return crActions{}, err
	}
	return crActions{
		Flag:     perms[gatehouse.PermRaiseFlags] && (!cr.SubstantialSecurity || !cr.SubstantialCharge),
		Override: perms[gatehouse.PermOverride] && cr.OverrideBy == nil && cr.Needs(workflow.NeedAuthorisation),
		Confirm:  perms[gatehouse.PermConfirmOverride] && cr.OverrideBy != nil && cr.OverrideConfirmedBy == nil,
	}, nil
}

// viewRefusal adds to refused, ChangeRequest's refusal of actor's view of
// the request id, who may view a request, and, when actor may raise its
// flags all the same (C15: approvers of charges or security hold
// raise_flags on every request not closed, view_reports or not), that
// they may while it is open, though only by its id. Whether it is open
// is not said: that is part of what they may not read.
func (c *console) viewRefusal(r *http.Request, actor gatehouse.Subject, id string, refused error) error {
	hint := "A change request is shown to its requester, to holders of view_reports, to provider staff and to whoever is asked to authorise or approve it (C14). You are none of these for this one, so it is in none of your lists either."
	flags, err := c.allowed(r, gatehouse.ChangeRequestRef(id), gatehouse.PermRaiseFlags, actor)
	if err != nil {
		return err
	}
	if flags {
		hint += " While it is open you may still raise its flags (C15: raise_flags), but only by its id, through the API's POST /v1/change-requests/" + id + "/flags: the console offers a request's forms only on its page."
	}
	return hinted{error: refused, hint: hint}
}

// handleRaiseFlags serves POST /console/change-requests/{id}/flags:
// RaiseFlags with the form's substantial_security and substantial_charge,
// as POST /v1/change-requests/{id}/flags does (C10, C11, C13, C15).
func (c *console) handleRaiseFlags(w http.ResponseWriter, r *http.Request, a actorCtx) {
	id := r.PathValue("id")
	f := r.PostForm
	if _, err := c.cfg.Workflow.RaiseFlags(r.Context(), a.actor, id, f.Get("substantial_security") == "true", f.Get("substantial_charge") == "true"); err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	done(w, r, basePath+"/change-requests/"+url.PathEscape(id), "raised")
}

// handleOverride serves POST /console/change-requests/{id}/override:
// Override with the form's category and reason, as
// POST /v1/change-requests/{id}/override does (provider staff; C13, C18).
func (c *console) handleOverride(w http.ResponseWriter, r *http.Request, a actorCtx) {
	id := r.PathValue("id")
	if _, err := c.cfg.Workflow.Override(r.Context(), a.actor, id, r.PostForm.Get("category"), r.PostForm.Get("reason")); err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	done(w, r, basePath+"/change-requests/"+url.PathEscape(id), "overridden")
}

// handleConfirmOverride serves POST /console/change-requests/{id}/override/confirm:
// ConfirmOverride, as POST /v1/change-requests/{id}/override/confirm does
// (a second, different staff member; C18).
func (c *console) handleConfirmOverride(w http.ResponseWriter, r *http.Request, a actorCtx) {
	id := r.PathValue("id")
	if _, err := c.cfg.Workflow.ConfirmOverride(r.Context(), a.actor, id); err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	done(w, r, basePath+"/change-requests/"+url.PathEscape(id), "confirmed")
}
