package proxy

import (
	"sync/atomic"

	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// generations say, for one schema, which cached answers a change can
// affect. Every relation and permission has a generation counter, and a
// relation that stores relationships names the counters of every relation
// and permission whose check can read it; a change of it moves those, so
// an answer kept under its permission's generation is found only while
// nothing it can read has changed. timed holds the relations and
// permissions whose answer can reach a relationship that expires.
type generations struct {
	// id numbers this reading of the schema (Cached.loads).
	id    uint64
	of    map[gatehouse.TypeRelation][]*atomic.Uint64
	gen   map[gatehouse.TypeRelation]*atomic.Uint64
	timed map[gatehouse.TypeRelation]bool
}

// generationsOf reads schema's generations; an error leaves nothing cached.
func generationsOf(schema string) (*generations, error) {
	rd, err := readersOf(schema)
	if err != nil {
		return nil, err
	}
	timed, err := expiringRelations(schema)
	if err != nil {
		return nil, err
	}
	rd.timed = timed
	return rd, nil
}

// expiringRelations returns every relation and permission of schema whose
// check can read a relationship that may carry an expiration, directly or
// through any relation or permission it refers to.
func expiringRelations(schema string) (map[gatehouse.TypeRelation]bool, error) {
	defs, err := relationsOf(schema)
	if err != nil {
		return nil, err
	}
	// One depth-first walk per relation: a relation already visited in
	// the walk adds nothing its first visit does not find.
	var visited map[gatehouse.TypeRelation]bool
	var reaches func(typ, rel string) bool
	reaches = func(typ, rel string) bool {
		k := gatehouse.TypeRelation{Type: typ, Relation: rel}
		if visited[k] {
			return false
		}
		visited[k] = true
		r := defs[typ][rel]
		if r == nil {
			return false
		}
		direct := func() bool {
			for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
				if a.GetRequiredExpiration() != nil {
					return true
				}
				if sr := a.GetRelation(); sr != "" && sr != "..." && reaches(a.GetNamespace(), sr) {
					return true
				}
			}
			return false
		}
		// via follows an arrow: the tupleset relation itself, then the
		// computed relation on every type the tupleset may point at.
		via := func(tupleset, computed string) bool {
			if reaches(typ, tupleset) {
				return true
			}
			for _, a := range defs[typ][tupleset].GetTypeInformation().GetAllowedDirectRelations() {
				if reaches(a.GetNamespace(), computed) {
					return true
				}
			}
			return false
		}
		var rewrite func(*core.UsersetRewrite) bool
		rewrite = func(rw *core.UsersetRewrite) bool {
			for _, c := range operands(rw) {
				switch {
				case c.GetXThis() != nil:
					if direct() {
						return true
					}
				case c.GetComputedUserset() != nil:
					if reaches(typ, c.GetComputedUserset().GetRelation()) {
						return true
					}
				case c.GetTupleToUserset() != nil:
					t := c.GetTupleToUserset()
					if via(t.GetTupleset().GetRelation(), t.GetComputedUserset().GetRelation()) {
						return true
					}
				case c.GetFunctionedTupleToUserset() != nil:
					t := c.GetFunctionedTupleToUserset()
					if via(t.GetTupleset().GetRelation(), t.GetComputedUserset().GetRelation()) {
						return true
					}
				case c.GetUsersetRewrite() != nil:
					if rewrite(c.GetUsersetRewrite()) {
						return true
					}
				}
			}
			return false
		}
		if rw := r.GetUsersetRewrite(); rw != nil {
			return rewrite(rw)
		}
		return direct()
	}
	out := map[gatehouse.TypeRelation]bool{}
	for typ, rels := range defs {
		for rel := range rels {
			visited = map[gatehouse.TypeRelation]bool{}
			if reaches(typ, rel) {
				out[gatehouse.TypeRelation{Type: typ, Relation: rel}] = true
			}
		}
	}
	return out, nil
}

