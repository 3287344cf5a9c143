package spicedb

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"

	"github.com/gatehouse-authz/gatehouse"
)

// Lookup answers kept by the Watch stream (issue 20 item 4). A lookup of
// every resource a subject may reach costs SpiceDB a walk of the whole
// relation (10,000 contractors: 40-80 ms, and a p99 of hundreds when
// several run at once), yet the answer only changes when a relationship
// the permission can read changes. The Watch stream says which: the same
// generation counters that keep the decision cache (decisions.readers)
// key a whole answer here, so a lookup repeated at any later snapshot
// with no change the permission can read is answered from memory, and the
// first one after such a change goes to SpiceDB at the new snapshot.
//
// Only whole answers are kept: a first page (no cursor) that held every
// resource. A later lookup is answered from one when its limit (0: every
// one) holds the whole answer too; otherwise, and for every cursor, it
// goes to SpiceDB as before. Lookups with a caveat context of their own
// are never kept.
//
// A kept answer also answers checks (checkFromLookup): at the same
// generations, a check of one resource is whether the whole answer holds
// it, as SpiceDB computed it at one snapshot, so a backend that lists a
// subject's resources and then checks them one by one pays SpiceDB for the
// list only. An answer with a resource reached only on a caveat's
// condition answers no check: SpiceDB must say what is missing. (Fetching
// a subject's lookup in the background after a few checks of one type
// missed was tried and measured: distinct checks fell from 507 to 364
// req/s, the fetches costing more than they saved; see docs/speed.md.)

// DefaultLookupCacheIDs is how many resource ids the lookup cache holds
// in all: at ~40 bytes each, about 40 MB (twice that for answers a check
// has read, which keep a set of their ids too).
const DefaultLookupCacheIDs = 1_000_000

// maxLookupKept is the largest answer kept: a bigger one would crowd out
// every other.
const maxLookupKept = DefaultLookupCacheIDs / 10

type lookupKey struct {
	epoch, tick, gen                        uint64
	resourceType, permission                string
	subjectType, subjectID, subjectRelation string
}

// lookups is the watched lookup cache.
type lookups struct {
	cache *otter.Cache[lookupKey, *keptAnswer]
	// hits counts the lookups answered from it; checkHits the checks.
	hits, checkHits atomic.Int64
}

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

func newLookups(ids int) *lookups {
	return &lookups{cache: otter.Must(&otter.Options[lookupKey, *keptAnswer]{
		MaximumWeight: uint64(ids), //nolint:gosec // a positive constant
		Weigher:       weighIDs,
	})}
}

// weighIDs weighs a kept answer by its ids: at most maxLookupKept.
func weighIDs(_ lookupKey, k *keptAnswer) uint32 { return uint32(max(1, len(k.ids))) } //nolint:gosec // at most maxLookupKept

// keep keeps out, a whole answer (no cursor) computed at a snapshot read
// after key, unless it is too big.
func (l *lookups) keep(key lookupKey, out gatehouse.LookupResourcesResult, conditional bool) {
	if out.Cursor != "" || len(out.Resources) > maxLookupKept {
		return
	}
	ids := make([]string, len(out.Resources))
	for i, r := range out.Resources {
		ids[i] = r.ID
	}
	l.cache.Set(key, &keptAnswer{ids: ids, checkable: !conditional})
}

// lookupKey is the key of req's whole answer, read before the snapshot
// it is computed at, as watchedKey is; false when it is not to be kept.
func (d *decisions) lookupKey(req gatehouse.LookupResourcesRequest) (lookupKey, bool) {
	if d == nil || !d.watched || len(req.Context) > 0 || req.Cursor != "" {
		return lookupKey{}, false
	}
	epoch, tick, gen, ok := d.generation(typeRel{req.ResourceType, req.Permission})
	return lookupKey{
		epoch: epoch, tick: tick, gen: gen,
		resourceType: req.ResourceType, permission: req.Permission,
		subjectType: req.Subject.Type, subjectID: req.Subject.ID, subjectRelation: req.Subject.Relation,
	}, ok
}

// watchedLookup answers req at the stream's snapshot, from the lookup
// cache when it holds the whole answer; false when req must go as it
// would with no stream.
func (s *SpiceDB) watchedLookup(ctx context.Context, req gatehouse.LookupResourcesRequest) (gatehouse.LookupResourcesResult, bool, error) {
	if s.follow == nil || s.lookups == nil {
		return gatehouse.LookupResourcesResult{}, false, nil
	}
	c := s.afterExpiry(ctx, req.Consistency)
	key, keep := s.decided.lookupKey(req)
	if !keep {
		return gatehouse.LookupResourcesResult{}, false, nil
	}
	snap := s.snapshotFor(ctx, c)
	if snap == "" {
		return gatehouse.LookupResourcesResult{}, false, nil
	}
	if k, ok := s.lookups.cache.GetIfPresent(key); ok && (req.Limit <= 0 || len(k.ids) <= req.Limit) {
		s.lookups.hits.Add(1)
		out := gatehouse.LookupResourcesResult{Resources: make([]gatehouse.Object, len(k.ids)), ZedToken: snap}
		for i, id := range k.ids {
			out.Resources[i] = gatehouse.Object{Type: req.ResourceType, ID: id}
		}
		return out, true, nil
	}
	out, conditional, err := s.lookupResources(ctx, req, exact(snap))
	if err == nil {
		s.lookups.keep(key, out, conditional)
	}
	return out, true, err
}

// lookup is the key of the whole lookup that would answer k's check (its
// subject's resources of its type): the same generation, read once,
// before the snapshot.
func (k decisionKey) lookup() lookupKey {
	return lookupKey{
		epoch: k.epoch, tick: k.tick, gen: k.gen,
		resourceType: k.resourceType, permission: k.permission,
		subjectType: k.subjectType, subjectID: k.subjectID, subjectRelation: k.subjectRelation,
	}
}

// checkFromLookup answers req at snap from the kept whole lookup of key
// (decisionKey.lookup), when there is one that may answer checks; false otherwise,
// and req goes to SpiceDB.
func (s *SpiceDB) checkFromLookup(req gatehouse.CheckRequest, key lookupKey, snap string) (gatehouse.CheckResult, bool) {
	k, ok := s.lookups.cache.GetIfPresent(key)
	if !ok || !k.checkable {
		return gatehouse.CheckResult{}, false
	}
	s.lookups.checkHits.Add(1)
	return gatehouse.CheckResult{Allowed: k.holds(req.Resource.ID), ZedToken: snap}, true
}

// LookupHits is how many lookups the Watch-kept lookup cache answered.
func (s *SpiceDB) LookupHits() int64 {
	if s.lookups == nil {
		return 0
	}
	return s.lookups.hits.Load()
}

// LookupCheckHits is how many checks a kept lookup answered.
func (s *SpiceDB) LookupCheckHits() int64 {
	if s.lookups == nil {
		return 0
	}
	return s.lookups.checkHits.Load()
}
