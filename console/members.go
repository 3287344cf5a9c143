package console

import (
	"net/http"
	"net/url"
	"slices"
	"sort"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// membersPage is what the members page shows.
type membersPage struct {
	// Name is the organisation's name, or its id for staff off the team.
	Name string
	// Member is false for provider staff who are not on the team: as
	// GET /v1/organisations/{org}/members refuses them, they see no one,
	// only the forms of staff's designations.
	Member  bool
	Owner   gatehouse.Subject
	Members []workflow.Member
	// People are the ids of the whole team, which the forms that name a
	// person offer to pick from.
	People []string
	// Can is the workflow's Abilities on the organisation: the page offers
	// only what it allows, and the workflow decides each action again.
	Can workflow.Abilities
	// Roles are those the actor may grant, the least powerful first, so
	// that a grant form's default gives the least; Designations those
	// they may give.
	Roles, Designations []string
	// StaffOnly: every designation offered is provider staff's, whose
	// giving needs a reason (C7, C9).
	StaffOnly bool
	IsOwner   bool
	Next      string
}

// handleMembers serves GET /console/organisations/{org}: its members with
// their roles and designations, a page at a time (after=<user id>), and
// the forms to grant, revoke, remove, designate and take a designation
// away that the actor may use. Provider staff off the team, whom the
// API's list of members refuses, get the forms of the designations only
// they give (C7, C9) and no list; anyone else is refused as
// GetOrganisation refuses them.
func (c *console) handleMembers(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	ctx := r.Context()
	d := membersPage{Name: org, Member: true}
	o, err := c.cfg.Workflow.GetOrganisation(ctx, a.actor, org)
	if err != nil {
		if gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
			c.fail(w, r, a, "", err)
			return
		}
		d.Member = false
	}
	ab, cerr := c.cfg.Workflow.Abilities(ctx, a.actor, gatehouse.OrganisationRef(org))
	if cerr != nil {
		c.fail(w, r, a, org, cerr)
		return
	}
	d.Can = ab
	if !d.Member && !d.Can.IsStaff() {
		c.fail(w, r, a, "", err)
		return
	}
	if d.Member {
		members, _, err := c.cfg.Workflow.Members(ctx, a.actor, org)
		if err != nil {
			c.fail(w, r, a, org, err)
			return
		}
		for _, m := range members {
			d.People = append(d.People, m.User.ID)
		}
		after := r.URL.Query().Get("after")
		start := sort.Search(len(members), func(i int) bool { return members[i].User.ID > after })
		d.Members = members[start:]
		if len(d.Members) > pageSize {
			d.Members = d.Members[:pageSize]
			d.Next = "?after=" + url.QueryEscape(d.Members[len(d.Members)-1].User.ID)
		}
		d.Name, d.Owner, d.IsOwner = o.Name, o.Owner, o.Owner == a.actor
		d.Roles = slices.DeleteFunc(gatehouse.Roles(), func(role string) bool { return !d.Can.MayGrantRole(role) })
		// gatehouse.Roles lists the most powerful first (domain.md's order).
		slices.Reverse(d.Roles)
	}
	d.Designations = slices.DeleteFunc(gatehouse.Designations(), func(des string) bool { return !d.Can.MayDesignate(des) })
	d.StaffOnly = len(d.Designations) > 0 && !slices.ContainsFunc(d.Designations, func(des string) bool {
		return workflow.DesignationPermission(des) != gatehouse.PermProviderStaff
	})
	c.render(w, r, http.StatusOK, "members", view{Title: d.Name + ": members", Org: org, Done: doneOf(r), Data: d})
}
