package spicedb

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// tickRelationship is deleted, never written, to make a new revision: a
// write of nothing still commits a transaction of its own in SpiceDB.
var tickRelationship = gatehouse.Relationship{
	Resource: gatehouse.Object{Type: gatehouse.TypePlatform, ID: "gatehouse-clock"},
	Relation: gatehouse.RelStaff,
	Subject:  gatehouse.User("gatehouse-clock"),
}

// afterExpiry makes sure a read after an expiration is answered at a
// revision from after it. SpiceDB caches a check's answer per revision,
// and with no write since the expiration, every read (a fully consistent
// one too) is at the revision from before it: measured on Postgres (issue
// 19, row 5), an expired exception still counted 3 s after its expiry and
// no longer 23 s after. So the first read after an expiration this
// process knows of writes nothing (deletes tickRelationship) to make a new
// revision, and reads go on from its token.
//
// A read that asks to minimise latency gets SpiceDB's quantised revision,
// which may still be from before the new one for a quantisation window
// (5 s by default): for quantisationGrace after an expiration it is read
// at least as fresh as this process's writes instead, the new revision
// among them. It returns c as the read should be made.
func (s *SpiceDB) afterExpiry(ctx context.Context, c gatehouse.Consistency) gatehouse.Consistency {
	if s.head != nil {
		return c // the head snapshot of embedded memory is exact already
	}
	if s.expired.due() {
		// The follower's snapshot is from before the expiration: no read
		// goes there, then every cached answer an expiration can change
		// is dropped, and reads go on from the new revision's token, this
		// process's last write, until the stream brings a snapshot at
		// least as new (follower).
		if f := s.follow; f != nil {
			f.expiring.Add(1)
			defer f.expiring.Add(-1)
		}
		s.changes.begin()
		s.changes.tell(gatehouse.Change{Expired: true})
		_, _ = s.Write(ctx, gatehouse.Write{Updates: []gatehouse.Update{{Op: gatehouse.Delete, Relationship: tickRelationship}}})
	}
	if c.MinimizeLatency && s.expired.within(quantisationGrace) {
		c.MinimizeLatency = false
	}
	return c
}

// quantisationGrace is longer than SpiceDB's default quantisation window
// (5 s) with its follower-read delay.
const quantisationGrace = 10 * time.Second

// expiries are the expirations this process knows of: written through
// this Store, or seen on SpiceDB's Watch stream by the audit consumer (so
// every replica learns those written through the others).
type expiries struct {
	// next is the earliest to come (Unix ns; 0: none), so that a read
	// with none due takes no lock.
	next   atomic.Int64
	mu     sync.Mutex
	future []time.Time // sorted
	passed time.Time   // the latest that has passed, once due saw it
}

// add schedules the future expirations of updates.
func (e *expiries) add(updates []gatehouse.Update) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, u := range updates {
		at := u.Relationship.ExpiresAt
		if u.Op == gatehouse.Delete || at == nil || !at.After(now) {
			continue
		}
		i, found := slices.BinarySearchFunc(e.future, *at, time.Time.Compare)
		if !found {
			e.future = slices.Insert(e.future, i, *at)
		}
	}
	e.setNext()
}

// setNext publishes the earliest expiration to come; e.mu is held.
func (e *expiries) setNext() {
	var next int64
	if len(e.future) > 0 {
		next = e.future[0].UnixNano()
	}
	e.next.Store(next)
}

// due reports whether an expiration has passed since the last call, and
// forgets those that have.
func (e *expiries) due() bool {
	now := time.Now()
	if n := e.next.Load(); n == 0 || now.UnixNano() < n {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	i := 0
	for i < len(e.future) && !e.future[i].After(now) {
		e.passed = e.future[i]
		i++
	}
	e.future = e.future[i:]
	e.setNext()
	return i > 0
}

// within reports whether an expiration passed less than d ago.
func (e *expiries) within(d time.Duration) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.passed.IsZero() && time.Since(e.passed) < d
}
