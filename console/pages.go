package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// handleLoginPage serves GET /console/login?next=: sign-in with the OpenID
// provider, the development sign-in, which lists the demo users, both, or a
// note that no sign-in is configured.
func (c *console) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	s := c.anonymous(w, r)
	c.render(w, r, http.StatusOK, "login", view{Title: "Sign in", User: s.User, CSRF: c.seal.csrf(s), Data: struct {
		OIDC     *oidcLink
		DevLogin bool
		Users    []DevUser
	}{c.oidcOffer(r), c.cfg.DevLogin, c.cfg.DevUsers}})
}

// handleDevLogin serves POST /console/login: signs in as user:<user>, a
// demo user, in a new session (a new nonce, so no earlier token carries over).
func (c *console) handleDevLogin(w http.ResponseWriter, r *http.Request, a actorCtx) {
	id := r.PostForm.Get("user")
	if !c.cfg.DevLogin || !c.isKnownUser(id) {
		c.fail(w, r, a, "", gatehouse.Errorf(gatehouse.EFORBIDDEN, "the development sign-in is off, or %q is not one of its users", id))
		return
	}
	c.seal.setCookie(w, r, newSession(id, c.now()), c.cfg.SecureCookies)
	http.Redirect(w, r, basePath+"/", http.StatusSeeOther)
}

// handleLogout serves POST /console/logout.
func (c *console) handleLogout(w http.ResponseWriter, r *http.Request, _ actorCtx) {
	c.seal.setCookie(w, r, newSession("", c.now()), c.cfg.SecureCookies)
	http.Redirect(w, r, basePath+"/login", http.StatusSeeOther)
}

// orgRow is one organisation of the list.
type orgRow struct{ ID, Name string }

// handleOrganisations serves GET /console/: the organisations the actor
// belongs to (LookupResources on organisation#member), and for provider
// staff those they serve (organisation#provider_staff: C7, C9, C12, S7),
// each list a page at a time (cursor, staff_cursor).
func (c *console) handleOrganisations(w http.ResponseWriter, r *http.Request, a actorCtx) {
	q := r.URL.Query()
	rows, next, err := c.organisations(r, a, false, q.Get("cursor"), "cursor")
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	staff, staffNext, err := c.organisations(r, a, true, q.Get("staff_cursor"), "staff_cursor")
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	c.render(w, r, http.StatusOK, "organisations", view{Title: "Your organisations", Done: doneOf(r), Data: struct {
		Orgs, Staff     []orgRow
		Next, StaffNext string
	}{rows, staff, next, staffNext}})
}

// organisations returns a page of the organisations the actor is on the
// team of, by name (as GetOrganisation names them to a member), or, with
// staff, those they serve, by id (the API tells staff off the team no
// name): the workflow's ListOrganisations. The query of the next page, in
// param, is set when there may be more.
func (c *console) organisations(r *http.Request, a actorCtx, staff bool, cursor, param string) ([]orgRow, string, error) {
	orgs, cursor, err := c.cfg.Workflow.ListOrganisations(r.Context(), a.actor, staff, pageSize, cursor)
	if err != nil {
		return nil, "", err
	}
	rows := make([]orgRow, 0, len(orgs))
	for _, o := range orgs {
		row := orgRow{ID: o.ID, Name: o.ID}
		if o.Name != "" {
			row.Name = o.Name
		}
		rows = append(rows, row)
	}
	next := ""
	if cursor != "" {
		next = "?" + url.Values{param: {cursor}}.Encode()
	}
	return rows, next, nil
}

