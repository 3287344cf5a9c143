package console

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// The pages of the people who run the platform (issue 22 item 8): every
// organisation, with create, rename and delete; any object's
// relationships, edited through the API's guarded raw write (X4) after a
// dry run (X7); a check, why-not and lookup tool on live data; the schema
// with its rule IDs; and the platform trail. Each opens for provider
// staff alone, as the workflow decides (staffOnly), and each action is
// the workflow command the API's route calls.

// staffBase is where the staff pages live.
const staffBase = basePath + "/staff"

// staffLinks is the platform navigation provider staff see on every page.
var staffLinks = []struct{ Label, Suffix string }{
	{"Organisations", "/organisations"},
	{"Relationships", "/relationships"},
	{"Check and lookup", "/permissions"},
	{"Schema", "/schema"},
	{"Platform trail", "/trail"},
}

// isStaff reports whether actor is provider staff, as the workflow
// decides: the one place the console asks, to link the staff pages (a
// failed check links none; the pages decide again, staffOnly).
func (c *console) isStaff(ctx context.Context, actor gatehouse.Subject) bool {
	ok, err := c.cfg.Workflow.IsStaff(ctx, actor)
	return err == nil && ok
}

// staffNav returns the platform navigation for user, the page r asks
// marked current, or none when user is not provider staff.
func (c *console) staffNav(r *http.Request, user string) []shownLink {
	if !c.isStaff(r.Context(), gatehouse.User(user)) {
		return nil
	}
	out := make([]shownLink, len(staffLinks))
	for i, l := range staffLinks {
		out[i] = shownLink{Label: l.Label, Href: staffBase + l.Suffix}
		out[i].Current = r.URL.Path == out[i].Href || strings.HasPrefix(r.URL.Path, out[i].Href+"/")
	}
	return out
}

// staffHint is what a refused non-staff reader is told in plain words.
const staffHint = "These pages are for provider staff, the people who run the platform. If something here needs doing, ask provider staff."

// staffOnly guards a staff page or action: the workflow's RequireStaff,
// else its 403 on the error page with staffHint, and nothing done.
func (c *console) staffOnly(h pageFunc) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, a actorCtx) {
		if err := c.cfg.Workflow.RequireStaff(r.Context(), a.actor); err != nil {
			c.fail(w, r, a, "", hinted{error: err, hint: staffHint})
			return
		}
		h(w, r, a)
	}
}

// refuseQuery shows err on a page drawn by a GET form (the check tool,
// the filters): the page's own data, the query's values kept and the
// field marked, with the refusal's status; a 5xx is fail's error page.
func (c *console) refuseQuery(w http.ResponseWriter, r *http.Request, a actorCtx, err error, form, page string, v view) {
	shown := c.shown(r, a, err)
	if shown.Status >= http.StatusInternalServerError {
		c.fail(w, r, a, "", err)
		return
	}
	v.Err, v.Refill = shown, &refill{Form: form, Values: r.URL.Query(), err: shown}
	c.render(w, r, shown.Status, page, v)
}

// MarkedList returns the attributes that mark the list field (touch,
// delete) of the form named form when its refusal names one of its items
// (touch[2]), or none.
func (v view) MarkedList(form, field string) template.HTMLAttr {
	if v.Refill == nil || v.Refill.Form != form || v.Err == nil || !strings.HasPrefix(v.Err.Field, field+"[") {
		return ""
	}
	return ` aria-invalid="true" aria-describedby="refusal-title" class="invalid"`
}

// staffSaid sends the browser to to with a sentence naming what was done.
func (c *console) staffSaid(w http.ResponseWriter, r *http.Request, a actorCtx, to, said string) {
	c.doneSaying(w, r, a, to, "staff", said)
}

// orgsPage is the organisations page's data.
type orgsPage struct {
	Rows []workflow.OrganisationRow
	Next string
}

// handleStaffOrganisations serves GET /console/staff/organisations:
// every organisation of the platform, a page at a time, with Rename and
// Delete where the workflow says the reader may (O7, O3), and Create.
func (c *console) handleStaffOrganisations(w http.ResponseWriter, r *http.Request, a actorCtx) {
	rows, cursor, err := c.cfg.Workflow.AllOrganisations(r.Context(), a.actor, pageSize, r.URL.Query().Get("cursor"))
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	d := orgsPage{Rows: rows}
	if cursor != "" && len(rows) == pageSize {
		d.Next = "?" + url.Values{"cursor": {cursor}}.Encode()
	}
	c.render(w, r, http.StatusOK, "staff_organisations", view{Title: "Organisations of the platform", Done: c.saidOf(r), Data: d})
}

