package console

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// toolQuery is what the check and lookup tool's three forms carry.
type toolQuery struct {
	Tool                                       string
	Resource, Permission, Subject, SubjectType string
	ResourceType                               string
}

// checkAnswer is a check's answer in words: the chains that grant it, or
// for a denial each way it could be granted, what it lacks and who may
// grant it (X6), as the API's POST /v1/explain answers it.
type checkAnswer struct {
	Allowed   bool
	Truncated bool
	Question  string
	Paths     [][]step
	Summary   string
	Ways      []wayShown
	More      int
}

// lookupAnswer is a lookup's answer: the objects or subjects found.
type lookupAnswer struct {
	Question string
	Found    []string
	More     bool
}

// toolPage is the check and lookup tool's data.
type toolPage struct {
	Query  toolQuery
	Check  *checkAnswer
	Lookup *lookupAnswer
}

// handleStaffPermissions serves GET /console/staff/permissions: the
// check, why-not and lookup tool on live data (SpiceDB's playground does
// this on sample data). tool=check explains a check (Explain, WhyNot);
// tool=resources lists the objects a subject holds a permission on
// (LookupResources); tool=subjects, who holds one on an object
// (LookupSubjects): each the workflow's, as the API's routes call them.
func (c *console) handleStaffPermissions(w http.ResponseWriter, r *http.Request, a actorCtx) {
	q := r.URL.Query()
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	d := toolPage{Query: toolQuery{
		Tool: get("tool"), Resource: get("resource"), Permission: get("permission"), Subject: get("subject"),
		SubjectType: get("subject_type"), ResourceType: get("resource_type"),
	}}
	v := view{Title: "Check and lookup", Data: &d}
	var err error
	switch d.Query.Tool {
	case "check":
		d.Check, err = c.checkTool(r, d.Query)
	case "resources":
		d.Lookup, err = c.resourcesTool(r, d.Query)
	case "subjects":
		d.Lookup, err = c.subjectsTool(r, d.Query)
	}
	if err != nil {
		c.refuseQuery(w, r, a, err, d.Query.Tool, "staff_permissions", v)
		return
	}
	c.render(w, r, http.StatusOK, "staff_permissions", v)
}

// checkTool answers tool=check; a denial is said with refusal.go's
// whySummary and ways, so it reads as on a refused page.
func (c *console) checkTool(r *http.Request, tq toolQuery) (*checkAnswer, error) {
	req, err := toolCheck(tq.Resource, tq.Permission, tq.Subject)
	if err != nil {
		return nil, err
	}
	ex, err := c.cfg.Workflow.Explain(r.Context(), req)
	if err != nil {
		return nil, err
	}
	ans := &checkAnswer{Allowed: ex.Allowed, Truncated: ex.Truncated}
	ans.Question = bare(req.Subject) + " may " + req.Permission + " on " + req.Resource.String()
	for _, p := range ex.Paths {
		steps := make([]step, len(p))
		for i, rel := range p {
			steps[i] = step{Words: inWords(rel), Zed: rel.String()}
		}
		ans.Paths = append(ans.Paths, steps)
	}
	if ex.Allowed {
		return ans, nil
	}
	wn, err := c.cfg.Workflow.WhyNot(r.Context(), req, ex.ZedToken)
	if err != nil {
		return nil, err
	}
	ans.Truncated = ans.Truncated || wn.Truncated
	ans.Summary = whySummary(req, wn)
	for i, w := range wn.Ways {
		if i == maxShownWays {
			ans.More = len(wn.Ways) - i
			break
		}
		way := wayShown{Via: w.Via}
		for _, m := range w.Missing {
			ms := missingShown{Words: inWords(m.Relationship)}
			if m.Grant == nil || len(m.Grant.Subjects) == 0 {
				ms.Nobody = true
			} else {
				ms.Grantors, ms.More = grantorNames(m.Grant), m.Grant.More
			}
			way.Missing = append(way.Missing, ms)
		}
		for _, b := range w.BlockedBy {
			way.Blocks = append(way.Blocks, blockOf(b))
		}
		ans.Ways = append(ans.Ways, way)
	}
	return ans, nil
}