// handleGrantRole serves POST /console/organisations/{org}/roles. A
// grant to someone not on the team adds a new person, and a grant of
// security_admin or alternate_security_admin hands on the organisation's
// administration: either is confirmed first (confirmed), the new person
// by their id, so that a typo adds nobody.
func (c *console) handleGrantRole(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	g := workflow.RoleGrant{
		Org: org, User: userOf(r, "user"), Role: r.PostForm.Get("role"),
		Reason: r.PostForm.Get("reason"),
	}
	grant := func(wf *workflow.Service) error { _, err := wf.GrantRole(r.Context(), a.actor, g); return err }
	back := basePath + "/organisations/" + url.PathEscape(org)
	cf := confirmation{org: org, doing: "Making " + g.User.ID + " " + roleWords(g.Role) + " of " + org, back: back, form: "grant", page: c.handleMembers}
	newcomer := c.newcomer(r, a, org, g.User)
	if newcomer {
		cf.doing = "Adding " + g.User.ID + " to " + org + " as a new person, " + roleWords(g.Role)
		cf.warning = g.User.ID + " is not on the team of " + org + ": confirming adds a new person with the id \u201c" + g.User.ID + "\u201d. Check the id: to grant a role to someone already on the team, go back and pick them from the list."
		cf.button = "Add " + g.User.ID + " as a new person"
	}
	if (newcomer || powerful(g.Role)) && !c.confirmed(w, r, a, cf, grant) {
		return
	}
	if err := grant(c.cfg.Workflow); err != nil {
		c.refuse(w, r, a, org, err, "grant", c.handleMembers)
		return
	}
	c.doneSaying(w, r, a, back, "granted", g.User.ID+" was made "+roleWords(g.Role)+" of "+org+".")
}

// newcomer reports whether user is not on org's team as the workflow
// lists it to the actor; false when the actor may not list it (provider
// staff off the team), whose grant the workflow decides alone.
func (c *console) newcomer(r *http.Request, a actorCtx, org string, user gatehouse.Subject) bool {
	members, _, err := c.cfg.Workflow.Members(r.Context(), a.actor, org)
	if err != nil {
		return false
	}
	return !slices.ContainsFunc(members, func(m workflow.Member) bool { return m.User == user })
}

// handleRevokeRole serves POST /console/organisations/{org}/members/{user}/roles/{role}/revoke,
// confirmed first (confirmed), with the reason the confirmation asks.
func (c *console) handleRevokeRole(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org, user, role := r.PathValue("org"), gatehouse.User(r.PathValue("user")), r.PathValue("role")
	reason := reasonOr(r, "Revoke on the console's members page")
	revoke := func(wf *workflow.Service) error {
		_, err := wf.RevokeRole(r.Context(), a.actor, org, user, role, reason)
		return err
	}
	back := basePath + "/organisations/" + url.PathEscape(org)
	if !c.confirmed(w, r, a, confirmation{org: org, doing: "Revoking " + role + " from " + user.ID, back: back, page: c.handleMembers}, revoke) {
		return
	}
	if err := revoke(c.cfg.Workflow); err != nil {
		c.refuse(w, r, a, org, err, "", c.handleMembers)
		return
	}
	c.doneSaying(w, r, a, back, "revoked", user.ID+" is no longer "+role+" of "+org+".")
}

// handleRemoveMember serves POST /console/organisations/{org}/members/{user}/remove,
// confirmed first (confirmed), with the reason the confirmation asks.
func (c *console) handleRemoveMember(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org, user := r.PathValue("org"), gatehouse.User(r.PathValue("user"))
	reason := reasonOr(r, "Remove on the console's members page")
	remove := func(wf *workflow.Service) error {
		_, err := wf.RemoveMember(r.Context(), a.actor, org, user, reason)
		return err
	}
	back := basePath + "/organisations/" + url.PathEscape(org)
	if !c.confirmed(w, r, a, confirmation{org: org, doing: "Removing " + user.ID, back: back, page: c.handleMembers}, remove) {
		return
	}
	if err := remove(c.cfg.Workflow); err != nil {
		c.refuse(w, r, a, org, err, "", c.handleMembers)
		return
	}
	c.doneSaying(w, r, a, back, "removed", user.ID+" was removed from "+org+".")
}

// reasonOr returns the form's reason, or, left blank, one saying that no
// reason was given and which console action made the change, so that the
// audit trail says at least that much (X2). Only for reasons the API
// leaves optional: a required one is never filled in.
func reasonOr(r *http.Request, action string) string {
	if s := strings.TrimSpace(r.PostForm.Get("reason")); s != "" {
		return s
	}
	return "no reason given: " + action
}

// userOf reads a user id from a form field, taking "pat" and "user:pat" alike.
func userOf(r *http.Request, field string) gatehouse.Subject {
	return gatehouse.User(strings.TrimPrefix(strings.TrimSpace(r.PostForm.Get(field)), "user:"))
}

