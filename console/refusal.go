package console

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// maxShownWays bounds the ways a refusal page lists; the summary already
// names the nearest.
const maxShownWays = 10

// whyShown is a refusal's why-not (X6) as a page shows it: a sentence or
// two, then each way with what it lacks in words and who may supply it.
type whyShown struct {
	Summary   string
	Ways      []wayShown
	More      int
	Truncated bool
}

// wayShown is one way the permission could have been granted.
type wayShown struct {
	Via     string
	Missing []missingShown
	Blocks  []blockShown
}

// missingShown is a relationship a way lacks: in words, and the people
// who may write it now (bare names), or Nobody when no console action
// does or nobody holds the permission it needs. Hidden says there are
// such people but the reader, off the team, may not see who (X1).
type missingShown struct {
	Words    string
	Grantors []string
	More     bool
	Nobody   bool
	Hidden   bool
}

// blockShown is a rule that shuts a way, and who may lift it (none
// shown to a reader off the team, X1).
type blockShown struct {
	Reason, Rule string
	Lifters      []string
	More         bool
}

// blockOf is b as a page shows it: its reason (or that its relation
// holds), its rule, and who may lift it.
func blockOf(b workflow.Block) blockShown {
	bs := blockShown{Reason: b.Reason, Rule: b.Rule}
	if bs.Reason == "" {
		bs.Reason = b.Relation + " holds"
	}
	if b.Lift != nil {
		bs.Lifters, bs.More = grantorNames(b.Lift), b.Lift.More
	}
	return bs
}

// forbiddenOn matches the object of gatehouse.Forbidden's message:
// `user:x lacks permission "p" on type:id`.
var forbiddenOn = regexp.MustCompile(`lacks permission "([a-z_]+)" on ([a-z_]+:[A-Za-z0-9/_|\-=+]+)`)

// refusedOn returns the object of a 403 that names the permission
// lacked on it, as the workflow's guards word it.
func refusedOn(e *gatehouse.Error) (gatehouse.Object, bool) {
	if e.Code != gatehouse.EFORBIDDEN || e.Permission == "" {
		return gatehouse.Object{}, false
	}
	m := forbiddenOn.FindStringSubmatch(e.Message)
	if m == nil || m[1] != e.Permission {
		return gatehouse.Object{}, false
	}
	o, err := gatehouse.ParseObject("resource", m[2])
	return o, err == nil
}

// whyRefused asks the workflow why actor lacks permission on res (X6)
// and says it in words. Who may grant is who holds a permission in an
// organisation, which only its team may see (X1): to anyone else the
// grants name nobody. The refusal stands without an explanation: a
// failure is logged and none is shown.
func (c *console) whyRefused(r *http.Request, actor gatehouse.Subject, permission string, res gatehouse.Object) *whyShown {
	if !c.insider(r, actor, res) {
		// X1: what holds on an organisation's objects (an admin-only
		// flag, K2) is its team's business; an outsider learns nothing.
		return nil
	}
	req := gatehouse.CheckRequest{Resource: res, Permission: permission, Subject: actor}
	wn, err := c.cfg.Workflow.WhyNot(r.Context(), req, "")
	if err != nil {
		c.cfg.Log.DebugContext(r.Context(), "console: why-not of a refusal failed", "resource", res.String(), "permission", permission, "err", err)
		return nil
	}
	seen := map[gatehouse.Object]bool{}
	// hide strips the people of a grant on an organisation actor is not
	// on, and reports whether it did.
	hide := func(g **workflow.Grant) bool {
		if *g == nil || len((*g).Subjects) == 0 {
			return false
		}
		on := (*g).On
		if _, done := seen[on]; !done {
			ab, err := c.cfg.Workflow.Abilities(r.Context(), actor, on)
			seen[on] = err == nil && ab.IsMember()
		}
		if seen[on] {
			return false
		}
		stripped := **g
		stripped.Subjects, stripped.More = nil, false
		*g = &stripped
		return true
	}
	ways := make([]workflow.Way, len(wn.Ways))
	out := &whyShown{Truncated: wn.Truncated}
	for i, w := range wn.Ways {
		way := wayShown{Via: w.Via}
		ways[i] = workflow.Way{Via: w.Via, Missing: slices.Clone(w.Missing), BlockedBy: slices.Clone(w.BlockedBy)}
		for j := range ways[i].Missing {
			m := &ways[i].Missing[j]
			ms := missingShown{Words: inWords(m.Relationship), Hidden: hide(&m.Grant)}
			switch {
			case ms.Hidden:
			case m.Grant == nil || len(m.Grant.Subjects) == 0:
				ms.Nobody = true
			default:
				ms.Grantors, ms.More = grantorNames(m.Grant), m.Grant.More
			}
			way.Missing = append(way.Missing, ms)
		}
		for j := range ways[i].BlockedBy {
			b := &ways[i].BlockedBy[j]
			hide(&b.Lift)
			way.Blocks = append(way.Blocks, blockOf(*b))
		}
		if i < maxShownWays {
			out.Ways = append(out.Ways, way)
		}
	}
	out.More = len(wn.Ways) - len(out.Ways)
	out.Summary = whySummary(req, workflow.WhyNot{Ways: ways})
	return out
}

