package console

import (
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// recentChanges is how many of a person's latest audited changes their
// page shows, as the API's GET .../members/{user}/access does.
const recentChanges = 20

// accessRow is one permission of a person's page: what, on what, the
// relationships that grant it in words, and until when (T5).
type accessRow struct {
	Permission string
	On         string
	Via        []step
	Until      string
}

// handlePerson serves GET /console/organisations/{org}/members/{user}:
// the person's roles and designations, what they can reach in org and why
// (MemberAccess: each permission with the relationships that grant it),
// and the changes they made lately, as the audit page says them. The person themselves, holders of view_reports and provider
// staff may open it; anyone else is refused as the API refuses them.
func (c *console) handlePerson(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org, user := r.PathValue("org"), gatehouse.User(r.PathValue("user"))
	rows, truncated, err := c.cfg.Workflow.MemberAccess(r.Context(), a.actor, org, user)
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	events, _, err := c.cfg.Audit.List(r.Context(), gatehouse.AuditQuery{Organisation: org, Actor: user.String(), Limit: recentChanges})
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	shown := make([]accessRow, len(rows))
	for i, ac := range rows {
		row := accessRow{Permission: ac.Permission, On: ac.On.String()}
		for _, rel := range ac.Via {
			row.Via = append(row.Via, step{Words: inWords(rel), Zed: rel.String()})
		}
		if ac.Until != nil {
			row.Until = ac.Until.UTC().Format(time.DateTime) + " UTC"
		}
		shown[i] = row
	}
	// Their roles and designations as the team's list has them; provider
	// staff off the team, whom the workflow lists no members, see none.
	var m workflow.Member
	if members, _, err := c.cfg.Workflow.Members(r.Context(), a.actor, org); err == nil {
		if i := slices.IndexFunc(members, func(m workflow.Member) bool { return m.User == user }); i >= 0 {
			m = members[i]
		}
	}
	c.render(w, r, http.StatusOK, "person", view{Title: "What " + user.ID + " can reach in " + org, Org: org, Data: struct {
		User         string
		Roles        []string
		Designations []string
		Access       []accessRow
		Truncated    bool
		History      []trailRow
	}{user.ID, m.Roles, m.Designations, shown, truncated, trailRows(org, events)}})
}
