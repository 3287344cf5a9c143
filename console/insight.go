package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// auditFilter is the audit page's filter, as its form and links carry it.
type auditFilter struct {
	Actor, Action, Since, Until string
}

// query returns the filter as a query string, with cursor when set.
func (f auditFilter) query(cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "since": f.Since, "until": f.Until, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return "?" + q.Encode()
}

// parseDay reads a filter time: a date (2006-01-02, the date input's form)
// or an RFC 3339 time. A date's until is the end of that day (exclusive:
// the next midnight, UTC), so since=until=a day lists that day.
func parseDay(field, s string, until bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if until {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, gatehouse.Invalid(field, "%q is not a date (YYYY-MM-DD) or an RFC 3339 time", s)
	}
	return t, nil
}

// handleAudit serves GET /console/organisations/{org}/audit: the
// organisation's audit trail (X2), newest first, filtered by actor,
// action and time, a page at a time; only for holders of view_reports.
func (c *console) handleAudit(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	f, aq, err := c.auditQuery(r, a, org)
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	aq.Limit, aq.Cursor = pageSize, r.URL.Query().Get("cursor")
	events, cursor, err := c.cfg.Audit.List(r.Context(), aq)
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	next := ""
	if cursor != "" {
		next = f.query(cursor)
	}
	c.render(w, r, http.StatusOK, "audit", view{Title: "Audit trail of " + org, Org: org, Data: struct {
		Rows    []trailRow
		Filter  auditFilter
		Actions []actionOption
		Export  string
		Next    string
	}{trailRows(org, events), f, trailActions(), basePath + "/organisations/" + url.PathEscape(org) + "/audit.csv" + f.query(""), next}})
}

// auditQuery is the audit trail's query of r's filter for org, the
// filter as the page shows it, and the guard of the audit page and its
// export: only holders of view_reports read it (X2), and a filter that
// does not parse is refused naming its field, as the API's is. The guard
// is the workflow's (RequireTrail).
func (c *console) auditQuery(r *http.Request, a actorCtx, org string) (auditFilter, gatehouse.AuditQuery, error) {
	err := c.cfg.Workflow.RequireTrail(r.Context(), a.actor, org)
	q := r.URL.Query()
	f := auditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: q.Get("action"), Since: q.Get("since"), Until: q.Get("until")}
	aq := gatehouse.AuditQuery{Organisation: org, Action: f.Action}
	if err != nil {
		return f, aq, err
	}
	if f.Actor != "" {
		actor := f.Actor
		if !strings.Contains(actor, ":") {
			actor = "user:" + actor
		}
		sub, err := gatehouse.ParseSubject("actor", actor)
		if err != nil {
			return f, aq, err
		}
		aq.Actor = sub.String()
	}
	if aq.Since, err = parseDay("since", f.Since, false); err == nil {
		aq.Until, err = parseDay("until", f.Until, true)
	}
	return f, aq, err
}

// step is one relationship of a path, in words and in zed's notation.
type step struct{ Words, Zed string }

// inWords says one relationship as a sentence: "user:bob is administrator
// of organisation:acme", "contractor:c1 belongs to organisation:brightcis".
func inWords(rel gatehouse.Relationship) string {
	sub := rel.Subject.String()
	switch {
	case rel.Subject.ID == "*":
		sub = "every " + rel.Subject.Type
	case rel.Subject.Relation != "":
		sub = "every " + strings.ReplaceAll(rel.Subject.Relation, "_", " ") + " of " + rel.Subject.Object.String()
	}
	if rel.Relation == rel.Subject.Type && rel.Subject.Relation == "" {
		return rel.Resource.String() + " belongs to " + sub
	}
	verb := " is "
	if strings.HasPrefix(sub, "every ") {
		verb = " counts as "
	}
	return sub + verb + strings.ReplaceAll(rel.Relation, "_", " ") + " of " + rel.Resource.String()
}

// whyQuery is the Why? page's question as its form carries it.
type whyQuery struct{ Resource, Permission, Subject string }

// handleWhy serves GET /console/why?resource=&permission=&subject=: each
// chain of relationships that grants the permission, in words, or for a
// denial what is missing: the workflow's Why, which lets anyone ask about
// themselves and only provider staff about another subject. org, set by
// the organisation pages' links, keeps that organisation's menu on the
// page (what it offers is the reader's, as on every page).
func (c *console) handleWhy(w http.ResponseWriter, r *http.Request, a actorCtx) {
	q := r.URL.Query()
	org := ""
	if o := q.Get("org"); gatehouse.ValidID(o) && !strings.Contains(o, "/") {
		org = o
	}
	wq := whyQuery{Resource: strings.TrimSpace(q.Get("resource")), Permission: strings.TrimSpace(q.Get("permission")), Subject: strings.TrimSpace(q.Get("subject"))}
	if wq.Subject == "" {
		wq.Subject = a.actor.String()
	}
	type answer struct {
		Allowed    bool
		Truncated  bool
		Paths      [][]step
		Missing    string
		Definition string
	}
	data := struct {
		Query  whyQuery
		Answer *answer
	}{Query: wq}
	if wq.Resource == "" || wq.Permission == "" {
		c.render(w, r, http.StatusOK, "why", view{Title: "Why?", Org: org, Data: data})
		return
	}
	res, err := gatehouse.ParseObject("resource", wq.Resource)
	var sub gatehouse.Subject
	if err == nil {
		sub, err = gatehouse.ParseSubject("subject", wq.Subject)
	}
	var ex workflow.Why
	if err == nil {
		ex, err = c.cfg.Workflow.Why(r.Context(), a.actor, gatehouse.CheckRequest{Resource: res, Permission: wq.Permission, Subject: sub})
	}
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	ans := &answer{Allowed: ex.Allowed, Truncated: ex.Truncated}
	for _, p := range ex.Paths {
		steps := make([]step, len(p))
		for i, rel := range p {
			steps[i] = step{Words: inWords(rel), Zed: rel.String()}
		}
		ans.Paths = append(ans.Paths, steps)
	}
	if !ex.Allowed {
		ans.Missing = "No relationship grants " + sub.String() + " permission " + wq.Permission + " on " + res.String() + "."
		ans.Definition = ex.Definition
	}
	data.Answer = ans
	c.render(w, r, http.StatusOK, "why", view{Title: "Why?", Org: org, Data: data})
}