// handleTransferOwnership serves POST /console/organisations/{org}/transfer-ownership:
// TransferOwnership to the member the form names (O4; R7 when they are
// designated no_financial_access), confirmed first (confirmed).
func (c *console) handleTransferOwnership(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org, to := r.PathValue("org"), userOf(r, "to")
	transfer := func(wf *workflow.Service) error {
		_, err := wf.TransferOwnership(r.Context(), a.actor, org, to, r.PostForm.Get("reason"))
		return err
	}
	back := basePath + "/organisations/" + url.PathEscape(org)
	if !c.confirmed(w, r, a, confirmation{org: org, doing: "Transferring ownership of " + org + " to " + to.ID, back: back, form: "transfer", page: c.handleMembers}, transfer) {
		return
	}
	if err := transfer(c.cfg.Workflow); err != nil {
		c.refuse(w, r, a, org, err, "transfer", c.handleMembers)
		return
	}
	c.doneSaying(w, r, a, back, "transferred", "Ownership of "+org+" was transferred to "+to.ID+"; you stay on the team as an administrator.")
}

// handleSetDesignation serves POST /console/organisations/{org}/designations:
// SetDesignation with the form's user, designation and reason (T4, R7;
// provider staff's designations need a reason, C7, C9).
func (c *console) handleSetDesignation(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	if _, err := c.cfg.Workflow.SetDesignation(r.Context(), a.actor, org, userOf(r, "user"), r.PostForm.Get("designation"), r.PostForm.Get("reason")); err != nil {
		c.refuse(w, r, a, org, err, "designate", c.handleMembers)
		return
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(org), "designated")
}

// handleUnsetDesignation serves
// POST /console/organisations/{org}/members/{user}/designations/{designation}/unset,
// a member's row's Take away, and POST /console/organisations/{org}/designations/unset,
// the form in which provider staff off the team name the member and the
// designation: UnsetDesignation with the form's reason, optional as in
// the API, or one that says none was given and where.
func (c *console) handleUnsetDesignation(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	user, designation := gatehouse.User(r.PathValue("user")), r.PathValue("designation")
	if designation == "" {
		user, designation = userOf(r, "user"), r.PostForm.Get("designation")
	}
	if _, err := c.cfg.Workflow.UnsetDesignation(r.Context(), a.actor, org, user, designation, reasonOr(r, "Take away on the console's members page")); err != nil {
		c.refuse(w, r, a, org, err, "undesignate", c.handleMembers)
		return
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(org), "undesignated")
}

// handleContractors serves GET /console/organisations/{org}/contractors:
// the organisation's contractors the actor may view (the workflow's
// ListContractors: K2, K3; a billing manager sees none, R6), a page at a
// time, with the admin-only switch where Abilities on the organisation
// says the actor holds manage_contractors.
func (c *console) handleContractors(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	ctx := r.Context()
	o, err := c.cfg.Workflow.GetOrganisation(ctx, a.actor, org)
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	list, cursor, err := c.cfg.Workflow.ListContractors(ctx, a.actor, org, pageSize, r.URL.Query().Get("cursor"))
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	ab, err := c.cfg.Workflow.Abilities(ctx, a.actor, gatehouse.OrganisationRef(org))
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	for i := range list {
		if list[i].Name == "" {
			list[i].Name = list[i].ID
		}
	}
	next := ""
	if cursor != "" {
		next = "?cursor=" + url.QueryEscape(cursor)
	}
	c.render(w, r, http.StatusOK, "contractors", view{Title: o.Name + ": contractors", Org: org, Done: doneOf(r), Data: struct {
		Org         workflow.Organisation
		Contractors []workflow.Contractor
		Manage      bool
		Next        string
	}{o, list, ab.May(workflow.ActionCreateContractor), next}})
}

// handleAdminOnly serves POST /console/contractors/{id}/admin-only: sets
// (admin_only=true) or lifts the K2 flag through PatchContractor.
func (c *console) handleAdminOnly(w http.ResponseWriter, r *http.Request, a actorCtx) {
	on := r.PostForm.Get("admin_only") == "true"
	ct, err := c.cfg.Workflow.PatchContractor(r.Context(), a.actor, r.PathValue("id"), workflow.ContractorPatch{AdminOnly: &on})
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	what := "unflagged"
	if on {
		what = "flagged"
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(ct.Organisation)+"/contractors", what)
}

