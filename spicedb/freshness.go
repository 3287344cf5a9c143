package spicedb

import (
	"context"
	"sync"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// freshness gives read-your-writes without the caller passing tokens: a
// read with no consistency of its own is at least as fresh as the latest
// write this process made. ZedTokens cannot be compared, so when writes
// overlap the newest token is unknown and reads are fully consistent until
// a write completes alone.
type freshness struct {
	mu       sync.Mutex
	inflight int
	started  uint64
	token    string
	unsure   bool
}

func (s *SpiceDB) beginWrite() (uint64, bool) {
	if s.writeMu != nil {
		s.writeMu.Lock()
	}
	s.decided.beginWrite()
	return s.fresh.begin()
}

func (s *SpiceDB) endWrite(seq uint64, alone bool, token string) {
	s.fresh.end(seq, alone, token)
	s.decided.endWrite()
	if s.writeMu != nil {
		s.writeMu.Unlock()
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

func (f *freshness) end(seq uint64, alone bool, token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inflight--
	if token == "" {
		return
	}
	if alone && f.started == seq {
		f.token, f.unsure = token, false
		return
	}
	f.unsure = true
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
	if tok := s.headSnapshot(ctx, c); tok != "" {
		return exact(tok)
	}
	return s.fresh.consistency(c)
}

// checkConsistency is consistency for a check, with freshness's settle.
func (s *SpiceDB) checkConsistency(ctx context.Context, c gatehouse.Consistency) (*v1.Consistency, func(string)) {
	if tok := s.headSnapshot(ctx, c); tok != "" {
		return exact(tok), nil
	}
	return s.fresh.check(c)
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
