package console

import (
	"net/http"
	"net/url"

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
