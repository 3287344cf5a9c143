package proxy

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"

	"github.com/gatehouse-authz/gatehouse"
)

// DefaultDecisionCacheSize is how many check answers Cached keeps: at ~200
// bytes each, about 20 MB.
const DefaultDecisionCacheSize = 100_000

// DefaultLookupCacheIDs is how many resource ids Cached's kept lookups
// hold in all: at ~40 bytes each, about 40 MB (twice that for answers a
// check has read, which keep a set of their ids too).
const DefaultLookupCacheIDs = 1_000_000

// maxLookupKept is the largest answer kept: a bigger one would crowd out
// every other.
const maxLookupKept = DefaultLookupCacheIDs / 10

// Cached is a gatehouse.Store that answers a check, or a lookup of every
// resource a subject may reach, from the answers it kept, for as long as
// no change its ChangeFeed told can have altered them (issue 20). It reads
// the schema once (again after the schema changes) to know which answers
// a change can reach: every relation and permission has a generation, a
// change of a stored relation moves the generations of everything whose
// check can read it (generations), and an answer is kept under its
// permission's generation, so it is found only while nothing it can read
// has changed. An expiration passing moves the generation of everything
// that can reach an expiring relationship (T5's roles, C6's exceptions):
// a change known in advance, which the feed tells at its time.
//
// A miss is read at the feed's snapshot, and kept only when no change
// began between reading the generation and reading the answer (see
// gatehouse.ChangeFeed): the answer and the generation are of one state.
// A hit is served only under the same condition, with the snapshot's
// token. Checks and lookups with a caveat context of their own, pages
// after the first, reads at an exact snapshot, bulk checks and every
// other call go to the Store it wraps.
//
// A kept whole lookup also answers its subject's checks of its type: at
// the same generation a check is whether the answer holds the resource,
// as SpiceDB computed it at one snapshot, so a backend that lists a
// subject's resources and then checks them one by one pays for the list
// only. An answer with a resource reached only on a caveat's condition
// answers no check: SpiceDB must say what is missing. (Fetching a
// subject's lookup in the background after a few checks of one type
// missed was tried and measured: distinct checks fell from 507 to 364
// req/s; see docs/speed.md.)
type Cached struct {
	gatehouse.Store
	feed gatehouse.ChangeFeed

	// gens is the schema's generations; nil until read, and again after
	// a change of the schema (everything moves then).
	gens atomic.Pointer[generations]
	// everything counts the changes of everything; a schema read begun
	// before one is not kept.
	everything atomic.Uint64
	// loads numbers the generations read, so that no key of one schema's
	// counters is the key of another's.
	loads atomic.Uint64
	load  sync.Mutex
	// tick moves when an expiration passes.
	tick atomic.Uint64

	decisions *otter.Cache[decisionKey, gatehouse.CheckResult]
	lookups   *otter.Cache[lookupKey, *keptAnswer]
	// hits counts the checks answered from decisions, lookupHits the
	// lookups from kept lookups, lookupCheckHits the checks from them.
	hits, lookupHits, lookupCheckHits atomic.Int64
}

var _ gatehouse.Store = (*Cached)(nil)

type decisionKey struct {
	schema, tick, gen        uint64
	resourceType, resourceID string
	permission               string
	subjectType, subjectID   string
	subjectRelation          string
}

type lookupKey struct {
	schema, tick, gen                       uint64
	resourceType, permission                string
	subjectType, subjectID, subjectRelation string
}

// lookup is the key of the whole lookup that would answer k's check (its
// subject's resources of its type): the same generation, read once.
func (k decisionKey) lookup() lookupKey {
	return lookupKey{
		schema: k.schema, tick: k.tick, gen: k.gen,
		resourceType: k.resourceType, permission: k.permission,
		subjectType: k.subjectType, subjectID: k.subjectID, subjectRelation: k.subjectRelation,
	}
}

// NewCached wraps inner in a cache kept exact by feed, which must tell
// every change to inner's data (see gatehouse.ChangeFeed).
func NewCached(inner gatehouse.Store, feed gatehouse.ChangeFeed) *Cached {
	c := &Cached{
		Store:     inner,
		feed:      feed,
		decisions: otter.Must(&otter.Options[decisionKey, gatehouse.CheckResult]{MaximumSize: DefaultDecisionCacheSize}),
		lookups: otter.Must(&otter.Options[lookupKey, *keptAnswer]{
			MaximumWeight: uint64(DefaultLookupCacheIDs),
			Weigher:       weighIDs,
		}),
	}
	feed.OnChange(c.changed)
	return c
}

