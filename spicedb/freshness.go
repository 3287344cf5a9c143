package spicedb

import (
	"context"
	"sync"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
)

// freshness gives read-your-writes without the caller passing tokens: a
// read with no consistency of its own is at least as fresh as the latest
// write this process made. ZedTokens cannot be compared, so when writes
// overlap the newest token is unknown and reads are fully consistent until
// a write completes alone; so too after a write whose outcome is unknown
// (it failed other than by SpiceDB's refusal: it may have committed).
type freshness struct {
	mu       sync.Mutex
	inflight int
	started  uint64
	token    string
	unsure   bool
}

// beginWrite waits for the write lock, or until ctx ends: a writer stuck
// behind a hung write gives up with its request, and then nothing is sent
// and the error is the one its own call would have ended with. On
// embedded memory the write is a change begun (Feed).
func (s *SpiceDB) beginWrite(ctx context.Context) (seq uint64, alone bool, err error) {
	if err := lockCtx(ctx, s.writeMu); err != nil {
		return 0, false, translate(err)
	}
	if s.head != nil {
		s.changes.begin()
	}
	seq, alone = s.fresh.begin()
	return seq, alone, nil
}

// endWrite ends a write that beginWrite began, with the token SpiceDB
// returned ("" when none), the call's error and, on embedded memory, the
// change it made, told whatever the outcome (elsewhere the Watch stream
// tells it).
func (s *SpiceDB) endWrite(seq uint64, alone bool, token string, err error, ch gatehouse.Change) {
	s.fresh.end(seq, alone, token, err)
	if s.head != nil {
		s.changes.tell(ch)
	}
	s.writeMu.Unlock()
}

// lockCtx takes mu, or gives up with ctx's error when ctx ends first. A
// waiter that gives up leaves a goroutine in the queue for mu, which lets
// mu go as soon as it has it.
func lockCtx(ctx context.Context, mu *sync.Mutex) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if mu.TryLock() {
		return nil
	}
	handed := make(chan struct{})
	go func() {
		mu.Lock()
		select {
		case handed <- struct{}{}:
		case <-ctx.Done():
			mu.Unlock()
		}
	}()
	select {
	case <-handed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *freshness) begin() (seq uint64, alone bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started++
	alone = f.inflight == 0
	f.inflight++
	return f.started, alone
}

func (f *freshness) end(seq uint64, alone bool, token string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inflight--
	if token == "" {
		// A write whose answer was lost may have committed all the same,
		// with no token to show for it: the newest write is unknown, as
		// after overlapping writes, until one returns a token alone.
		if err != nil && !refused(err) {
			f.unsure = true
		}
		return
	}
	if alone && f.started == seq {
		f.token, f.unsure = token, false
		return
	}
	f.unsure = true
}

// refused reports whether err is SpiceDB's refusal of a write, which then
// changed nothing. Any other error (a deadline, a cancellation, a lost
// connection, SpiceDB unavailable or failing) leaves the outcome unknown.
func refused(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists, codes.NotFound, codes.OutOfRange,
		codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented:
		return true
	}
	return false
}

func (f *freshness) latest() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.token
}

func (f *freshness) consistency(c gatehouse.Consistency) *v1.Consistency {
	switch {
	case c.AtLeastAsFresh != "":
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: c.AtLeastAsFresh}}}
	case c.FullyConsistent:
		return fully()
	case c.MinimizeLatency:
		return &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unsure {
		return fully()
	}
	// A write under way need not be seen: only the writes that returned.
	// Writes go one at a time (every Store serialises them), so the last
	// one's token bounds them all. Not fully consistent meanwhile: SpiceDB
	// shares one head-revision read among concurrent requests, so a
	// fully-consistent read begun just after a write returned may be
	// answered at a revision from before it (seen on Postgres).
	if f.token != "" {
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: f.token}}}
	}
	return &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}
}

// check is consistency for a check, and settle, when not nil, is to be
// called with the token of its answer. Overlapping writes leave the newest
// token unknown, so reads go fully consistent; left there, every check
// after a concurrent burst of writes would stay fully consistent for good
// (the head revision, which on a datastore with moving revisions defeats
// SpiceDB's caches). A fully-consistent read that began with no write under
// way is at a revision at least as new as every write made so far: if no
// write began while it ran, its token is a true bound again.
func (f *freshness) check(c gatehouse.Consistency) (cons *v1.Consistency, settle func(token string)) {
	if c == (gatehouse.Consistency{}) {
		f.mu.Lock()
		settling, seq := f.unsure && f.inflight == 0, f.started
		f.mu.Unlock()
		if settling {
			return fully(), func(token string) {
				f.mu.Lock()
				defer f.mu.Unlock()
				if token != "" && f.unsure && f.inflight == 0 && f.started == seq {
					f.token, f.unsure = token, false
				}
			}
		}
	}
	return f.consistency(c), nil
}

// consistency is the consistency of a read: at the head snapshot where the
// Store knows it (withHeadSnapshots) and the caller asked for nothing else,
// else as freshness has it.
func (s *SpiceDB) consistency(ctx context.Context, c gatehouse.Consistency) *v1.Consistency {
	if c.AtExactSnapshot != "" {
		return exact(c.AtExactSnapshot)
	}
	if tok := s.headSnapshot(ctx, c); tok != "" {
		return exact(tok)
	}
	c = s.afterExpiry(ctx, c)
	if tok := s.snapshotFor(ctx, c); tok != "" {
		return exact(tok)
	}
	if cons := s.callerFloor(ctx, c); cons != nil {
		return cons
	}
	return s.fresh.consistency(c)
}

// checkConsistency is consistency for a check, with freshness's settle.
func (s *SpiceDB) checkConsistency(ctx context.Context, c gatehouse.Consistency) (*v1.Consistency, func(string)) {
	if c.AtExactSnapshot != "" {
		return exact(c.AtExactSnapshot), nil
	}
	if tok := s.headSnapshot(ctx, c); tok != "" {
		return exact(tok), nil
	}
	c = s.afterExpiry(ctx, c)
	if tok := s.snapshotFor(ctx, c); tok != "" {
		return exact(tok), nil
	}
	if cons := s.callerFloor(ctx, c); cons != nil {
		return cons, nil
	}
	return s.fresh.check(c)
}

// callerFloor is the consistency of a read that names none of its own
// when the caller sent the newest ZedToken it has seen
// (gatehouse.CallerToken, the Gatehouse-Zed-Token header), or nil when it
// sent none: at least as fresh as that token, so a write made through
// another replica is seen. The read must also see this process's own
// writes; ZedTokens cannot be compared, so when this process's latest
// write token is another one (or unknown, after overlapping writes)
// either may be the newer, and the read is fully consistent.
func (s *SpiceDB) callerFloor(ctx context.Context, c gatehouse.Consistency) *v1.Consistency {
	tok := gatehouse.CallerToken(ctx)
	if tok == "" || c != (gatehouse.Consistency{}) {
		return nil
	}
	s.fresh.mu.Lock()
	own, unsure := s.fresh.token, s.fresh.unsure
	s.fresh.mu.Unlock()
	if unsure || (own != "" && own != tok) {
		return fully()
	}
	return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: tok}}}
}

// headSnapshot is the head's token when reads of consistency c go there.
func (s *SpiceDB) headSnapshot(ctx context.Context, c gatehouse.Consistency) string {
	if s.head == nil || c.AtLeastAsFresh != "" || c.MinimizeLatency {
		return ""
	}
	tok, err := s.head(ctx)
	if err != nil {
		return "" // freshness's consistency is right too, only slower
	}
	return tok
}

func fully() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}
