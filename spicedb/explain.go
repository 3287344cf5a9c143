package spicedb

import (
	"context"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// explainBounds bound the search for an explanation's chains: how deep
// the walk of the expanded tree goes, how long expanding and walking may
// take, and how many chains the answer holds. Past any of them the answer
// is Truncated rather than an error: the check's answer is complete, and
// the chains found so far are still true.
type explainBounds struct {
	depth int
	time  time.Duration
	paths int
}

// Explain's bounds: deeper than any chain a person reads, and well inside
// GATEHOUSE_REQUEST_TIMEOUT's default.
const (
	explainDepth = 32
	explainTime  = 3 * time.Second
	explainPaths = 100
)

// Explain implements gatehouse.Store. The check says whether; SpiceDB's
// ExpandPermissionTree, at the same revision, says why: the tree is walked
// for every leaf that holds the subject, and each hop from one object to
// another (an arrow) is named by the relationship between them. Check
// tracing would be shorter, but a remote SpiceDB answers traced steps from
// its dispatch cache without the relationships beneath them; expansion is
// never cached. The tree names subjects only, so each relationship at a
// leaf is read too, for its expiration (T5): a chain lasts until the
// earliest of them. The search is bounded by explainDepth, explainTime and
// explainPaths.
func (s *SpiceDB) Explain(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.Explanation, error) {
	return s.explain(ctx, req, explainBounds{depth: explainDepth, time: explainTime, paths: explainPaths})
}

func (s *SpiceDB) explain(ctx context.Context, req gatehouse.CheckRequest, b explainBounds) (gatehouse.Explanation, error) {
	resp, err := s.checkPermission(ctx, req)
	if err != nil {
		return gatehouse.Explanation{}, err
	}
	out := gatehouse.Explanation{
		Allowed:  resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION,
		Paths:    [][]gatehouse.Relationship{},
		ZedToken: token(resp.GetCheckedAt()),
	}
	if !out.Allowed {
		return out, nil
	}
	// Only the search is bounded in time: the check has answered, and
	// what the bound cuts short is the explanation, not the answer.
	bounded, cancel := context.WithTimeout(ctx, b.time)
	defer cancel()
	at := &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: resp.GetCheckedAt()}}
	start := time.Now()
	tree, err := s.perms.ExpandPermissionTree(bounded, &v1.ExpandPermissionTreeRequest{Consistency: at, Resource: objRef(req.Resource), Permission: req.Permission})
	s.timed("ExpandPermissionTree", start, err)
	if err != nil && ctx.Err() == nil && bounded.Err() != nil {
		out.Truncated = true
		return out, nil
	}
	if err != nil {
		return gatehouse.Explanation{}, translate(err)
	}
	w := &walker{
		s: s, subject: req.Subject, at: gatehouse.Consistency{AtLeastAsFresh: out.ZedToken},
		links: map[[2]gatehouse.Object]*gatehouse.Relationship{}, leaves: map[gatehouse.Relationship]gatehouse.Relationship{}, depth: b.depth,
	}
	paths, err := w.walk(bounded, tree.GetTreeRoot(), 0)
	switch {
	case err != nil && ctx.Err() == nil && bounded.Err() != nil:
		w.truncated = true
	case err != nil:
		return gatehouse.Explanation{}, err
	}
	out.Paths = dedupePaths(paths)
	if len(out.Paths) > b.paths {
		out.Paths, w.truncated = out.Paths[:b.paths], true
	}
	out.Truncated = w.truncated
	return out, nil
}

// walker finds, in an expanded permission tree, the chains that reach subject.
type walker struct {
	s       *SpiceDB
	subject gatehouse.Subject
	at      gatehouse.Consistency
	links   map[[2]gatehouse.Object]*gatehouse.Relationship
	leaves  map[gatehouse.Relationship]gatehouse.Relationship
	// depth is the deepest node walked; truncated says a node lay deeper.
	depth     int
	truncated bool
}