// whySummary says a why-not in a sentence or two: who may not do what,
// then the nearest open way and who may open it, or, when every way is
// blocked, the blocks and who may lift one.
func whySummary(req gatehouse.CheckRequest, wn workflow.WhyNot) string {
	who := bare(req.Subject)
	var b strings.Builder
	b.WriteString(who + " may not " + permissionWords(req.Permission) + " on " + strings.ReplaceAll(req.Resource.Type, "_", " ") + " " + req.Resource.ID + ".")
	var near *workflow.Way
	for i, w := range wn.Ways {
		if len(w.BlockedBy) > 0 || len(w.Missing) == 0 {
			continue
		}
		if near == nil || nearerWay(w, *near) {
			near = &wn.Ways[i]
		}
	}
	if near != nil {
		rels := make([]string, len(near.Missing))
		for i, m := range near.Missing {
			rels[i] = inWords(m.Relationship)
		}
		b.WriteString(" They would hold it if " + strings.Join(rels, " and "))
		switch g := near.Missing[0].Grant; {
		case g != nil && len(g.Subjects) > 0:
			b.WriteString(", which " + orList(grantorNames(g), g.More) + " may grant")
		case g != nil:
			b.WriteString(", which only someone holding " + g.Permission + " on " + g.On.String() + " may grant")
		default:
			b.WriteString(", which nobody may grant now")
		}
		b.WriteString(".")
		return b.String()
	}
	var reasons []string
	var lifters []string
	for _, w := range wn.Ways {
		for _, bl := range w.BlockedBy {
			r := bl.Reason
			if bl.Rule != "" {
				r += " (" + bl.Rule + ")"
			}
			if r != "" && !slices.Contains(reasons, r) {
				reasons = append(reasons, r)
			}
			if lifters == nil && bl.Lift != nil && len(bl.Lift.Subjects) > 0 {
				lifters = grantorNames(bl.Lift)
			}
		}
	}
	if len(reasons) > 0 {
		b.WriteString(" Every way is blocked: " + strings.Join(reasons, "; ") + ".")
		if lifters != nil {
			b.WriteString(" " + orList(lifters, false) + " may lift the block.")
		}
	} else if len(wn.Ways) == 0 {
		b.WriteString(" Nothing in the schema could grant it to them.")
	}
	return b.String()
}

// nearerWay reports whether way a is nearer to granting than b: it lacks
// fewer relationships, or as many but someone may write them now, or
// takes fewer steps through the schema.
func nearerWay(a, b workflow.Way) bool {
	if len(a.Missing) != len(b.Missing) {
		return len(a.Missing) < len(b.Missing)
	}
	if grantable(a) != grantable(b) {
		return grantable(a)
	}
	return strings.Count(a.Via, "->") < strings.Count(b.Via, "->")
}

// grantable reports whether someone may write every relationship w lacks now.
func grantable(w workflow.Way) bool {
	for _, m := range w.Missing {
		if m.Grant == nil || len(m.Grant.Subjects) == 0 {
			return false
		}
	}
	return true
}

// bare is a user's bare id ("carla"), any other subject as written.
func bare(s gatehouse.Subject) string {
	if s.Type == gatehouse.TypeUser && s.Relation == "" {
		return s.ID
	}
	return s.String()
}

// names are subjects by bare name.
func names(ss []gatehouse.Subject) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = bare(s)
	}
	return out
}

// grantorNames are the people of a grant by bare name, each who holds its
// permission only until a role expires with when (T5).
func grantorNames(g *workflow.Grant) []string {
	out := names(g.Subjects)
	for i, s := range g.Subjects {
		if t, ok := g.Until[s]; ok {
			out[i] += " (until " + t.UTC().Format(time.DateTime) + " UTC)"
		}
	}
	return out
}

// orList joins names as "a, b or c", "or others" when there are more.
func orList(ns []string, more bool) string {
	if more {
		ns = append(ns, "others")
	}
	if len(ns) < 2 {
		return strings.Join(ns, "")
	}
	return strings.Join(ns[:len(ns)-1], ", ") + " or " + ns[len(ns)-1]
}

// insider reports whether actor may be told what holds on res: the
// workflow's Insider (X1); a failure tells nothing.
func (c *console) insider(r *http.Request, actor gatehouse.Subject, res gatehouse.Object) bool {
	ok, err := c.cfg.Workflow.Insider(r.Context(), actor, res)
	return err == nil && ok
}
