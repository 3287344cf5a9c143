// Package audit holds the implementations of the audit trail's port,
// gatehouse.AuditTrail (rule X2): Postgres when the trail must be durable
// and shared by every replica, or a bounded ring in memory. SpiceDB
// carries each write's audit record as transaction metadata; a consumer
// of SpiceDB's Watch API (package spicedb, started by cmd/gatehouse) turns
// every such write into one record per organisation it touches and
// appends them. Appending is idempotent on the record's revision, position
// and organisation, so several consumers of the same Watch stream store
// each record once.
//
// audit imports the root package, pgx and golang-migrate (never
// authzed-go); only cmd/gatehouse imports it, and hands it to package
// spicedb as a gatehouse.AuditTrail.
package audit

import (
	"context"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Trail is the trail's port, declared by the domain.
type Trail = gatehouse.AuditTrail

// DefaultMemoryEvents is how many events a memory trail keeps by default
// (GATEHOUSE_AUDIT_MEMORY_EVENTS).
const DefaultMemoryEvents = 100_000

// DefaultLimit is the page size of List when the query names none.
const DefaultLimit = 100

// parseCursor reads a cursor that List returned: the sequence number of
// the last event of the page before.
func parseCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n <= 0 {
		return 0, gatehouse.Invalid("cursor", "cursor %q was not returned by this endpoint", c)
	}
	return n, nil
}

// checkQuery refuses a query that asks for two things at once.
func checkQuery(q gatehouse.AuditQuery) error {
	if q.Platform && q.Organisation != "" {
		return gatehouse.Invalid("platform", "platform lists the events of no organisation; leave organisation out")
	}
	return nil
}

// matches says whether e passes q's filters (not its page).
func matches(q gatehouse.AuditQuery, e gatehouse.AuditEvent) bool {
	switch {
	case q.Platform && e.Organisation != "":
		return false
	case q.Organisation != "" && e.Organisation != q.Organisation:
		return false
	case q.Actor != "" && e.Actor != q.Actor:
		return false
	case q.Action != "" && e.Action != q.Action:
		return false
	case !q.Since.IsZero() && e.At.Before(q.Since):
		return false
	case !q.Until.IsZero() && e.At.After(q.Until):
		return false
	}
	return true
}

// Retain prunes t every interval, removing events older than keep, until
// ctx ends. keep 0 keeps every event. Errors go to report.
func Retain(ctx context.Context, t Trail, keep, interval time.Duration, report func(pruned int64, err error)) {
	if keep <= 0 {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		n, err := t.Prune(ctx, time.Now().Add(-keep))
		if ctx.Err() != nil {
			return
		}
		report(n, err)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pageOf checks q and reads the page it asks for: the sequence number its
// cursor names (0 for the newest page) and its limit (DefaultLimit when unset).
func pageOf(q gatehouse.AuditQuery) (before int64, limit int, err error) {
	if err := checkQuery(q); err != nil {
		return 0, 0, err
	}
	if before, err = parseCursor(q.Cursor); err != nil {
		return 0, 0, err
	}
	limit = q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	return before, limit, nil
}