// changed moves the generations a change can reach.
func (c *Cached) changed(ch gatehouse.Change) {
	if ch.Expired {
		c.tick.Add(1)
	}
	g := c.gens.Load()
	if ch.Everything || (g == nil && len(ch.Relations) > 0) {
		c.schemaChanged()
		return
	}
	for _, r := range ch.Relations {
		gens, ok := g.of[r]
		if !ok {
			// A relation the schema read does not have: a newer schema.
			c.schemaChanged()
			return
		}
		for _, n := range gens {
			n.Add(1)
		}
	}
}

// schemaChanged forgets the generations; the next read reads the schema.
func (c *Cached) schemaChanged() {
	c.everything.Add(1)
	c.gens.Store(nil)
}

// generations returns the schema's generations, reading the schema when
// they are not known; nil when it cannot (nothing is cached then).
func (c *Cached) generations(ctx context.Context) *generations {
	if g := c.gens.Load(); g != nil {
		return g
	}
	c.load.Lock()
	defer c.load.Unlock()
	if g := c.gens.Load(); g != nil {
		return g
	}
	mark := c.everything.Load()
	text, err := c.ReadSchema(ctx)
	if err != nil {
		return nil
	}
	g, err := generationsOf(text)
	if err != nil {
		// A schema this cannot read caches nothing until it changes.
		g = &generations{}
	}
	g.id = c.loads.Add(1)
	if c.everything.Load() != mark {
		return nil // the schema changed while it was read
	}
	c.gens.Store(g)
	return g
}

// generation is what an answer of perm is kept under; false when perm
// is not one the schema has (SpiceDB refuses it) or the schema is unknown.
func (c *Cached) generation(ctx context.Context, perm gatehouse.TypeRelation) (schema, tick, gen uint64, ok bool) {
	g := c.generations(ctx)
	if g == nil {
		return 0, 0, 0, false
	}
	n := g.gen[perm]
	if n == nil {
		return 0, 0, 0, false
	}
	if g.timed[perm] {
		tick = c.tick.Load()
	}
	return g.id, tick, n.Load(), true
}

// read is how a cached read begins: the count of changes begun, read
// when none was under way; the generation of its permission, read next;
// and the snapshot it reads, last.
type read struct {
	begun             uint64
	schema, tick, gen uint64
	snap              gatehouse.Snapshot
}

// begin begins a cached read of perm at consistency cons; false when it
// must go to the Store as asked: a change is under way, the schema or
// the permission is unknown, or the feed has no snapshot for cons.
func (c *Cached) begin(ctx context.Context, perm gatehouse.TypeRelation, cons gatehouse.Consistency) (read, bool) {
	var r read
	begun, told := c.feed.Changes()
	if begun != told {
		return r, false
	}
	r.begun = begun
	var ok bool
	if r.schema, r.tick, r.gen, ok = c.generation(ctx, perm); !ok {
		return r, false
	}
	r.snap, ok = c.feed.Snapshot(ctx, cons)
	return r, ok
}

// still reports whether no change has begun since begin read begun.
func (c *Cached) still(begun uint64) bool {
	now, _ := c.feed.Changes()
	return now == begun
}

// Check implements gatehouse.Store: from the cache when it can.
func (c *Cached) Check(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	if len(req.Context) > 0 || req.Consistency.AtExactSnapshot != "" {
		return c.Store.Check(ctx, req)
	}
	r, ok := c.begin(ctx, gatehouse.TypeRelation{Type: req.Resource.Type, Relation: req.Permission}, req.Consistency)
	if !ok {
		return c.Store.Check(ctx, req)
	}
	begun, snap := r.begun, r.snap
	key := decisionKey{
		schema: r.schema, tick: r.tick, gen: r.gen,
		resourceType: req.Resource.Type, resourceID: req.Resource.ID,
		permission:  req.Permission,
		subjectType: req.Subject.Type, subjectID: req.Subject.ID, subjectRelation: req.Subject.Relation,
	}
	if res, ok := c.decisions.GetIfPresent(key); ok && c.still(begun) {
		c.hits.Add(1)
		res.ZedToken = snap.Token
		return res, nil
	}
	if k, ok := c.lookups.GetIfPresent(key.lookup()); ok && k.checkable && c.still(begun) {
		c.lookupCheckHits.Add(1)
		return gatehouse.CheckResult{Allowed: k.holds(req.Resource.ID), ZedToken: snap.Token}, nil
	}
	at := req
	at.Consistency = snap.Read
	res, err := c.Store.Check(ctx, at)
	if err != nil {
		return res, err
	}
	if c.still(begun) {
		c.decisions.Set(key, res)
	}
	return res, nil
}

