package console

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse-authz/gatehouse"

	"github.com/gatehouse-authz/gatehouse/workflow"
)

// handleRenameContractor serves POST /console/contractors/{id}/rename:
// PatchContractor with the form's name, as PATCH /v1/contractors/{id}
// {"name": ...} does (manage_contractors in the contractor's own
// organisation; R4).
func (c *console) handleRenameContractor(w http.ResponseWriter, r *http.Request, a actorCtx) {
	name := r.PostForm.Get("name")
	ct, err := c.cfg.Workflow.PatchContractor(r.Context(), a.actor, r.PathValue("id"), workflow.ContractorPatch{Name: &name})
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	done(w, r, basePath+"/organisations/"+url.PathEscape(ct.Organisation)+"/contractors", "renamed")
}

// contractorAccessRow is one permission on a contractor as its page
// shows it: who holds it and the relationships that grant it in words.
type contractorAccessRow struct {
	User       string
	Permission string
	Via        []step
	Until      string
}

// handleContractor serves GET /console/contractors/{id}: what the
// contractor is (its name, organisation and admin-only flag, K2) and who
// may view or edit it and why, from the workflow's Contractor and
// ContractorAccess: for reviewers everyone on the team, for anyone else
// who may view it their own reasons only. Whoever may not view it is
// refused as the workflow refuses them (403 naming view, with who could
// grant it: X6).
func (c *console) handleContractor(w http.ResponseWriter, r *http.Request, a actorCtx) {
	id := r.PathValue("id")
	ct, err := c.cfg.Workflow.Contractor(r.Context(), a.actor, id)
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	rows, everyone, err := c.cfg.Workflow.ContractorAccess(r.Context(), a.actor, id)
	if err != nil {
		c.fail(w, r, a, ct.Organisation, err)
		return
	}
	shown := make([]contractorAccessRow, len(rows))
	for i, ac := range rows {
		row := contractorAccessRow{User: ac.User.ID, Permission: ac.Permission}
		for _, rel := range ac.Via {
			row.Via = append(row.Via, step{Words: inWords(rel), Zed: rel.String()})
		}
		if ac.Until != nil {
			row.Until = ac.Until.UTC().Format(time.DateTime) + " UTC"
		}
		shown[i] = row
	}
	name := ct.Name
	if name == "" {
		name = "Contractor " + ct.ID
	}
	// The forms to rename, flag and delete it show where the workflow's
	// answer says the reader holds edit on it.
	edit := slices.ContainsFunc(rows, func(ac workflow.Access) bool {
		return ac.User == a.actor && ac.Permission == gatehouse.PermEdit
	})
	c.render(w, r, http.StatusOK, "contractor", view{Title: name, Org: ct.Organisation, Done: doneOf(r), Data: struct {
		Contractor workflow.Contractor
		Access     []contractorAccessRow
		Everyone   bool
		Edit       bool
	}{ct, shown, everyone, edit}})
}
