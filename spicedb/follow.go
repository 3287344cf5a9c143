package spicedb

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// follower keeps the snapshot a replica reads at, from SpiceDB's Watch
// stream (issue 20): the revision of the newest change the stream brought,
// so that every read that needs nothing newer goes to one exact snapshot.
// SpiceDB caches per revision; a read at its quantised revision (as
// minimize_latency and at_least_as_fresh give) moves to a new revision
// every quantisation window, 5 s by default, and a lookup over 10,000
// contractors is then computed afresh (0.7 to 3.2 s at p99 before this).
// At an exact snapshot that moves only when something changed, SpiceDB's
// caches stay warm, and so can this replica's own (proxy.Cached, kept by
// Feed), since every change that could make an answer wrong comes down
// the same stream.
//
// The audit consumer (StartAudit) feeds it: one Watch stream per replica
// serves both. It is current while the stream brings something at least
// every followBound; the consumer makes sure something comes, by writing
// nothing (a revision of its own) when the stream has been quiet for
// probeAfter: SpiceDB on memory sends nothing while nothing is written, and
// on Postgres a checkpoint only after a revision, made by a write or by its
// revision heartbeat every quantisation window. A replica that is not
// current reads as it did without the stream (freshness, callerFloor), and
// its cache serves nothing.
//
// Revisions are ordered (revision.atLeast) for the datastores whose
// revisions Gatehouse can read: memory, Postgres, CockroachDB, MySQL,
// Spanner. With another, the follower is never current.
type follower struct {
	// snap is the snapshot reads go to; nil until the stream is at the head.
	snap atomic.Pointer[snapshot]
	// last is when the stream last brought something (Unix ns; 0: never,
	// or the stream broke).
	last atomic.Int64
	// expiring counts the expirations being made past (afterExpiry): no
	// read goes to the snapshot meanwhile, which is from before them.
	expiring atomic.Int32
	// covered remembers the last floor (0) and own write token (1) found
	// at or before the snapshot: the snapshot never moves back, so they
	// stay covered, and a read does not parse the same token again.
	covered [2]atomic.Pointer[string]

	mu sync.Mutex
	// want is the newest revision a read was refused the snapshot for (a
	// write of this process, a caller's token): the first checkpoint at
	// least as new becomes the snapshot. A newer change always does.
	want revision
	// caughtUp: a checkpoint came since the stream (re)opened. Until then
	// the stream may be replaying what came before (it resumes from the
	// audit cursor), and nothing moves the snapshot.
	caughtUp bool
}

// snapshot is a ZedToken and the revision it names.
type snapshot struct {
	tok string
	rev revision
}

const (
	// followBound is how long the stream may stay silent before the
	// replica stops trusting its snapshot: the most a read with no token
	// can lag the writes made through other replicas.
	followBound = 3 * time.Second
	// probeAfter is how long the stream may be quiet before the consumer
	// makes a revision to hear from it.
	probeAfter = time.Second
	// reopenAfter is how long the stream may stay silent, probes and all,
	// before the consumer gives it up and opens another.
	reopenAfter = 10 * time.Second
)

// snapshotFor is the ZedToken a read of consistency c may go to, or ""
// when it must go as it would with no stream: the replica is not current,
// c is fully consistent, or the snapshot is older than what the read must
// see (c's own token or the caller's Gatehouse-Zed-Token, and this
// process's last write). A snapshot too old is wanted: the first
// checkpoint at least as new replaces it.
func (s *SpiceDB) snapshotFor(ctx context.Context, c gatehouse.Consistency) string {
	f := s.follow
	if f == nil || c.FullyConsistent || f.expiring.Load() > 0 {
		return ""
	}
	snap := f.snap.Load()
	if snap == nil || time.Since(time.Unix(0, f.last.Load())) > followBound {
		return ""
	}
	floor := c.AtLeastAsFresh
	if floor == "" {
		floor = gatehouse.CallerToken(ctx)
	}
	s.fresh.mu.Lock()
	own, unsure := s.fresh.token, s.fresh.unsure
	s.fresh.mu.Unlock()
	if unsure {
		return ""
	}
	for i, tok := range []string{floor, own} {
		if tok == "" || tok == snap.tok {
			continue
		}
		if c := f.covered[i].Load(); c != nil && *c == tok {
			continue
		}
		r := parseRevision(tok)
		if !snap.rev.atLeast(r) {
			f.wantAtLeast(r)
			return ""
		}
		f.covered[i].Store(&tok)
	}
	return snap.tok
}

