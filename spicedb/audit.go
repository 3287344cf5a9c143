package spicedb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/zedtoken"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
)

// awaitLimit bounds how long a read of the trail waits for this process's
// own writes to come back on the Watch stream.
const awaitLimit = 3 * time.Second

// auditState ties this Store to its audit trail. Every write carries its
// audit record as transaction metadata; the Watch consumer (ConsumeAudit)
// turns what SpiceDB committed into the trail. A read of the trail first
// waits, briefly, until the consumer has seen this process's own writes,
// so the trail reads its writes as checks do.
type auditState struct {
	trail audit.Trail

	mu      sync.Mutex
	pending map[string]pendingWrite
	// recent holds the write ids and revisions the consumer saw lately,
	// for a write whose event arrives before its own response does.
	recent   map[string]time.Time
	changed  chan struct{}
	lastSeen time.Time // when the consumer last received a checkpoint
	prevSeen time.Time // when it received the one before
}

// pendingWrite is a write of this process the consumer has not seen yet.
type pendingWrite struct {
	revision string
	done     time.Time
}

func newAuditState(t audit.Trail) *auditState {
	return &auditState{trail: t, pending: map[string]pendingWrite{}, recent: map[string]time.Time{}, changed: make(chan struct{})}
}

// WithAuditTrail keeps the audit trail in t (default: a memory ring of
// DefaultMemoryEvents). ConsumeAudit fills it.
func WithAuditTrail(t audit.Trail) Option { return func(s *SpiceDB) { s.audit = newAuditState(t) } }

// DefaultMemoryEvents is how many events the default memory trail keeps.
const DefaultMemoryEvents = 100_000

// newWriteID names one write in its metadata.
func newWriteID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// wrote notes a committed write of this process with metadata id.
func (a *auditState) wrote(id, tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for old, p := range a.pending {
		if time.Since(p.done) > awaitLimit {
			delete(a.pending, old)
		}
	}
	rev := revisionOf(tok)
	_, sawID := a.recent[id]
	_, sawRev := a.recent[rev]
	if sawID || (rev != "" && sawRev) {
		return
	}
	a.pending[id] = pendingWrite{revision: rev, done: time.Now()}
}

// seen is called by the consumer for what it received: the write ids of
// events, and the revision of the response. A checkpoint also clears the
// writes done before the checkpoint two before it arrived: the checkpoint
// that arrived first after a write may have been sent before the write
// committed, but SpiceDB's watch read the datastore for the next one
// after that, so a write still pending then changed nothing (a touch of
// what was there) and has no event to wait for.
func (a *auditState) seen(ids []string, revision string, checkpoint bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for k, t := range a.recent {
		if now.Sub(t) > 2*awaitLimit {
			delete(a.recent, k)
		}
	}
	for _, id := range ids {
		delete(a.pending, id)
		a.recent[id] = now
	}
	if revision != "" {
		a.recent[revision] = now
	}
	for id, p := range a.pending {
		if (revision != "" && p.revision == revision) || (checkpoint && p.done.Before(a.prevSeen)) {
			delete(a.pending, id)
		}
	}
	if checkpoint {
		a.prevSeen, a.lastSeen = a.lastSeen, now
	}
	close(a.changed)
	a.changed = make(chan struct{})
}

// await waits until the consumer has seen every pending write, or awaitLimit.
func (a *auditState) await(ctx context.Context) {
	deadline := time.NewTimer(awaitLimit)
	defer deadline.Stop()
	for {
		a.mu.Lock()
		for id, p := range a.pending {
			if time.Since(p.done) > awaitLimit {
				delete(a.pending, id)
			}
		}
		n, ch := len(a.pending), a.changed
		a.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-ch:
		}
	}
}

// revisionOf names the SpiceDB revision of a ZedToken; "" when it is not one.
func revisionOf(tok string) string {
	d, err := zedtoken.Decode(&v1.ZedToken{Token: tok})
	if err != nil {
		return ""
	}
	if v := d.GetV1(); v != nil {
		return v.GetRevision()
	}
	return ""
}

// AuditTrail implements gatehouse.Store: newest first, filtered, paginated
// by a cursor that names the last event of the page.
func (s *SpiceDB) AuditTrail(ctx context.Context, q gatehouse.AuditQuery) ([]gatehouse.AuditEvent, string, error) {
	s.audit.await(ctx)
	return s.audit.trail.List(ctx, q)
}

// AuditExport calls fn with every event that matches q (its Limit and
// Cursor aside), oldest first, until fn returns an error, which it returns.
// It is the streaming form of AuditTrail, for an NDJSON export.
func (s *SpiceDB) AuditExport(ctx context.Context, q gatehouse.AuditQuery, fn func(gatehouse.AuditEvent) error) error {
	s.audit.await(ctx)
	return s.audit.trail.Export(ctx, q, fn)
}