// handleStaffCreateOrganisation serves POST /console/staff/organisations:
// CreateOrganisation, the reader becoming its owner (O1).
func (c *console) handleStaffCreateOrganisation(w http.ResponseWriter, r *http.Request, a actorCtx) {
	id, name := strings.TrimSpace(r.PostForm.Get("id")), strings.TrimSpace(r.PostForm.Get("name"))
	o, err := c.cfg.Workflow.CreateOrganisation(r.Context(), a.actor, id, name)
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		err = hinted{error: err, hint: "The id " + id + " is taken: choose another."}
	}
	if err != nil {
		c.refuse(w, r, a, "", err, "create", c.handleStaffOrganisations)
		return
	}
	c.staffSaid(w, r, a, staffBase+"/organisations", "The organisation "+o.Name+" ("+o.ID+") was created; you are its owner.")
}

// handleStaffRenameOrganisation serves POST
// /console/staff/organisations/{org}/rename: EditOrganisation (O7).
func (c *console) handleStaffRenameOrganisation(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	o, err := c.cfg.Workflow.EditOrganisation(r.Context(), a.actor, org, r.PostForm.Get("name"))
	if err != nil {
		c.refuse(w, r, a, "", err, "rename-"+org, c.handleStaffOrganisations)
		return
	}
	c.staffSaid(w, r, a, staffBase+"/organisations", "The organisation "+org+" is now named "+o.Name+".")
}

// handleStaffDeleteOrganisation serves POST
// /console/staff/organisations/{org}/delete: DeleteOrganisation (O3),
// tried as a dry run and confirmed with a reason first.
func (c *console) handleStaffDeleteOrganisation(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	del := func(wf *workflow.Service) error {
		_, err := wf.DeleteOrganisation(r.Context(), a.actor, org, reasonOr(r, "Delete on the console's organisations page"))
		return err
	}
	cf := confirmation{
		doing: "Deleting the organisation " + org + " with everything in it", back: staffBase + "/organisations",
		button: "Delete " + org, form: "delete-" + org, page: c.handleStaffOrganisations,
	}
	if !c.confirmed(w, r, a, cf, del) {
		return
	}
	if err := del(c.cfg.Workflow); err != nil {
		c.refuse(w, r, a, "", err, "delete-"+org, c.handleStaffOrganisations)
		return
	}
	c.staffSaid(w, r, a, staffBase+"/organisations", "The organisation "+org+" was deleted with everything in it.")
}

// relRow is one relationship as the relationships page lists it, and
// whether the raw write may delete it (X4, the workflow's CheckRawUpdate).
type relRow struct {
	Words, Zed string
	Deletable  bool
}

// relsPage is the relationships page's data: the filter, a page of what
// it selects, and the link to the next page.
type relsPage struct {
	Resource, Relation, Subject string
	Rows                        []relRow
	Asked                       bool
	Next                        string
}