func (f *follower) wantAtLeast(r revision) {
	if !r.known() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.want.known() || r.atLeast(f.want) {
		f.want = r
	}
}

// heard notes one response of the stream (see SpiceDB.heard, which tells
// its change after): a change newer than the snapshot becomes it. A
// checkpoint moves the snapshot only to satisfy a want, or as the first
// after the stream opened.
func (f *follower) heard(resp *v1.WatchResponse) {
	if f == nil {
		return
	}
	tok := resp.GetChangesThrough().GetToken()
	rev := parseRevision(tok)
	f.mu.Lock()
	cur := f.snap.Load()
	newer := rev.known() && (cur == nil || (rev.atLeast(cur.rev) && !cur.rev.atLeast(rev)))
	adopt := false
	switch {
	case resp.GetIsCheckpoint() && !f.caughtUp:
		// The stream is at the head; a snapshot kept from before it broke
		// stays if it is newer.
		adopt, f.caughtUp = newer, true
	case !f.caughtUp:
	case len(resp.GetUpdates()) > 0 || resp.GetSchemaUpdated():
		adopt = newer
	case resp.GetIsCheckpoint():
		adopt = newer && f.want.known() && rev.atLeast(f.want)
	}
	if adopt {
		f.snap.Store(&snapshot{tok: tok, rev: rev})
		if f.want.known() && rev.atLeast(f.want) {
			f.want = revision{}
		}
	}
	current := f.caughtUp && f.snap.Load() != nil
	f.mu.Unlock()
	if current {
		f.last.Store(time.Now().UnixNano())
	}
}

// broke notes that the stream ended: nothing is trusted until it is back
// at the head.
func (f *follower) broke() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last.Store(0)
	f.caughtUp = false
}

// silence is how long the stream has brought nothing; 0 before it has.
func (f *follower) silence() time.Duration {
	l := f.last.Load()
	if l == 0 {
		return 0
	}
	return time.Since(time.Unix(0, l))
}

// probe writes nothing (deletes tickRelationship, which never exists): a
// revision of its own, so that the stream, quiet for probeAfter, brings a
// checkpoint and the follower knows it is still current. No metadata, no
// record: the audit trail has nothing to show for it.
func (s *SpiceDB) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, followBound)
	defer cancel()
	start := time.Now()
	_, err := s.perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: toRel(tickRelationship),
	}}})
	s.timed("WriteRelationships", start, err)
}

// FollowStatus says whether a replica reads at the snapshot its Watch
// stream keeps (and serves checks from its decision cache), and how long
// ago the stream last brought something.
type FollowStatus struct {
	Current bool
	Silent  time.Duration
}

// Following reports the follower's state; the zero FollowStatus when the
// Store follows no stream (embedded memory, or no audit consumer yet).
func (s *SpiceDB) Following() FollowStatus {
	f := s.follow
	if f == nil || f.last.Load() == 0 {
		return FollowStatus{}
	}
	silent := f.silence()
	return FollowStatus{Current: silent <= followBound && f.snap.Load() != nil, Silent: silent}
}

// keepHearing probes a quiet stream (probeAfter) and gives up one silent
// for reopenAfter, cancelling it (reopen) so that the consumer opens
// another: a stream can hang with its connection up.
func (s *SpiceDB) keepHearing(ctx context.Context, reopen context.CancelFunc) {
	opened := time.Now()
	t := time.NewTicker(probeAfter / 4)
	defer t.Stop()
	var probed time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		heard := opened
		if l := s.follow.last.Load(); l != 0 && time.Unix(0, l).After(heard) {
			heard = time.Unix(0, l)
		}
		quiet := time.Since(heard)
		if quiet > reopenAfter {
			reopen()
			return
		}
		if quiet > probeAfter && time.Since(probed) > probeAfter {
			probed = time.Now()
			s.probe(ctx)
		}
	}
}

// noStreamDeadline marks a context whose stream the connection's stream
// deadline (deadlines) must not bound: the Watch stream, which lasts.
type noStreamDeadline struct{}

func withoutStreamDeadline(ctx context.Context) context.Context {
	return context.WithValue(ctx, noStreamDeadline{}, true)
}