// toolCheck reads the check the tool's form asks; a subject without a
// type is a user ("carla" is user:carla).
func toolCheck(resource, permission, subject string) (gatehouse.CheckRequest, error) {
	res, err := gatehouse.ParseObject("resource", resource)
	if err != nil {
		return gatehouse.CheckRequest{}, err
	}
	if !gatehouse.ValidRelation(permission) {
		return gatehouse.CheckRequest{}, gatehouse.Invalid("permission", "%q is not a permission's name (lower-case letters and _, as view)", permission)
	}
	sub, err := toolSubject("subject", subject)
	return gatehouse.CheckRequest{Resource: res, Permission: permission, Subject: sub, Consistency: gatehouse.Consistency{FullyConsistent: true}}, err
}

// toolSubject reads a subject of the tool's forms, a bare id being a user's.
func toolSubject(field, s string) (gatehouse.Subject, error) {
	if s != "" && !strings.Contains(s, ":") {
		s = gatehouse.TypeUser + ":" + s
	}
	return gatehouse.ParseSubject(field, s)
}

// resourcesTool answers tool=resources: the first page of what the
// subject holds the permission on.
func (c *console) resourcesTool(r *http.Request, tq toolQuery) (*lookupAnswer, error) {
	if !gatehouse.ValidRelation(tq.Permission) {
		return nil, gatehouse.Invalid("permission", "%q is not a permission's name (lower-case letters and _, as view)", tq.Permission)
	}
	sub, err := toolSubject("subject", tq.Subject)
	if err != nil {
		return nil, err
	}
	res, err := c.cfg.Workflow.LookupResources(r.Context(), gatehouse.LookupResourcesRequest{
		ResourceType: tq.ResourceType, Permission: tq.Permission, Subject: sub, Limit: pageSize,
		Consistency: gatehouse.Consistency{FullyConsistent: true},
	})
	if err != nil {
		return nil, err
	}
	ans := &lookupAnswer{Question: "What " + tq.ResourceType + " may " + bare(sub) + " " + tq.Permission + "?", More: res.Cursor != "" && len(res.Resources) == pageSize}
	for _, o := range res.Resources {
		ans.Found = append(ans.Found, o.String())
	}
	return ans, nil
}

// subjectsTool answers tool=subjects: the first page of the subjects
// of a type that hold the permission on the object.
func (c *console) subjectsTool(r *http.Request, tq toolQuery) (*lookupAnswer, error) {
	res, err := gatehouse.ParseObject("resource", tq.Resource)
	if err != nil {
		return nil, err
	}
	if !gatehouse.ValidRelation(tq.Permission) {
		return nil, gatehouse.Invalid("permission", "%q is not a permission's name (lower-case letters and _, as view)", tq.Permission)
	}
	typ, rel, _ := strings.Cut(tq.SubjectType, "#")
	if typ == "" {
		typ = gatehouse.TypeUser
	}
	page, err := c.cfg.Workflow.LookupSubjects(r.Context(), gatehouse.LookupSubjectsRequest{
		Resource: res, Permission: tq.Permission, SubjectType: typ, SubjectRelation: rel, Limit: pageSize,
		Consistency: gatehouse.Consistency{FullyConsistent: true},
	})
	if err != nil {
		return nil, err
	}
	ans := &lookupAnswer{Question: "Who may " + tq.Permission + " on " + res.String() + "?", More: page.Cursor != "" && len(page.Subjects) == pageSize}
	for _, s := range page.Subjects {
		ans.Found = append(ans.Found, s.String())
	}
	return ans, nil
}

// ruleRef matches a rule ID of domain.md in the schema's comments.
var ruleRef = regexp.MustCompile(`\b[A-Z][0-9]{1,2}\b`)

// schemaPiece is a piece of a schema line: text, or a rule ID with its
// sentence (Rule set).
type schemaPiece struct{ Text, Rule string }

// schemaRule is a rule the schema names, with its sentence, for the
// page's footnotes.
type schemaRule struct{ ID, Sentence string }

// handleStaffSchema serves GET /console/staff/schema: the schema SpiceDB
// holds (the workflow's Schema, as GET /v1/schema), each rule ID in it
// linked to its sentence of domain.md in the footnotes below.
func (c *console) handleStaffSchema(w http.ResponseWriter, r *http.Request, a actorCtx) {
	text, err := c.cfg.Workflow.Schema(r.Context())
	if err != nil {
		c.fail(w, r, a, "", err)
		return
	}
	var rows [][]schemaPiece
	var rules []schemaRule
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\n")
		var row []schemaPiece
		at := 0
		for _, m := range ruleRef.FindAllStringIndex(line, -1) {
			id := line[m[0]:m[1]]
			sentence, ok := ruleSentences[id]
			if !ok {
				continue
			}
			row = append(row, schemaPiece{Text: line[at:m[0]]}, schemaPiece{Text: id, Rule: sentence})
			at = m[1]
			if !slices.ContainsFunc(rules, func(s schemaRule) bool { return s.ID == id }) {
				rules = append(rules, schemaRule{ID: id, Sentence: sentence})
			}
		}
		rows = append(rows, append(row, schemaPiece{Text: line[at:]}))
	}
	slices.SortFunc(rules, func(x, y schemaRule) int { return ruleOrder(x.ID, y.ID) })
	c.render(w, r, http.StatusOK, "staff_schema", view{Title: "Schema", Data: struct {
		Lines [][]schemaPiece
		Rules []schemaRule
	}{rows, rules}})
}

