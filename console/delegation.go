package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// securityAdmins is what the security administration page shows: the
// current SA and ASA (to members only, X1), and which delegations the
// actor may make.
type securityAdmins struct {
	Name string
	// Member is false for provider staff who are not on the team: they see
	// only the S7 form, never who holds what.
	Member  bool
	SA, ASA []gatehouse.Subject
	// CanSA, CanASA: delegate_security_admin (owner, SA: S3) and
	// delegate_alternate_security_admin (owner, SA, ASA: S4, S5).
	CanSA, CanASA bool
	// Staff may delegate a new SA at a verified director's request (S7).
	Staff bool
}

// handleSecurityAdmins serves GET /console/organisations/{org}/security-admins:
// the organisation's SA and ASA, and the forms to delegate each (S3, S5)
// that the actor may use; provider staff get the S7 form. Anyone else is
// refused as GetOrganisation refuses them.
func (c *console) handleSecurityAdmins(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	ctx := r.Context()
	d := securityAdmins{Name: org, Member: true}
	o, err := c.cfg.Workflow.GetOrganisation(ctx, a.actor, org)
	if err != nil {
		d.Member = false
		if gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
			c.fail(w, r, a, "", err)
			return
		}
	}
	ab, cerr := c.cfg.Workflow.Abilities(ctx, a.actor, gatehouse.OrganisationRef(org))
	if cerr != nil {
		c.fail(w, r, a, org, cerr)
		return
	}
	d.CanSA, d.CanASA, d.Staff = ab.May(workflow.ActionDelegateSA), ab.May(workflow.ActionDelegateASA), ab.IsStaff()
	if !d.Member && !d.Staff {
		c.fail(w, r, a, "", err)
		return
	}
	if d.Member {
		d.Name = o.Name
		members, _, err := c.cfg.Workflow.Members(ctx, a.actor, org)
		if err != nil {
			c.fail(w, r, a, org, err)
			return
		}
		for _, m := range members {
			if slices.Contains(m.Roles, gatehouse.RoleSecurityAdmin) {
				d.SA = append(d.SA, m.User)
			}
			if slices.Contains(m.Roles, gatehouse.RoleAlternateSecurityAdmin) {
				d.ASA = append(d.ASA, m.User)
			}
		}
	}
	c.render(w, r, http.StatusOK, "security", view{Title: d.Name + ": security administration", Org: org, Done: doneOf(r), Data: d})
}

// handleDelegate serves POST /console/organisations/{org}/security-admins/{role}:
// GrantRole of security_admin (S3, with previous_becomes_alternate; S7
// with requested_by, for provider staff) or alternate_security_admin (S5),
// as PUT /v1/organisations/{org}/members/{user}/roles/{role} does,
// confirmed first (confirmed).
func (c *console) handleDelegate(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org, role := r.PathValue("org"), r.PathValue("role")
	if role != gatehouse.RoleSecurityAdmin && role != gatehouse.RoleAlternateSecurityAdmin {
		c.fail(w, r, a, org, gatehouse.Invalid("role", "only security_admin and alternate_security_admin are delegated here; other roles are granted on the members page"))
		return
	}
	f := r.PostForm
	// form is which of the page's three forms was sent.
	form := "asa"
	switch {
	case f.Has("requested_by"):
		form = "s7"
	case role == gatehouse.RoleSecurityAdmin:
		form = "sa"
	}
	g := workflow.RoleGrant{
		Org: org, User: userOf(r, "user"), Role: role,
		PreviousBecomesAlternate: f.Get("previous_becomes_alternate") == "true", Reason: f.Get("reason"),
	}
	if strings.TrimSpace(f.Get("requested_by")) != "" {
		rb := userOf(r, "requested_by")
		if !gatehouse.ValidID(rb.ID) {
			c.refuse(w, r, a, org, gatehouse.Invalid("requestedBy", "requestedBy must be a user (user:<id>)"), form, c.handleSecurityAdmins)
			return
		}
		g.RequestedBy = &rb
	}
	grant := func(wf *workflow.Service) error { _, err := wf.GrantRole(r.Context(), a.actor, g); return err }
	back := basePath + "/organisations/" + url.PathEscape(org) + "/security-admins"
	cf := confirmation{org: org, doing: "Making " + g.User.ID + " " + roleWords(role) + " of " + org, back: back, form: form, page: c.handleSecurityAdmins}
	// As a grant on the members page: a typo must not hand the
	// organisation's administration to a new person unawares.
	if c.newcomer(r, a, org, g.User) {
		cf.doing = "Making " + g.User.ID + ", a new person, " + roleWords(role) + " of " + org
		cf.warning = g.User.ID + " is not on the team of " + org + ": confirming adds a new person with the id \u201c" + g.User.ID + "\u201d and makes them " + roleWords(role) + ". Check the id: to hand the role to someone already on the team, go back and type their id as the members page lists it."
		cf.button = "Add " + g.User.ID + " as a new person"
	}
	if !c.confirmed(w, r, a, cf, grant) {
		return
	}
	if err := grant(c.cfg.Workflow); err != nil {
		c.refuse(w, r, a, org, err, form, c.handleSecurityAdmins)
		return
	}
	c.doneSaying(w, r, a, back, "delegated", g.User.ID+" was made "+roleWords(role)+" of "+org+".")
}
