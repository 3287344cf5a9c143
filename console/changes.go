package console

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-authz/gatehouse"
)

// crActions are the forms of a change request's page beyond authorise,
// reject and withdraw, offered where the workflow's Abilities on it says
// the actor may make the transition now.
type crActions struct {
	// Flag: raise_flags, and a flag is still down (C15).
	Flag bool
	// Override: provider staff, while it still needs authorisation and
	// nobody has overridden it (C18).
	Override bool
	// Confirm: a second staff member, while an override waits (C18).
	Confirm bool
}

// viewRefusal adds to refused, ChangeRequest's refusal of actor's view of
// the request id, who may view a request, and, when actor may raise its
// flags all the same (C15: approvers of charges or security hold
// raise_flags on every request not closed, view_reports or not), that
// they may while it is open, though only by its id. Whether it is open
// is not said: that is part of what they may not read.
func (c *console) viewRefusal(r *http.Request, actor gatehouse.Subject, id string, refused error) error {
	hint := "A change request is shown to its requester, to holders of view_reports, to provider staff and to whoever is asked to authorise or approve it (C14). You are none of these for this one, so it is in none of your lists either."
	ab, err := c.cfg.Workflow.Abilities(r.Context(), actor, gatehouse.ChangeRequestRef(id))
	if err != nil {
		return err
	}
	if ab.Can(gatehouse.PermRaiseFlags) {
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