// ruleOrder sorts rule IDs as domain.md lists them: by area, then number.
func ruleOrder(a, b string) int {
	const areas = "OSRTKCX"
	if d := strings.IndexByte(areas, a[0]) - strings.IndexByte(areas, b[0]); d != 0 {
		return d
	}
	if d := len(a) - len(b); d != 0 {
		return d
	}
	return strings.Compare(a, b)
}

// platformFilter is the platform trail's filter, as its form and links
// carry it.
type platformFilter struct {
	auditFilter
	Organisation string
	// Platform keeps only the events that name no organisation.
	Platform bool
}

// handleStaffTrail serves GET /console/staff/trail: the audit events of
// every organisation and of none (X2), newest first, a page at a time,
// filtered by organisation, actor, action and dates, each said as the
// audit page says it, after the organisation it is of.
func (c *console) handleStaffTrail(w http.ResponseWriter, r *http.Request, a actorCtx) {
	q := r.URL.Query()
	f := platformFilter{
		auditFilter:  auditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: q.Get("action"), Since: q.Get("since"), Until: q.Get("until")},
		Organisation: strings.TrimSpace(q.Get("organisation")), Platform: q.Get("platform") == "true",
	}
	type data struct {
		Rows    []trailRow
		Filter  platformFilter
		Actions []actionOption
		Next    string
	}
	d := data{Filter: f, Actions: trailActions()}
	v := view{Title: "Platform trail", Data: &d}
	aq := gatehouse.AuditQuery{Organisation: f.Organisation, Platform: f.Platform, Action: f.Action, Limit: pageSize, Cursor: q.Get("cursor")}
	var err error
	if f.Actor != "" {
		var sub gatehouse.Subject
		sub, err = toolSubject("actor", f.Actor)
		aq.Actor = sub.String()
	}
	if err == nil {
		aq.Since, err = parseDay("since", f.Since, false)
	}
	if err == nil {
		aq.Until, err = parseDay("until", f.Until, true)
	}
	var events []gatehouse.AuditEvent
	var cursor string
	if err == nil {
		events, cursor, err = c.cfg.Workflow.PlatformTrail(r.Context(), a.actor, aq)
	}
	if err != nil {
		c.refuseQuery(w, r, a, err, "trail", "staff_trail", v)
		return
	}
	d.Rows = platformRows(events)
	if cursor != "" {
		next := url.Values{}
		for k, s := range map[string]string{"organisation": f.Organisation, "actor": f.Actor, "action": f.Action, "since": f.Since, "until": f.Until, "cursor": cursor} {
			if s != "" {
				next.Set(k, s)
			}
		}
		if f.Platform {
			next.Set("platform", "true")
		}
		d.Next = "?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, "staff_trail", v)
}

// platformRows says events of many organisations as the audit page says
// each organisation's (trailRows, over each run of one organisation's),
// each after the organisation it is of, linked; an event of none is the
// platform's, and names people unlinked.
func platformRows(events []gatehouse.AuditEvent) []trailRow {
	var out []trailRow
	for i := 0; i < len(events); {
		org := events[i].Organisation
		j := i + 1
		for j < len(events) && events[j].Organisation == org {
			j++
		}
		where := segment{Text: "Platform: "}
		if org != "" {
			where = segment{Text: org, Href: basePath + "/organisations/" + url.PathEscape(org)}
		}
		for _, row := range trailRows(org, events[i:j]) {
			if org == "" {
				for k := range row.Sentence {
					row.Sentence[k].Href = ""
				}
				row.Sentence = append([]segment{where}, row.Sentence...)
			} else {
				row.Sentence = append([]segment{where, {Text: ": "}}, row.Sentence...)
			}
			out = append(out, row)
		}
		i = j
	}
	return out
}
