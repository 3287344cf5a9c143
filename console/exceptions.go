package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// nonStandardKinds are the kinds an exception or a declaration may name
// in a form (C2, C6).
func nonStandardKinds() []string {
	return slices.DeleteFunc(gatehouse.Kinds(), func(k string) bool { return k == gatehouse.KindStandard })
}

// handleExceptions serves GET /console/organisations/{org}/exceptions:
// ListExceptions a page at a time, as GET /v1/organisations/{org}/exceptions
// does (main contacts and provider staff; C6, C14), with the grant and
// revoke forms for main contacts.
func (c *console) handleExceptions(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	list, cursor, err := c.cfg.Workflow.ListExceptions(r.Context(), a.actor, org, pageSize, r.URL.Query().Get("cursor"))
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	ab, err := c.cfg.Workflow.Abilities(r.Context(), a.actor, gatehouse.OrganisationRef(org))
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	next := ""
	if cursor != "" {
		next = "?cursor=" + url.QueryEscape(cursor)
	}
	c.render(w, r, http.StatusOK, "exceptions", view{Title: "Exceptions of " + org, Org: org, Done: doneOf(r), Data: struct {
		Exceptions []workflow.ListedException
		Main       bool
		Kinds      []string
		Next       string
	}{list, ab.May(workflow.ActionGrantException), nonStandardKinds(), next}})
}

// handleGrantException serves POST /console/organisations/{org}/exceptions:
// GrantException with the form's user, kind, optional target and expiry
// (a date, meaning 00:00 UTC that day, or an RFC 3339 time) and reason, as
// POST /v1/organisations/{org}/exceptions does (C6, C7).
func (c *console) handleGrantException(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	f := r.PostForm
	ex := workflow.Exception{Organisation: org, User: userOf(r, "user"), Kind: f.Get("kind"), Target: f.Get("target")}
	at, err := parseDay("expiresAt", strings.TrimSpace(f.Get("expires_at")), false)
	if err != nil {
		c.refuse(w, r, a, org, err, "except", c.handleExceptions)
		return
	}
	if !at.IsZero() {
		ex.ExpiresAt = &at
	}
	if _, err := c.cfg.Workflow.GrantException(r.Context(), a.actor, ex, f.Get("reason")); err != nil {
		c.refuse(w, r, a, org, err, "except", c.handleExceptions)
		return
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(org)+"/exceptions", "excepted")
}

// handleRevokeException serves POST /console/organisations/{org}/exceptions/{user}/{kind}/revoke:
// RevokeExceptions of the user for the kind, whole kind and every target,
// as DELETE /v1/organisations/{org}/exceptions/{user}/{kind} does (C6, C7),
// with the form's optional reason or one saying none was given.
func (c *console) handleRevokeException(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	id := r.PathValue("user")
	if !gatehouse.ValidID(id) {
		c.fail(w, r, a, org, gatehouse.Invalid("user", "%q is not a valid user id", id))
		return
	}
	if _, _, err := c.cfg.Workflow.RevokeExceptions(r.Context(), a.actor, org, gatehouse.User(id), r.PathValue("kind"), reasonOr(r, "Revoke on the console's exceptions page")); err != nil {
		c.refuse(w, r, a, org, err, "", c.handleExceptions)
		return
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(org)+"/exceptions", "unexcepted")
}

// handleSubstantial serves GET /console/organisations/{org}/substantial:
// the kinds (and targets) declared always substantial, a page at a time
// (after=<kind|target>), and the forms to declare and lift them, for
// holders of manage_members, who alone may change them (C15): the
// workflow's ListAlwaysSubstantial, which refuses anyone else with 403
// naming manage_members.
func (c *console) handleSubstantial(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	if _, err := c.cfg.Workflow.GetOrganisation(r.Context(), a.actor, org); err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	all, err := c.cfg.Workflow.ListAlwaysSubstantial(r.Context(), a.actor, org)
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	after := r.URL.Query().Get("after")
	start, _ := slices.BinarySearchFunc(all, after, func(d workflow.Declaration, k string) int { return strings.Compare(d.Key(), k) })
	if start < len(all) && all[start].Key() == after {
		start++
	}
	page := all[start:]
	next := ""
	if len(page) > pageSize {
		page = page[:pageSize]
		next = "?after=" + url.QueryEscape(page[len(page)-1].Key())
	}
	c.render(w, r, http.StatusOK, "substantial", view{Title: "Always-substantial kinds of " + org, Org: org, Done: doneOf(r), Data: struct {
		Declarations []workflow.Declaration
		Kinds        []string
		Next         string
	}{page, gatehouse.Kinds(), next}})
}

// handleSetSubstantial serves POST /console/organisations/{org}/substantial:
// SetAlwaysSubstantial of the form's kind and optional target with its
// security and charge flags, as PUT /v1/organisations/{org}/substantial/{kind} does (C15).
func (c *console) handleSetSubstantial(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	f := r.PostForm
	if _, err := c.cfg.Workflow.SetAlwaysSubstantial(r.Context(), a.actor, org, f.Get("kind"), f.Get("target"), f.Get("security") == "true", f.Get("charge") == "true"); err != nil {
		c.refuse(w, r, a, org, err, "declare", c.handleSubstantial)
		return
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(org)+"/substantial", "declared")
}

// handleUnsetSubstantial serves POST /console/organisations/{org}/substantial/{kind}/unset:
// UnsetAlwaysSubstantial of the kind and the form's target, as
// DELETE /v1/organisations/{org}/substantial/{kind} does (C15).
func (c *console) handleUnsetSubstantial(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	if _, err := c.cfg.Workflow.UnsetAlwaysSubstantial(r.Context(), a.actor, org, r.PathValue("kind"), r.PostForm.Get("target")); err != nil {
		c.refuse(w, r, a, org, err, "", c.handleSubstantial)
		return
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(org)+"/substantial", "undeclared")
}
