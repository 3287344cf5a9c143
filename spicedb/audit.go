package spicedb

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// auditLog keeps the audit trail of the changes made through this process.
// The same record travels with each write as SpiceDB transaction metadata,
// which SpiceDB returns on its Watch API with the change itself.
type auditLog struct {
	mu     sync.RWMutex
	events []gatehouse.AuditEvent
}

func newAuditLog() *auditLog { return &auditLog{} }

func (l *auditLog) append(e gatehouse.AuditEvent) {
	if e.Actor == "" && e.Action == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *auditLog) record(a gatehouse.Audit, ups []gatehouse.Update, tok string) {
	changes := make([]string, len(ups))
	for i, u := range ups {
		changes[i] = u.Op.String() + " " + u.Relationship.String()
	}
	l.append(gatehouse.AuditEvent{At: time.Now().UTC(), Audit: a, Changes: changes, ZedToken: tok})
}

func (l *auditLog) recordDelete(a gatehouse.Audit, f gatehouse.Filter, n int, tok string) {
	desc := "delete " + strconv.Itoa(n) + " matching " + f.ResourceType
	if f.ResourceID != "" {
		desc += ":" + f.ResourceID
	}
	if f.IDPrefix != "" {
		desc += ":" + f.IDPrefix + "*"
	}
	if f.Relation != "" {
		desc += "#" + f.Relation
	}
	if f.SubjectType != "" {
		desc += "@" + f.SubjectType + ":" + f.SubjectID
	}
	l.append(gatehouse.AuditEvent{At: time.Now().UTC(), Audit: a, Changes: []string{desc}, ZedToken: tok})
}

// AuditTrail implements gatehouse.Store: newest first, filtered, paginated
// by an opaque cursor (the count of events already returned).
func (s *SpiceDB) AuditTrail(_ context.Context, q gatehouse.AuditQuery) ([]gatehouse.AuditEvent, string, error) {
	s.audit.mu.RLock()
	var match []gatehouse.AuditEvent
	// Newest first even between events of the same instant: the log is
	// in the order of recording, so walk it backwards before the stable sort.
	for i := len(s.audit.events) - 1; i >= 0; i-- {
		e := s.audit.events[i]
		if q.Organisation != "" && e.Organisation != q.Organisation {
			continue
		}
		if q.Actor != "" && e.Actor != q.Actor {
			continue
		}
		if !q.Since.IsZero() && e.At.Before(q.Since) {
			continue
		}
		if !q.Until.IsZero() && e.At.After(q.Until) {
			continue
		}
		match = append(match, e)
	}
	s.audit.mu.RUnlock()
	sort.SliceStable(match, func(i, j int) bool { return match[i].At.After(match[j].At) })
	skip := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			return nil, "", gatehouse.Invalid("cursor", "cursor %q was not returned by this endpoint", q.Cursor)
		}
		skip = n
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	if skip >= len(match) {
		return []gatehouse.AuditEvent{}, "", nil
	}
	end := min(skip+limit, len(match))
	next := ""
	if end < len(match) {
		next = strconv.Itoa(end)
	}
	return match[skip:end], next, nil
}
