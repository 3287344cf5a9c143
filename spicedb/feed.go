package spicedb

import (
	"context"
	"sync"
	"sync/atomic"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// changes counts and tells the changes of a ChangeFeed (see
// gatehouse.ChangeFeed): those the Watch stream brings, or, on embedded
// memory, the writes through every Store over it, which share one.
type changes struct {
	begun, told atomic.Uint64
	mu          sync.Mutex
	fs          []func(gatehouse.Change)
	// expired, on embedded memory, knows the expirations written through
	// every Store over it: each is a change told at its time.
	expired expiries
}

func (c *changes) begin() { c.begun.Add(1) }

// tell calls every OnChange function with ch, then counts it told.
func (c *changes) tell(ch gatehouse.Change) {
	c.mu.Lock()
	fs := c.fs
	c.mu.Unlock()
	for _, f := range fs {
		f(ch)
	}
	c.told.Add(1)
}

// counts loads told before begun: equal, no change was under way when
// begun was read.
func (c *changes) counts() (begun, told uint64) {
	told = c.told.Load()
	return c.begun.Load(), told
}

func (c *changes) onChange(f func(gatehouse.Change)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fs = append(c.fs[:len(c.fs):len(c.fs)], f)
}

// Feed is the ChangeFeed of s's data, for a decorator that keeps answers
// (proxy.Cached): the Watch stream the audit consumer follows (until it
// runs, no read goes to a snapshot), or, on embedded memory, which only
// this process writes, the writes through every Store over it, whose
// reads are at the head.
func (s *SpiceDB) Feed() gatehouse.ChangeFeed { return storeFeed{s} }

type storeFeed struct{ s *SpiceDB }

func (f storeFeed) Changes() (begun, told uint64) { return f.s.changes.counts() }

func (f storeFeed) OnChange(fn func(gatehouse.Change)) { f.s.changes.onChange(fn) }

// Snapshot is the follower's snapshot when a read of c may go there (see
// snapshotFor), read at exactly it. On embedded memory it is the head,
// for every read but one at least as fresh as a token of the caller's
// (which goes as it asks): read with no consistency of its own, which
// there is the head, and carrying the last write's token (a bound the
// head is at least as fresh as), or the head's when there was none.
func (f storeFeed) Snapshot(ctx context.Context, c gatehouse.Consistency) (gatehouse.Snapshot, bool) {
	s := f.s
	if c.AtExactSnapshot != "" {
		return gatehouse.Snapshot{}, false
	}
	if s.head != nil {
		if c.AtLeastAsFresh != "" {
			return gatehouse.Snapshot{}, false
		}
		if s.changes.expired.due() {
			s.changes.begin()
			s.changes.tell(gatehouse.Change{Expired: true})
		}
		tok := s.fresh.latest()
		if tok == "" {
			var err error
			if tok, err = s.head(ctx); err != nil {
				return gatehouse.Snapshot{}, false
			}
		}
		return gatehouse.Snapshot{Token: tok}, true
	}
	if s.follow == nil {
		return gatehouse.Snapshot{}, false
	}
	tok := s.snapshotFor(ctx, s.afterExpiry(ctx, c))
	if tok == "" {
		return gatehouse.Snapshot{}, false
	}
	return gatehouse.Snapshot{Token: tok, Read: gatehouse.Consistency{AtExactSnapshot: tok}}, true
}

// heard notes one response of the Watch stream, before the consumer
// releases the writes waiting for it: a change begins, the snapshot moves
// past it (follower.heard), and it is told, so that the writes' next
// reads find a cache that no longer holds what they changed. A
// checkpoint changes nothing and may move the snapshot on its own.
func (s *SpiceDB) heard(resp *v1.WatchResponse) {
	if s.follow == nil {
		return
	}
	if len(resp.GetUpdates()) == 0 && !resp.GetSchemaUpdated() {
		s.follow.heard(resp)
		return
	}
	s.changes.begin()
	s.follow.heard(resp)
	s.changes.tell(changeOf(resp))
}

// changeOf is the change one Watch response brings.
func changeOf(resp *v1.WatchResponse) gatehouse.Change {
	if resp.GetSchemaUpdated() {
		return gatehouse.Change{Everything: true}
	}
	return gatehouse.Change{Relations: relationsOf(len(resp.GetUpdates()), func(i int) gatehouse.TypeRelation {
		r := resp.GetUpdates()[i].GetRelationship()
		return gatehouse.TypeRelation{Type: r.GetResource().GetObjectType(), Relation: r.GetRelation()}
	})}
}

// writeChange is the change a write of updates makes, as embedded memory
// tells it.
func writeChange(updates []gatehouse.Update) gatehouse.Change {
	return gatehouse.Change{Relations: relationsOf(len(updates), func(i int) gatehouse.TypeRelation {
		r := updates[i].Relationship
		return gatehouse.TypeRelation{Type: r.Resource.Type, Relation: r.Relation}
	})}
}

// relationsOf is the distinct relations of n changes.
func relationsOf(n int, at func(int) gatehouse.TypeRelation) []gatehouse.TypeRelation {
	var out []gatehouse.TypeRelation
	seen := map[gatehouse.TypeRelation]bool{}
	for i := range n {
		k := at(i)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// filterChange is the change a delete of what f matches makes: of f's
// relation, or of everything when f names no type and relation.
func filterChange(f gatehouse.Filter) gatehouse.Change {
	if f.ResourceType == "" || f.Relation == "" {
		return gatehouse.Change{Everything: true}
	}
	return gatehouse.Change{Relations: []gatehouse.TypeRelation{{Type: f.ResourceType, Relation: f.Relation}}}
}