// readersOf returns, for schema, the generation counters of a watched
// cache: per relation that stores relationships, those of every relation
// and permission whose check can read it, directly, through a subject
// relation (team#member), or through an arrow (its tupleset, then the
// computed relation on every type the tupleset may point at).
func readersOf(schema string) (*generations, error) {
	defs, err := relationsOf(schema)
	if err != nil {
		return nil, err
	}
	// reads collects into seen every relation and permission the check of
	// (typ, rel) can evaluate; each stored one among them is read.
	var reads func(typ, rel string, seen map[gatehouse.TypeRelation]bool)
	reads = func(typ, rel string, seen map[gatehouse.TypeRelation]bool) {
		k := gatehouse.TypeRelation{Type: typ, Relation: rel}
		r := defs[typ][rel]
		if seen[k] || r == nil {
			return
		}
		seen[k] = true
		for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
			if sr := a.GetRelation(); sr != "" && sr != "..." {
				reads(a.GetNamespace(), sr, seen)
			}
		}
		arrow := func(tupleset, computed string) {
			reads(typ, tupleset, seen)
			for _, a := range defs[typ][tupleset].GetTypeInformation().GetAllowedDirectRelations() {
				reads(a.GetNamespace(), computed, seen)
			}
		}
		var rewrite func(*core.UsersetRewrite)
		rewrite = func(rw *core.UsersetRewrite) {
			for _, c := range operands(rw) {
				switch {
				case c.GetComputedUserset() != nil:
					reads(typ, c.GetComputedUserset().GetRelation(), seen)
				case c.GetTupleToUserset() != nil:
					t := c.GetTupleToUserset()
					arrow(t.GetTupleset().GetRelation(), t.GetComputedUserset().GetRelation())
				case c.GetFunctionedTupleToUserset() != nil:
					t := c.GetFunctionedTupleToUserset()
					arrow(t.GetTupleset().GetRelation(), t.GetComputedUserset().GetRelation())
				case c.GetUsersetRewrite() != nil:
					rewrite(c.GetUsersetRewrite())
				}
			}
		}
		if rw := r.GetUsersetRewrite(); rw != nil {
			rewrite(rw)
		}
	}
	out := &generations{of: map[gatehouse.TypeRelation][]*atomic.Uint64{}, gen: map[gatehouse.TypeRelation]*atomic.Uint64{}}
	for typ, rels := range defs {
		for rel := range rels {
			out.gen[gatehouse.TypeRelation{Type: typ, Relation: rel}] = new(atomic.Uint64)
		}
	}
	for typ, rels := range defs {
		for rel := range rels {
			seen := map[gatehouse.TypeRelation]bool{}
			reads(typ, rel, seen)
			for k := range seen {
				// Only a relation stores relationships; a change names one.
				if defs[k.Type][k.Relation].GetUsersetRewrite() == nil {
					out.of[k] = append(out.of[k], out.gen[gatehouse.TypeRelation{Type: typ, Relation: rel}])
				}
			}
		}
	}
	return out, nil
}

// relationsOf compiles schema and returns its relations and permissions by
// type and name.
func relationsOf(schema string) (map[string]map[string]*core.Relation, error) {
	compiled, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: schema}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, err
	}
	defs := map[string]map[string]*core.Relation{}
	for _, ns := range compiled.ObjectDefinitions {
		rels := map[string]*core.Relation{}
		for _, r := range ns.GetRelation() {
			rels[r.GetName()] = r
		}
		defs[ns.GetName()] = rels
	}
	return defs, nil
}

// operands are the children of a rewrite's union, intersection or exclusion.
func operands(rw *core.UsersetRewrite) []*core.SetOperation_Child {
	op := rw.GetUnion()
	if op == nil {
		op = rw.GetIntersection()
	}
	if op == nil {
		op = rw.GetExclusion()
	}
	return op.GetChild()
}
