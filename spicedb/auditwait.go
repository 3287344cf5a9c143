package spicedb

import (
	"context"
	"sync"
	"time"
)

// auditState lets a write wait for its record: the Store notes each
// audited write it made (wrote), the consumer what it received (seen),
// and the write returns once its record is in the trail (await).
type auditState struct {
	mu      sync.Mutex
	pending map[string]pendingWrite
	// recent holds the write ids and revisions the consumer saw lately,
	// for a write whose record arrives before its own response does.
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

func newAuditState() *auditState {
	return &auditState{pending: map[string]pendingWrite{}, recent: map[string]time.Time{}, changed: make(chan struct{})}
}

// wrote notes a committed write of this process with metadata id.
func (a *auditState) wrote(id, tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire()
	rev := revisionOf(tok)
	_, sawID := a.recent[id]
	_, sawRev := a.recent[rev]
	if sawID || (rev != "" && sawRev) {
		return
	}
	a.pending[id] = pendingWrite{revision: rev, done: time.Now()}
}

// expire forgets pending writes older than awaitLimit; a.mu is held.
func (a *auditState) expire() {
	for old, p := range a.pending {
		if time.Since(p.done) > awaitLimit {
			delete(a.pending, old)
		}
	}
}

// pendingCount is how many of this process's writes await their record.
func (a *auditState) pendingCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// seen is called by the consumer for what it received: the write ids of
// records, and the revision of the response. A checkpoint also clears the
// writes done before the checkpoint two before it arrived: the checkpoint
// that arrived first after a write may have been sent before the write
// committed, but SpiceDB's watch read the datastore for the next one
// after that, so a write still pending then changed nothing (a touch of
// what was there) and has no record to wait for.
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

// await waits until the consumer has seen the write id (every pending
// write when id is ""), or awaitLimit, or ctx ends. It reports whether
// the record arrived.
func (a *auditState) await(ctx context.Context, id string) bool {
	deadline := time.NewTimer(awaitLimit)
	defer deadline.Stop()
	for {
		a.mu.Lock()
		a.expire()
		waiting := len(a.pending) > 0
		if id != "" {
			_, waiting = a.pending[id]
		}
		ch := a.changed
		a.mu.Unlock()
		if !waiting {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-ch:
		}
	}
}
