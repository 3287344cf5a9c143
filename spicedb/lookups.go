package spicedb

import (
	"context"
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

// DefaultLookupCacheIDs is how many resource ids the lookup cache holds
// in all: at ~40 bytes each, about 40 MB.
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
	cache *otter.Cache[lookupKey, []string]
	// hits counts the lookups answered from it.
	hits atomic.Int64
}

func newLookups(ids int) *lookups {
	return &lookups{cache: otter.Must(&otter.Options[lookupKey, []string]{
		MaximumWeight: uint64(ids), //nolint:gosec // a positive constant
		Weigher:       weighIDs,
	})}
}

// weighIDs weighs a kept answer by its ids: at most maxLookupKept.
func weighIDs(_ lookupKey, ids []string) uint32 { return uint32(max(1, len(ids))) } //nolint:gosec // at most maxLookupKept

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
	if ids, ok := s.lookups.cache.GetIfPresent(key); ok && (req.Limit <= 0 || len(ids) <= req.Limit) {
		s.lookups.hits.Add(1)
		out := gatehouse.LookupResourcesResult{Resources: make([]gatehouse.Object, len(ids)), ZedToken: snap}
		for i, id := range ids {
			out.Resources[i] = gatehouse.Object{Type: req.ResourceType, ID: id}
		}
		return out, true, nil
	}
	out, err := s.lookupResources(ctx, req, exact(snap))
	if err == nil && out.Cursor == "" && len(out.Resources) <= maxLookupKept {
		ids := make([]string, len(out.Resources))
		for i, r := range out.Resources {
			ids[i] = r.ID
		}
		s.lookups.cache.Set(key, ids)
	}
	return out, true, err
}

// LookupHits is how many lookups the Watch-kept lookup cache answered.
func (s *SpiceDB) LookupHits() int64 {
	if s.lookups == nil {
		return 0
	}
	return s.lookups.hits.Load()
}