// handleCreateContractor serves POST /console/organisations/{org}/contractors:
// CreateContractor with the form's id, name and admin-only flag (K1, K2).
func (c *console) handleCreateContractor(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	_, err := c.cfg.Workflow.CreateContractor(r.Context(), a.actor, org, workflow.Contractor{
		ID: strings.TrimSpace(r.PostForm.Get("id")), Name: r.PostForm.Get("name"), AdminOnly: r.PostForm.Get("admin_only") == "true",
	})
	if err != nil {
		c.refuse(w, r, a, org, err, "create", c.handleContractors)
		return
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(org)+"/contractors", "created")
}

// handleDeleteContractor serves POST /console/organisations/{org}/contractors/{id}/delete:
// DeleteContractor, whose permission check is on the contractor's own
// organisation (K1); {org} only says which list to go back to. Confirmed
// first (confirmed).
func (c *console) handleDeleteContractor(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org, id := r.PathValue("org"), r.PathValue("id")
	reason := reasonOr(r, "Delete on the console's contractors page")
	del := func(wf *workflow.Service) error {
		_, err := wf.DeleteContractor(r.Context(), a.actor, id, reason)
		return err
	}
	back := basePath + "/organisations/" + url.PathEscape(org) + "/contractors"
	if !c.confirmed(w, r, a, confirmation{org: org, doing: "Deleting contractor " + id, back: back, page: c.handleContractors}, del) {
		return
	}
	if err := del(c.cfg.Workflow); err != nil {
		c.refuse(w, r, a, org, err, "", c.handleContractors)
		return
	}
	c.doneSaying(w, r, a, back, "deleted", "Contractor "+id+" was deleted from "+org+".")
}

// crFilter is the change-request list's filter, as its form and links carry it.
type crFilter struct {
	Status   string
	Awaiting bool
}

// query returns the filter as a query string, with cursor when set.
func (f crFilter) query(cursor string) string {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Awaiting {
		q.Set("awaiting", "me")
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return "?" + q.Encode()
}

// handleChangeRequests serves GET /console/organisations/{org}/change-requests:
// ListChangeRequests with status and awaiting=me, a page at a time (C14).
func (c *console) handleChangeRequests(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	q := r.URL.Query()
	f := crFilter{Status: q.Get("status"), Awaiting: q.Get("awaiting") == "me"}
	list, cursor, err := c.cfg.Workflow.ListChangeRequests(r.Context(), a.actor, org, f.Status, f.Awaiting, pageSize, q.Get("cursor"))
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	next := ""
	if cursor != "" {
		next = f.query(cursor)
	}
	c.render(w, r, http.StatusOK, "changerequests", view{Title: "Change requests", Org: org, Done: doneOf(r), Data: struct {
		Requests []workflow.ChangeRequest
		Filter   crFilter
		Statuses []string
		Kinds    []string
		Next     string
	}{list, f, []string{workflow.StatusPending, workflow.StatusBlocked, workflow.StatusAuthorised, workflow.StatusRejected, workflow.StatusWithdrawn}, gatehouse.Kinds(), next}})
}

// handleChangeRequest serves GET /console/change-requests/{id}: its state,
// and, while it is open, the authorise and reject forms to those it
// awaits (workflow's ChangeRequest.Awaits), withdraw to its requester.
func (c *console) handleChangeRequest(w http.ResponseWriter, r *http.Request, a actorCtx) {
	cr, err := c.cfg.Workflow.ChangeRequest(r.Context(), a.actor, r.PathValue("id"))
	if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
		err = c.viewRefusal(r, a.actor, r.PathValue("id"), err)
	}
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	ab, err := c.cfg.Workflow.Abilities(r.Context(), a.actor, gatehouse.ChangeRequestRef(cr.ID))
	if err != nil {
		c.fail(w, r, a, cr.Organisation, err)
		return
	}
	can := crActions{Flag: ab.Actions[workflow.ActionRaiseFlags], Override: ab.Actions[workflow.ActionOverride], Confirm: ab.Actions[workflow.ActionConfirmOverride]}
	title := "Change request " + cr.ID
	if cr.Title != "" {
		title = cr.Title
	}
	c.render(w, r, http.StatusOK, "changerequest", view{Title: title, Org: cr.Organisation, Done: doneOf(r), Data: struct {
		CR      workflow.ChangeRequest
		Awaits  bool
		IsOwner bool
		Can     crActions
	}{cr, ab.Actions[workflow.ActionAuthorise], ab.Actions[workflow.ActionWithdraw], can}})
}

