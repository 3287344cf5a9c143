package spicedb

import (
	"sync/atomic"

	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
	"github.com/maypok86/otter/v2"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// DefaultDecisionCacheSize is how many check answers WithDecisionCache
// keeps by default: at ~200 bytes each, about 20 MB.
const DefaultDecisionCacheSize = 100_000

// decisions caches the engine's check answers for as long as nothing can
// have changed them. It is exact only when every write to the datastore
// goes through this Store (the embedded memory datastore), because it
// knows of a change by the write that makes it:
//
//   - epoch moves when any write (relationships, deletes, the schema)
//     begins and again when it ends, and inflight counts the writes
//     between the two;
//   - an answer is stored under the epoch it was computed in, and only if
//     no write was in flight when the computation began and the epoch was
//     the same when it ended, so it is the answer at a state that is still
//     the current one;
//   - a lookup uses the current epoch, so a check that begins after a
//     write has returned (the epoch has moved past it) never sees an
//     answer computed before that write.
//
// Time changes answers too: SpiceDB hides an expired relationship at read
// time, with no write (C6's exceptions, T5's roles). Every expiration is
// written through this Store, so each is a change known in advance: an
// answer whose permission can reach an expiring relationship is stored
// under tick as well, and tick moves at every expiration written, at the
// first check at or after it. A check with a caveat context of its own is
// never cached.
type decisions struct {
	cache    *otter.Cache[decisionKey, gatehouse.CheckResult]
	epoch    atomic.Uint64
	inflight atomic.Int64
	// timed holds the (type, permission) pairs whose answer can depend on
	// an expiration; nil until the schema is known, and then nothing is
	// cached.
	timed atomic.Pointer[map[typeRel]bool]
	// tick moves when one of the expirations scheduled passes.
	tick      atomic.Uint64
	scheduled expiries

	// watched is a cache kept by SpiceDB's Watch stream instead (every
	// shape but embedded memory; see follower): writes through this
	// Store move nothing, the stream's changes move gens, and the Store
	// moves tick as an expiration passes, after dropping its snapshot.
	watched bool
	// hits counts the checks answered from the cache.
	hits atomic.Int64
	// readers is, per relation the schema stores relationships in, the
	// generations of every relation and permission whose check can read
	// it; nil until the schema is known.
	readers atomic.Pointer[readers]
}

// readers maps a stored relation to the generation counters of what reads
// it, and each relation or permission to its own counter.
type readers struct {
	of  map[typeRel][]*atomic.Uint64
	gen map[typeRel]*atomic.Uint64
}

type typeRel struct{ typ, rel string }

type decisionKey struct {
	epoch, tick, gen         uint64
	resourceType, resourceID string
	permission               string
	subjectType, subjectID   string
	subjectRelation          string
}

func newDecisions(size int) *decisions {
	return &decisions{cache: otter.Must(&otter.Options[decisionKey, gatehouse.CheckResult]{MaximumSize: size})}
}

// expiring schedules the expirations a write is about to store: each is a
// change of every answer that can reach it, at its time. Call it before
// the write begins.
func (d *decisions) expiring(updates []gatehouse.Update) {
	if d != nil {
		d.scheduled.add(updates)
	}
}

// passExpiries moves tick when an expiration has passed since the last
// check: every answer that time can change, stored before, is gone.
func (d *decisions) passExpiries() {
	if d.scheduled.due() {
		d.tick.Add(1)
	}
}

// beginWrite and endWrite bracket every write through the Store. A nil
// *decisions (no cache) ignores every call.
func (d *decisions) beginWrite() {
	if d == nil || d.watched {
		return
	}
	d.inflight.Add(1)
	d.epoch.Add(1)
}

func (d *decisions) endWrite() {
	if d == nil || d.watched {
		return
	}
	d.epoch.Add(1)
	d.inflight.Add(-1)
}

// schemaUnknown stops caching until schemaWritten.
func (d *decisions) schemaUnknown() {
	if d != nil {
		d.timed.Store(nil)
		d.readers.Store(nil)
		d.epoch.Add(1)
	}
}

// schemaWritten learns which permissions of schema can depend on an
// expiration. A schema it cannot read leaves the cache off.
func (d *decisions) schemaWritten(schema string) {
	if d == nil {
		return
	}
	timed, err := expiringRelations(schema)
	if err != nil {
		d.timed.Store(nil)
		return
	}
	deps, err := readersOf(schema)
	if err != nil {
		d.timed.Store(nil)
		return
	}
	d.readers.Store(deps)
	d.epoch.Add(1)
	d.timed.Store(&timed)
}

// watchedKey is the key of req's answer in a watched cache, read before
// the snapshot the answer is computed at (see follower.heard); false when
// req is not to be cached.
func (d *decisions) watchedKey(req gatehouse.CheckRequest) (decisionKey, bool) {
	if d == nil || !d.watched || len(req.Context) > 0 {
		return decisionKey{}, false
	}
	epoch, tick, gen, ok := d.generation(typeRel{req.Resource.Type, req.Permission})
	return decisionKey{
		epoch: epoch, tick: tick, gen: gen,
		resourceType: req.Resource.Type, resourceID: req.Resource.ID,
		permission:  req.Permission,
		subjectType: req.Subject.Type, subjectID: req.Subject.ID, subjectRelation: req.Subject.Relation,
	}, ok
}

// generation is what a watched answer of perm is kept under: the epoch,
// the expiry tick when perm can reach an expiration (else 0), and perm's
// own generation; false until the schema is known, or for a permission
// it lacks (SpiceDB refuses it).
func (d *decisions) generation(perm typeRel) (epoch, tick, gen uint64, ok bool) {
	timed, rd := d.timed.Load(), d.readers.Load()
	if timed == nil || rd == nil {
		return 0, 0, 0, false
	}
	g := rd.gen[perm]
	if g == nil {
		return 0, 0, 0, false
	}
	if (*timed)[perm] {
		tick = d.tick.Load()
	}
	return d.epoch.Load(), tick, g.Load(), true
}

// changed drops, from a watched cache, every answer that the changes of
// one Watch response can affect: the answers of every relation and
// permission that can read a relation changed. A change of the schema, or
// of a relation the schema it knows does not have, drops everything.
func (d *decisions) changed(resp *v1.WatchResponse) {
	if d == nil || !d.watched {
		return
	}
	if resp.GetSchemaUpdated() {
		d.epoch.Add(1)
		return
	}
	rd := d.readers.Load()
	if rd == nil {
		d.epoch.Add(1)
		return
	}
	done := map[typeRel]bool{}
	for _, u := range resp.GetUpdates() {
		r := u.GetRelationship()
		k := typeRel{r.GetResource().GetObjectType(), r.GetRelation()}
		if done[k] {
			continue
		}
		done[k] = true
		gens, ok := rd.of[k]
		if !ok {
			d.epoch.Add(1)
			return
		}
		for _, g := range gens {
			g.Add(1)
		}
	}
}

// expiryPassed drops, from a watched cache, every answer an expiration can
// change; the Store calls it after dropping its snapshot.
func (d *decisions) expiryPassed() {
	if d != nil && d.watched {
		d.tick.Add(1)
	}
}

// check answers req from the cache, or through compute and caches the answer when that is exact.
func (d *decisions) check(req gatehouse.CheckRequest, compute func() (gatehouse.CheckResult, error)) (gatehouse.CheckResult, error) {
	if d == nil {
		return compute()
	}
	timed := d.timed.Load()
	if len(req.Context) > 0 || timed == nil {
		return compute()
	}
	d.passExpiries()
	isTimed := (*timed)[typeRel{req.Resource.Type, req.Permission}]
	var tick uint64
	if isTimed {
		tick = d.tick.Load()
	}
	epoch := d.epoch.Load()
	if d.inflight.Load() > 0 {
		// A write is under way: whether the engine sees it is not known,
		// so its answer belongs to no epoch.
		return compute()
	}
	key := decisionKey{
		epoch: epoch, tick: tick,
		resourceType: req.Resource.Type, resourceID: req.Resource.ID,
		permission:  req.Permission,
		subjectType: req.Subject.Type, subjectID: req.Subject.ID, subjectRelation: req.Subject.Relation,
	}
	if res, ok := d.cache.GetIfPresent(key); ok {
		d.hits.Add(1)
		return res, nil
	}
	res, err := compute()
	if err == nil && d.epoch.Load() == epoch {
		d.cache.Set(key, res)
	}
	return res, err
}

// expiringRelations returns every relation and permission of schema whose
// check can read a relationship that may carry an expiration, directly or
// through any relation or permission it refers to.
func expiringRelations(schema string) (map[typeRel]bool, error) {
	defs, err := relationsOf(schema)
	if err != nil {
		return nil, err
	}
	// One depth-first walk per relation: a relation already visited in
	// the walk adds nothing its first visit does not find.
	var visited map[typeRel]bool
	var reaches func(typ, rel string) bool
	reaches = func(typ, rel string) bool {
		k := typeRel{typ, rel}
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
			op := rw.GetUnion()
			if op == nil {
				op = rw.GetIntersection()
			}
			if op == nil {
				op = rw.GetExclusion()
			}
			for _, c := range op.GetChild() {
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
	out := map[typeRel]bool{}
	for typ, rels := range defs {
		for rel := range rels {
			visited = map[typeRel]bool{}
			if reaches(typ, rel) {
				out[typeRel{typ, rel}] = true
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
func readersOf(schema string) (*readers, error) {
	defs, err := relationsOf(schema)
	if err != nil {
		return nil, err
	}
	// reads collects into seen every relation and permission the check of
	// (typ, rel) can evaluate; each stored one among them is read.
	var reads func(typ, rel string, seen map[typeRel]bool)
	reads = func(typ, rel string, seen map[typeRel]bool) {
		k := typeRel{typ, rel}
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
			op := rw.GetUnion()
			if op == nil {
				op = rw.GetIntersection()
			}
			if op == nil {
				op = rw.GetExclusion()
			}
			for _, c := range op.GetChild() {
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
	out := &readers{of: map[typeRel][]*atomic.Uint64{}, gen: map[typeRel]*atomic.Uint64{}}
	for typ, rels := range defs {
		for rel := range rels {
			out.gen[typeRel{typ, rel}] = new(atomic.Uint64)
		}
	}
	for typ, rels := range defs {
		for rel := range rels {
			seen := map[typeRel]bool{}
			reads(typ, rel, seen)
			for k := range seen {
				// Only a relation stores relationships; a change names one.
				if defs[k.typ][k.rel].GetUsersetRewrite() == nil {
					out.of[k] = append(out.of[k], out.gen[typeRel{typ, rel}])
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