// walk returns the chains under node, found at depth, each read subject-side first.
func (w *walker) walk(ctx context.Context, node *v1.PermissionRelationshipTree, depth int) ([][]gatehouse.Relationship, error) {
	if depth > w.depth {
		w.truncated = true
		return nil, nil
	}
	here := fromObj(node.GetExpandedObject())
	if leaf := node.GetLeaf(); leaf != nil {
		var out [][]gatehouse.Relationship
		for _, sub := range leaf.GetSubjects() {
			got := fromSubj(sub)
			if got == w.subject || (got.ID == "*" && got.Type == w.subject.Type && got.Relation == "") {
				r, err := w.stored(ctx, gatehouse.Relationship{Resource: here, Relation: node.GetExpandedRelation(), Subject: got})
				if err != nil {
					return nil, err
				}
				out = append(out, []gatehouse.Relationship{r})
			}
		}
		return out, nil
	}
	set := node.GetIntermediate()
	children := set.GetChildren()
	if set.GetOperation() == v1.AlgebraicSubjectSet_OPERATION_EXCLUSION && len(children) > 0 {
		// Only the base grants, and only while no exclusion holds the
		// subject: the check allowed the permission, but perhaps through
		// another branch of a union (c3's administrator), while this one
		// is shut (carla's cis_processor, minus c3's admin_only, K2).
		for _, ex := range children[1:] {
			tails, err := w.walk(ctx, ex, depth+1)
			if err != nil {
				return nil, err
			}
			if len(tails) > 0 {
				return nil, nil
			}
		}
		children = children[:1]
	}
	var out [][]gatehouse.Relationship
	for _, child := range children {
		tails, err := w.walk(ctx, child, depth+1)
		if err != nil {
			return nil, err
		}
		if set.GetOperation() == v1.AlgebraicSubjectSet_OPERATION_INTERSECTION && len(tails) == 0 {
			return nil, nil
		}
		there := fromObj(child.GetExpandedObject())
		var link []gatehouse.Relationship
		if len(tails) > 0 && there != here && here.Type != "" {
			l, err := w.link(ctx, here, there)
			if err != nil {
				return nil, err
			}
			if l != nil {
				link = []gatehouse.Relationship{*l}
			}
		}
		for _, t := range tails {
			out = append(out, append(append([]gatehouse.Relationship{}, t...), link...))
		}
	}
	return out, nil
}

// link names the relationship by which an arrow steps from one object to another.
func (w *walker) link(ctx context.Context, from, to gatehouse.Object) (*gatehouse.Relationship, error) {
	key := [2]gatehouse.Object{from, to}
	if l, ok := w.links[key]; ok {
		return l, nil
	}
	page, err := w.s.ReadRelationshipsPage(ctx, gatehouse.ReadRequest{
		Filter: gatehouse.Filter{ResourceType: from.Type, ResourceID: from.ID, SubjectType: to.Type, SubjectID: to.ID},
		Limit:  1, Consistency: w.at,
	})
	if err != nil {
		return nil, err
	}
	var l *gatehouse.Relationship
	if len(page.Relationships) > 0 {
		l = &page.Relationships[0]
	}
	w.links[key] = l
	return l, nil
}

// stored is leaf r as it is stored, with its expiration when it has one
// (T5), read once per walk; r itself when it is no longer there.
func (w *walker) stored(ctx context.Context, r gatehouse.Relationship) (gatehouse.Relationship, error) {
	if l, ok := w.leaves[r]; ok {
		return l, nil
	}
	page, err := w.s.ReadRelationshipsPage(ctx, gatehouse.ReadRequest{
		Filter: gatehouse.Filter{
			ResourceType: r.Resource.Type, ResourceID: r.Resource.ID, Relation: r.Relation,
			SubjectType: r.Subject.Type, SubjectID: r.Subject.ID, SubjectRelation: r.Subject.Relation,
		},
		// An empty SubjectRelation matches any: a few, to find the one
		// whose subject is r's.
		Limit: 10, Consistency: w.at,
	})
	if err != nil {
		return gatehouse.Relationship{}, err
	}
	l := r
	for _, got := range page.Relationships {
		if got.Subject == r.Subject {
			l.ExpiresAt = got.ExpiresAt
			break
		}
	}
	w.leaves[r] = l
	return l, nil
}

func dedupePaths(in [][]gatehouse.Relationship) [][]gatehouse.Relationship {
	seen := map[string]bool{}
	var out [][]gatehouse.Relationship
	for _, p := range in {
		parts := make([]string, len(p))
		for i, r := range p {
			parts[i] = r.String()
		}
		k := strings.Join(parts, "|")
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}