// handleAuthorise serves POST /console/change-requests/{id}/authorise.
func (c *console) handleAuthorise(w http.ResponseWriter, r *http.Request, a actorCtx) {
	id := r.PathValue("id")
	if _, err := c.cfg.Workflow.AuthoriseChangeRequest(r.Context(), a.actor, id, r.PostForm.Get("note")); err != nil {
		c.refuse(w, r, a, "", c.settled(r, a, id, err), "authorise", c.handleChangeRequest)
		return
	}
	done(w, r, basePath+"/change-requests/"+url.PathEscape(id), "authorised")
}

// handleReject serves POST /console/change-requests/{id}/reject.
func (c *console) handleReject(w http.ResponseWriter, r *http.Request, a actorCtx) {
	id := r.PathValue("id")
	if _, err := c.cfg.Workflow.Reject(r.Context(), a.actor, id, r.PostForm.Get("reason")); err != nil {
		c.refuse(w, r, a, "", c.settled(r, a, id, err), "reject", c.handleChangeRequest)
		return
	}
	done(w, r, basePath+"/change-requests/"+url.PathEscape(id), "rejected")
}

// settled returns refused, a refusal of authorising, rejecting or
// withdrawing change request id, saying in plain words who settled the
// request first when it is no longer open (a second tab, a colleague):
// "Already authorised by mia", not the rule of who authorises (C4).
func (c *console) settled(r *http.Request, a actorCtx, id string, refused error) error {
	if code := gatehouse.ErrorCode(refused); code != gatehouse.ERULE && code != gatehouse.ECONFLICT {
		return refused
	}
	cr, err := c.cfg.Workflow.ChangeRequest(r.Context(), a.actor, id)
	if err != nil || cr.Open() {
		return refused
	}
	var sentence string
	switch {
	case cr.ClosedBy != nil:
		sentence = "Already " + cr.Status + " by " + bare(*cr.ClosedBy)
		if cr.ClosedAt != nil {
			sentence += " at " + cr.ClosedAt.UTC().Format("15:04 MST on 2 January")
		}
		sentence += ": it is closed."
	case len(cr.AuthorisedBy) > 0:
		sentence = "Already authorised by " + andList(names(cr.AuthorisedBy)) + ": nothing is left to authorise."
	default:
		sentence = "Already " + cr.Status + ": nothing is left to do."
	}
	// A closed request is C13's business; an authorised one is not C4's,
	// which says who authorises.
	return plain{error: refused, sentence: sentence, quoteRule: cr.ClosedBy != nil}
}

// handleFileChangeRequest serves POST /console/organisations/{org}/change-requests:
// FileChangeRequest with the form's title, description, kind, target and
// flags, a legal reason for provider staff's legally mandated change (C1,
// C2, C10-C12), and the id, which the workflow makes when it is left blank.
func (c *console) handleFileChangeRequest(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	f := r.PostForm
	cr, err := c.cfg.Workflow.FileChangeRequest(r.Context(), a.actor, workflow.NewChangeRequest{
		ID: strings.TrimSpace(f.Get("id")), Organisation: org, Kind: f.Get("kind"), Target: strings.TrimSpace(f.Get("target")),
		Title: f.Get("title"), Description: f.Get("description"),
		SubstantialSecurity: f.Get("substantial_security") == "true", SubstantialCharge: f.Get("substantial_charge") == "true",
		LegalReason: f.Get("legal_reason"),
	})
	if err != nil {
		c.refuse(w, r, a, org, err, "file", c.handleChangeRequests)
		return
	}
	said := "The change request was filed. Its id is " + cr.ID + "."
	if cr.Title != "" {
		said = "The change request was filed. “" + cr.Title + "” has the id " + cr.ID + "."
	}
	c.doneSaying(w, r, a, basePath+"/change-requests/"+url.PathEscape(cr.ID), "filed", said)
}

// handleWithdraw serves POST /console/change-requests/{id}/withdraw: the
// requester withdraws their own open request, with an optional reason (C13).
func (c *console) handleWithdraw(w http.ResponseWriter, r *http.Request, a actorCtx) {
	id := r.PathValue("id")
	if _, err := c.cfg.Workflow.Withdraw(r.Context(), a.actor, id, r.PostForm.Get("reason")); err != nil {
		c.refuse(w, r, a, "", c.settled(r, a, id, err), "withdraw", c.handleChangeRequest)
		return
	}
	done(w, r, basePath+"/change-requests/"+url.PathEscape(id), "withdrawn")
}
