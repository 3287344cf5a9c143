package server

import (
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// whyNotWays writes a why-not answer (X6) in wire's terms, each grant as
// the endpoint that makes it.
func whyNotWays(d Deps, wn workflow.WhyNot) []wire.WhyNotWay {
	out := make([]wire.WhyNotWay, len(wn.Ways))
	for i, w := range wn.Ways {
		out[i].Via = w.Via
		for _, m := range w.Missing {
			out[i].Missing = append(out[i].Missing, wire.Missing{Relationship: m.Relationship.String(), Grantors: grantors(d, m.Grant)})
		}
		for _, b := range w.BlockedBy {
			out[i].BlockedBy = append(out[i].BlockedBy, wire.BlockedBy{Relation: b.Relation, Rule: b.Rule, Reason: b.Reason, Lift: grantors(d, b.Lift)})
		}
	}
	return out
}

// grantors names a grant's endpoint from the route table: its method and
// its path with the grant's arguments in place.
func grantors(d Deps, g *workflow.Grant) *wire.Grantors {
	if g == nil {
		return nil
	}
	rt, ok := d.endpoints[g.Op]
	if !ok {
		return nil
	}
	path := pathParam.ReplaceAllStringFunc(rt.path, func(p string) string {
		if v, ok := g.Args[p[1:len(p)-1]]; ok {
			return v
		}
		return p
	})
	out := &wire.Grantors{Endpoint: rt.method + " " + path, Permission: g.Permission, On: g.On.String(), Subjects: strs(g.Subjects), More: g.More}
	for s, t := range g.Until {
		if out.Until == nil {
			out.Until = map[string]string{}
		}
		out.Until[s.String()] = t.UTC().Format(time.RFC3339)
	}
	return out
}

// pathsUntil says until when each path lasts (T5), in their order: the
// earliest expiry on it and each relationship that expires; nil when
// nothing on any path expires.
func pathsUntil(paths [][]gatehouse.Relationship) []wire.PathUntil {
	out := make([]wire.PathUntil, len(paths))
	expires := false
	for i, p := range paths {
		var first *time.Time
		for _, r := range p {
			if r.ExpiresAt == nil {
				continue
			}
			expires = true
			out[i].Expiring = append(out[i].Expiring, wire.Expiring{Relationship: r.String(), Until: r.ExpiresAt.UTC().Format(time.RFC3339)})
			if first == nil || r.ExpiresAt.Before(*first) {
				first = r.ExpiresAt
			}
		}
		if first != nil {
			u := first.UTC().Format(time.RFC3339)
			out[i].Until = &u
		}
	}
	if !expires {
		return nil
	}
	return out
}

// whyNotSummary says a why-not answer in one sentence or two: who may not
// do what, the blocks that shut ways, then the nearest open way (nearer)
// and who may open it, or, when every way is blocked, who may lift a block.
func whyNotSummary(req gatehouse.CheckRequest, ways []wire.WhyNotWay) string {
	who := bareName(req.Subject.String())
	var b strings.Builder
	b.WriteString(who + " may not " + req.Permission + " " + req.Resource.String())
	if len(ways) == 0 {
		b.WriteString(": nothing in the schema could grant it to " + req.Subject.String() + ".")
		return b.String()
	}
	var reasons []string
	seen := map[string]bool{}
	var lift *wire.Grantors
	for _, w := range ways {
		for _, bl := range w.BlockedBy {
			r := bl.Reason
			if r == "" {
				r = bl.Relation + " holds"
			}
			if bl.Rule != "" {
				r += " (" + bl.Rule + ")"
			}
			if !seen[r] {
				seen[r] = true
				reasons = append(reasons, r)
			}
			if lift == nil && bl.Lift != nil {
				lift = bl.Lift
			}
		}
	}
	if len(reasons) > 0 {
		b.WriteString(": " + strings.Join(reasons, "; "))
	}
	b.WriteString(".")
	var near *wire.WhyNotWay
	for i, w := range ways {
		if len(w.BlockedBy) > 0 || len(w.Missing) == 0 {
			continue
		}
		if near == nil || nearer(w, *near) {
			near = &ways[i]
		}
	}
	switch {
	case near != nil:
		var rels []string
		for _, m := range near.Missing {
			rels = append(rels, m.Relationship)
		}
		b.WriteString(" " + who + " would hold it with " + strings.Join(rels, " and "))
		if g := near.Missing[0].Grantors; g != nil {
			b.WriteString(", which " + mayVia(g, "write"))
		}
		b.WriteString(".")
	case lift != nil:
		b.WriteString(" Every way is blocked; " + mayVia(lift, "lift it"))
		b.WriteString(".")
	default:
		b.WriteString(" Every way is blocked, and no endpoint lifts the block.")
	}
	return b.String()
}

// nearer reports whether way a is nearer to granting than b: it misses
// fewer relationships, or as many but someone may write them now, or
// both but it takes fewer steps through the schema (a role named by the
// permission itself rather than one of the owner's or SA's set).
func nearer(a, b wire.WhyNotWay) bool {
	if len(a.Missing) != len(b.Missing) {
		return len(a.Missing) < len(b.Missing)
	}
	if opens(a) != opens(b) {
		return opens(a)
	}
	return strings.Count(a.Via, "->") < strings.Count(b.Via, "->")
}

// opens reports whether someone may write every missing relationship of w now.
func opens(w wire.WhyNotWay) bool {
	for _, m := range w.Missing {
		if m.Grantors == nil || len(m.Grantors.Subjects) == 0 {
			return false
		}
	}
	return true
}

// mayVia says who may do what through a grant's endpoint.
func mayVia(g *wire.Grantors, what string) string {
	if len(g.Subjects) == 0 {
		return "nobody holding " + g.Permission + " on " + g.On + " may " + what + " now (" + g.Endpoint + ")"
	}
	names := make([]string, len(g.Subjects))
	for i, s := range g.Subjects {
		names[i] = bareName(s)
		if t, ok := g.Until[s]; ok {
			names[i] += " (until " + t + ")"
		}
	}
	list := strings.Join(names, " or ")
	if g.More {
		list += " or others"
	}
	return list + " (" + g.Permission + " on " + g.On + ") may " + what + " through " + g.Endpoint
}

// bareName is a user's bare id ("carla"), any other subject as written.
func bareName(s string) string {
	if id, ok := strings.CutPrefix(s, gatehouse.TypeUser+":"); ok {
		return id
	}
	return s
}
