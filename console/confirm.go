package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// confirmField is the form field that says a destructive or powerful
// action was confirmed; without it the action is only tried (X7).
const confirmField = "confirm"

// confirmPage is what a confirmation shows: the action, what to check
// first, its effects in words, the relationships it changes, and the same
// form again, confirmed, with the reason the audit trail will show.
type confirmPage struct {
	Doing string
	// Warning, when set, is what to check before confirming (a new person).
	Warning string
	// Lead is the action, with its effect when one person's alone
	// (the page lists several).
	Lead      string
	Effects   []string
	Changes   []step
	Truncated bool
	Action    string
	Fields    []hiddenField
	// Reason is the form's reason, asked again on the confirmation.
	Reason string
	Button string
	Back   string
}

// hiddenField is one field of the form the confirmation posts again.
type hiddenField struct{ Name, Value string }

// confirmation is what a destructive or powerful action's confirmation
// says: the action (doing), the page Cancel returns to (back), and,
// when set, what to check first (warning) and the button's words.
type confirmation struct {
	org, doing, back string
	warning, button  string
	// form and page, when page is set, are the form's name and the page
	// it was sent from, which shows a refusal again (refuse).
	form string
	page pageFunc
}

// confirmed reports whether the request is the confirmed post of a
// destructive or powerful action, which the caller then makes. Otherwise
// it tries act over a dry-run Store (package dryrun, as the API's
// ?dryRun=true does): a refusal is shown as the real write's would be,
// and an allowed action gets a confirmation page with its effect and a
// form that posts the same fields with confirm=1 and a reason. Nothing
// is written.
func (c *console) confirmed(w http.ResponseWriter, r *http.Request, a actorCtx, cf confirmation, act func(*workflow.Service) error) bool {
	if r.PostForm.Get(confirmField) == "1" {
		return true
	}
	store := dryrun.New(c.cfg.Store, c.cfg.Scratch)
	defer store.Close()
	if err := act(c.cfg.Workflow.Over(store)); err != nil {
		c.refuse(w, r, a, cf.org, err, cf.form, cf.page)
		return false
	}
	o, err := store.Outcome(r.Context())
	if err != nil {
		c.fail(w, r, a, cf.org, err)
		return false
	}
	doing := cf.doing
	d := confirmPage{
		Doing: doing, Warning: cf.warning, Effects: effectWords(o.Effects), Truncated: o.Truncated,
		Action: r.URL.Path, Back: cf.back, Reason: r.PostForm.Get("reason"), Button: cf.button,
	}
	if d.Button == "" {
		d.Button = "Confirm: " + doing
	}
	switch {
	case o.Truncated:
		d.Lead = doing + ": who gains or loses what was not worked out (too much is touched); the changes are listed below."
	case len(d.Effects) == 0:
		d.Lead = doing + ": nobody gains or loses a permission."
	case len(d.Effects) == 1:
		d.Lead = doing + ": " + d.Effects[0] + "."
	default:
		d.Lead = doing + ":"
	}
	for _, u := range o.Changes {
		verb := "Added: "
		if u.Op == gatehouse.Delete {
			verb = "Removed: "
		}
		d.Changes = append(d.Changes, step{Words: verb + changeWords(u.Relationship), Zed: u.Relationship.String()})
	}
	keys := make([]string, 0, len(r.PostForm))
	for k := range r.PostForm {
		if k != "csrf" && k != confirmField && k != "reason" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.PostForm[k] {
			d.Fields = append(d.Fields, hiddenField{k, v})
		}
	}
	c.render(w, r, http.StatusOK, "confirm", view{Title: "Confirm: " + doing, User: a.s.User, CSRF: c.seal.csrf(a.s), Org: cf.org, Data: d})
	return false
}

// changeWords says a relationship a dry run changes: as inWords, but a
// label as the name it holds.
func changeWords(rel gatehouse.Relationship) string {
	if rel.Relation == gatehouse.LabelRelation {
		if m, err := gatehouse.DecodeLabel(rel.Subject.Object); err == nil && m["name"] != "" {
			return "the name of " + rel.Resource.String() + ", " + m["name"]
		}
		return "the details of " + rel.Resource.String()
	}
	return inWords(rel)
}

// powerful reports whether granting role needs a confirmation: the
// security admins', who may hand on the organisation's administration (S3, S5).
func powerful(role string) bool {
	return role == gatehouse.RoleSecurityAdmin || role == gatehouse.RoleAlternateSecurityAdmin
}

// effectWords says a dry run's effects, one sentence a person and
// direction, in the order the dry run sorts them: "carla loses view on
// contractors c1 and c2; member on organisation brightcis". Objects of
// one type with the same permissions are named together.
func effectWords(effects []dryrun.Effect) []string {
	type group struct {
		who    gatehouse.Subject
		gained bool
		// objs are the objects in order, perms each one's permissions.
		objs  []gatehouse.Object
		perms map[gatehouse.Object][]string
	}
	var groups []*group
	find := func(e dryrun.Effect) *group {
		for _, g := range groups {
			if g.who == e.Subject && g.gained == e.Gained {
				return g
			}
		}
		g := &group{who: e.Subject, gained: e.Gained, perms: map[gatehouse.Object][]string{}}
		groups = append(groups, g)
		return g
	}
	for _, e := range effects {
		g := find(e)
		if _, ok := g.perms[e.On]; !ok {
			g.objs = append(g.objs, e.On)
		}
		g.perms[e.On] = append(g.perms[e.On], e.Permission)
	}
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		verb := " loses "
		if g.gained {
			verb = " gains "
		}
		var parts []string
		for i := 0; i < len(g.objs); {
			ps := g.perms[g.objs[i]]
			ids := []string{g.objs[i].ID}
			j := i + 1
			for ; j < len(g.objs) && g.objs[j].Type == g.objs[i].Type && slices.Equal(g.perms[g.objs[j]], ps); j++ {
				ids = append(ids, g.objs[j].ID)
			}
			typ := strings.ReplaceAll(g.objs[i].Type, "_", " ")
			if len(ids) > 1 {
				typ += "s"
			}
			words := make([]string, len(ps))
			for k, p := range ps {
				words[k] = permissionWords(p)
			}
			parts = append(parts, andList(words)+" on "+typ+" "+andList(ids))
			i = j
		}
		out = append(out, bare(g.who)+verb+strings.Join(parts, "; "))
	}
	return out
}

// andList joins words as "a, b and c".
func andList(ws []string) string {
	if len(ws) < 2 {
		return strings.Join(ws, "")
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " and " + ws[len(ws)-1]
}