// handleStaffRelationships serves GET
// /console/staff/relationships?resource=&relation=&subject=&cursor=: the
// relationships of any object (type:id) or type, a page at a time, each
// with Delete, and the form that adds and deletes them (the raw write).
func (c *console) handleStaffRelationships(w http.ResponseWriter, r *http.Request, a actorCtx) {
	q := r.URL.Query()
	d := relsPage{Resource: strings.TrimSpace(q.Get("resource")), Relation: strings.TrimSpace(q.Get("relation")), Subject: strings.TrimSpace(q.Get("subject"))}
	v := view{Title: "Relationships", Done: c.saidOf(r), Data: &d}
	if d.Resource == "" || r.Method != http.MethodGet {
		c.render(w, r, http.StatusOK, "staff_relationships", v)
		return
	}
	var f gatehouse.Filter
	var err error
	if strings.Contains(d.Resource, ":") {
		var o gatehouse.Object
		o, err = gatehouse.ParseObject("resource", d.Resource)
		f.ResourceType, f.ResourceID = o.Type, o.ID
	} else {
		f.ResourceType = d.Resource
	}
	f.Relation = d.Relation
	if err == nil && d.Subject != "" {
		var s gatehouse.Subject
		s, err = gatehouse.ParseSubject("subject", d.Subject)
		f.SubjectType, f.SubjectID, f.SubjectRelation = s.Type, s.ID, s.Relation
	}
	var page gatehouse.ReadResult
	if err == nil {
		page, err = c.cfg.Workflow.Relationships(r.Context(), gatehouse.ReadRequest{Filter: f, Limit: pageSize, Cursor: q.Get("cursor")})
	}
	if err != nil {
		c.refuseQuery(w, r, a, err, "browse", "staff_relationships", v)
		return
	}
	d.Asked = true
	for _, rel := range page.Relationships {
		// A wildcard's relation is always an endpoint's (K2, C13-C15).
		deletable := rel.Subject.ID != "*" && workflow.CheckRawUpdate("delete[0]", rel, false) == nil
		d.Rows = append(d.Rows, relRow{Words: changeWords(rel), Zed: rel.String(), Deletable: deletable})
	}
	if page.Cursor != "" && len(page.Relationships) == pageSize {
		next := url.Values{"resource": {d.Resource}, "cursor": {page.Cursor}}
		for k, s := range map[string]string{"relation": d.Relation, "subject": d.Subject} {
			if s != "" {
				next.Set(k, s)
			}
		}
		d.Next = "?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, "staff_relationships", v)
}

// lines are the non-blank lines of a textarea, trimmed.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// listField matches a field naming an item of a list (touch[2]).
var listField = regexp.MustCompile(`^(touch|delete)\[(\d+)\]$`)

// rawHint says which line of the raw write a refusal names, and for a
// rule that keeps a relation to its own page, what to do instead.
func rawHint(err error, touch, del []string) error {
	var e *gatehouse.Error
	if !errors.As(err, &e) {
		return err
	}
	var hint []string
	if m := listField.FindStringSubmatch(e.Field); m != nil {
		i, _ := strconv.Atoi(m[2])
		list, name := touch, "Relationships to add"
		if m[1] == "delete" {
			list, name = del, "Relationships to delete"
		}
		if i < len(list) {
			hint = append(hint, "Line "+strconv.Itoa(i+1)+" of "+name+" ("+list[i]+") is the one refused.")
		}
	}
	if e.Code == gatehouse.ERULE {
		hint = append(hint, "Gatehouse changes this relation only through the page or endpoint that holds its rule, so that nothing goes around the rules; use that instead.")
	}
	if len(hint) == 0 {
		return err
	}
	return hinted{error: err, hint: strings.Join(hint, " ")}
}

// handleStaffWriteRelationships serves POST /console/staff/relationships:
// the raw write of POST /v1/relationships (the workflow's RawUpdates and
// WriteRaw, never with a platform key, so X4's refusals stand), tried as
// a dry run and confirmed with a reason first.
func (c *console) handleStaffWriteRelationships(w http.ResponseWriter, r *http.Request, a actorCtx) {
	touch, del := lines(r.PostForm.Get("touch")), lines(r.PostForm.Get("delete"))
	ups, err := workflow.RawUpdates(touch, del)
	if err != nil {
		c.refuse(w, r, a, "", rawHint(err, touch, del), "raw", c.handleStaffRelationships)
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	write := func(wf *workflow.Service) error {
		_, err := wf.WriteRaw(r.Context(), a.actor, ups, reason, false)
		return rawHint(err, touch, del)
	}
	doing := "Writing " + strconv.Itoa(len(ups)) + " relationship"
	if len(ups) > 1 {
		doing += "s"
	}
	cf := confirmation{doing: doing, back: staffBase + "/relationships", form: "raw", page: c.handleStaffRelationships}
	if !c.confirmed(w, r, a, cf, write) {
		return
	}
	if reason == "" {
		reason = reasonOr(r, "raw relationship write")
	}
	if err := write(c.cfg.Workflow); err != nil {
		c.refuse(w, r, a, "", err, "raw", c.handleStaffRelationships)
		return
	}
	// The page lists what the write changed first: the first relationship's object.
	to := staffBase + "/relationships?" + url.Values{"resource": {ups[0].Relationship.Resource.String()}}.Encode()
	said := doing + " was done: " + strings.Join(updateWords(ups), "; ") + "."
	q := url.Values{"done": {"staff"}, "said": {said}, "sig": {c.seal.tag("done", a.s.Nonce, "staff", said)}}
	http.Redirect(w, r, to+"&"+q.Encode(), http.StatusSeeOther)
}

// updateWords says each update of a raw write in words.
func updateWords(ups []workflow.RawUpdate) []string {
	out := make([]string, len(ups))
	for i, u := range ups {
		verb := "added "
		if u.Op == gatehouse.Delete {
			verb = "removed "
		}
		out[i] = verb + changeWords(u.Relationship)
	}
	return out
}
