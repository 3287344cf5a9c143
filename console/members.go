package console

import (
	"net/http"
	"net/url"
	"slices"
	"sort"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// memberActions is which of the members page's forms the actor may use:
// the workflow's Abilities on the organisation, each permission it
// checks before a grant, a revocation, a removal or a designation
// (workflow.RolePermission, RemovalPermissions, DesignationPermission)
// and whether the actor holds it. The page offers only what it allows;
// the workflow decides each action again when it is sent.
type memberActions map[string]bool

// Role reports whether the actor may grant and revoke role; nobody may
// the owner's (O4, O6).
func (m memberActions) Role(role string) bool {
	return role != gatehouse.RoleOwner && m[workflow.RolePermission(role)]
}

// Designation reports whether the actor may give and take away designation.
func (m memberActions) Designation(designation string) bool {
	return m[workflow.DesignationPermission(designation)]
}

// Remove reports whether the actor may remove mem from the team; never
// the owner (O6). Exceptions, which the page does not read, may still
// need manage_members (S2): the workflow says so if they do.
func (m memberActions) Remove(mem workflow.Member) bool {
	if slices.Contains(mem.Roles, gatehouse.RoleOwner) || !m[gatehouse.PermManageTeamMembers] {
		return false
	}
	for _, p := range workflow.RemovalPermissions(mem.Roles, len(mem.Designations) > 0) {
		if !m[p] {
			return false
		}
	}
	return true
}

// Team reports whether the actor may remove anyone at all: the
// manage_team_members every removal needs (T2), which opens the Actions column.
func (m memberActions) Team() bool { return m[gatehouse.PermManageTeamMembers] }

// Review reports whether the actor may open user's page of access
// (MemberAccess): their own, or anyone's with view_reports or as staff.
func (m memberActions) Review(actor, user string) bool {
	return actor == user || m[gatehouse.PermViewReports] || m[gatehouse.PermProviderStaff]
}

// Export reports whether the actor may export the organisation's access
// review (workflow's Access: view_reports holders and provider staff).
func (m memberActions) Export() bool {
	return m[gatehouse.PermViewReports] || m[gatehouse.PermProviderStaff]
}

// Staff reports whether the actor is provider staff here (C7, C9, S7).
func (m memberActions) Staff() bool { return m[gatehouse.PermProviderStaff] }

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
	Can    memberActions
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
	d.Can = ab.Permissions
	if !d.Member && !d.Can.Staff() {
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
		d.Roles = slices.DeleteFunc(gatehouse.Roles(), func(role string) bool { return !d.Can.Role(role) })
		// gatehouse.Roles lists the most powerful first (domain.md's order).
		slices.Reverse(d.Roles)
	}
	d.Designations = slices.DeleteFunc(gatehouse.Designations(), func(des string) bool { return !d.Can.Designation(des) })
	d.StaffOnly = len(d.Designations) > 0 && !slices.ContainsFunc(d.Designations, func(des string) bool {
		return workflow.DesignationPermission(des) != gatehouse.PermProviderStaff
	})
	c.render(w, r, http.StatusOK, "members", view{Title: d.Name + ": members", Org: org, Done: doneOf(r), Data: d})
}