// LookupResources implements gatehouse.Store: a whole answer (a first
// page that held every resource) is kept, and a later lookup whose limit
// holds it too is answered from it.
func (c *Cached) LookupResources(ctx context.Context, req gatehouse.LookupResourcesRequest) (gatehouse.LookupResourcesResult, error) {
	if len(req.Context) > 0 || req.Cursor != "" || req.Consistency.AtExactSnapshot != "" {
		return c.Store.LookupResources(ctx, req)
	}
	r, ok := c.begin(ctx, gatehouse.TypeRelation{Type: req.ResourceType, Relation: req.Permission}, req.Consistency)
	if !ok {
		return c.Store.LookupResources(ctx, req)
	}
	begun, snap := r.begun, r.snap
	key := lookupKey{
		schema: r.schema, tick: r.tick, gen: r.gen,
		resourceType: req.ResourceType, permission: req.Permission,
		subjectType: req.Subject.Type, subjectID: req.Subject.ID, subjectRelation: req.Subject.Relation,
	}
	if k, ok := c.lookups.GetIfPresent(key); ok && (req.Limit <= 0 || len(k.ids) <= req.Limit) && c.still(begun) {
		c.lookupHits.Add(1)
		out := gatehouse.LookupResourcesResult{Resources: make([]gatehouse.Object, len(k.ids)), ZedToken: snap.Token, Conditional: !k.checkable}
		for i, id := range k.ids {
			out.Resources[i] = gatehouse.Object{Type: req.ResourceType, ID: id}
		}
		return out, nil
	}
	at := req
	at.Consistency = snap.Read
	out, err := c.Store.LookupResources(ctx, at)
	if err == nil && out.Cursor == "" && len(out.Resources) <= maxLookupKept && c.still(begun) {
		ids := make([]string, len(out.Resources))
		for i, r := range out.Resources {
			ids[i] = r.ID
		}
		c.lookups.Set(key, &keptAnswer{ids: ids, checkable: !out.Conditional})
	}
	return out, err
}

// WriteSchema implements gatehouse.Store: the generations are read again
// after it, whatever the feed tells.
func (c *Cached) WriteSchema(ctx context.Context, schema string) error {
	c.schemaChanged()
	defer c.schemaChanged()
	return c.Store.WriteSchema(ctx, schema)
}

// Hits counts the checks answered from the cache.
func (c *Cached) Hits() int64 { return c.hits.Load() }

// LookupHits counts the lookups answered from kept lookups.
func (c *Cached) LookupHits() int64 { return c.lookupHits.Load() }

// LookupCheckHits counts the checks a kept lookup answered.
func (c *Cached) LookupCheckHits() int64 { return c.lookupCheckHits.Load() }

// keptAnswer is one whole lookup answer: its ids in SpiceDB's order, and
// whether a check may be answered from it (no resource reached only on a
// caveat's condition). set holds the ids for checks, built at the first.
type keptAnswer struct {
	ids       []string
	checkable bool
	once      sync.Once
	set       map[string]struct{}
}

// holds reports whether id is in the answer.
func (k *keptAnswer) holds(id string) bool {
	k.once.Do(func() {
		k.set = make(map[string]struct{}, len(k.ids))
		for _, id := range k.ids {
			k.set[id] = struct{}{}
		}
	})
	_, ok := k.set[id]
	return ok
}

// weighIDs weighs a kept answer by its ids: at most maxLookupKept.
func weighIDs(_ lookupKey, k *keptAnswer) uint32 { return uint32(max(1, len(k.ids))) } //nolint:gosec // at most maxLookupKept
