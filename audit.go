package gatehouse

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// Audit is the record of who made a change and why (rule X2). The Store
// attaches it to the write itself, so the record and the change cannot part.
type Audit struct {
	Actor        string            `json:"actor"`
	Key          string            `json:"key,omitempty"`
	Action       string            `json:"action"`
	Reason       string            `json:"reason,omitempty"`
	Organisation string            `json:"organisation,omitempty"`
	Details      map[string]string `json:"details,omitempty"`
}

// Bounds of an audit record's fields (X2): the record travels with the
// write as SpiceDB transaction metadata, so it must encode, and stay small.
const (
	MaxReasonLen      = 1000
	maxAuditFieldLen  = 1024
	maxAuditDetails   = 32
	maxAuditDetailLen = 2048
)

// Validate refuses a record that cannot be stored with its write (X2: a
// write whose record cannot be stored is refused, never made unrecorded):
// text that is not UTF-8, or longer than its bound. The error names the
// field as the API does ("reason", "details.<key>").
func (a Audit) Validate() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"actor", a.Actor, maxAuditFieldLen},
		{"key", a.Key, maxAuditFieldLen},
		{"action", a.Action, maxAuditFieldLen},
		{"organisation", a.Organisation, maxAuditFieldLen},
		{"reason", a.Reason, MaxReasonLen},
	} {
		if err := auditText(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if len(a.Details) > maxAuditDetails {
		return Invalid("details", "at most %d details, got %d", maxAuditDetails, len(a.Details))
	}
	for k, v := range a.Details {
		if err := auditText("details", k, maxAuditFieldLen); err != nil {
			return err
		}
		if err := auditText("details."+k, v, maxAuditDetailLen); err != nil {
			return err
		}
	}
	return nil
}

func auditText(field, v string, maxLen int) error {
	if !utf8.ValidString(v) {
		return Invalid(field, "%s must be UTF-8 text", field)
	}
	if len(v) > maxLen {
		return Invalid(field, "%s must be at most %d bytes, got %d", field, maxLen, len(v))
	}
	return nil
}

// AuditEvent is one recorded change as the audit trail lists it: the
// changes of one write that concern one organisation (or, with no
// organisation, the platform). Write names the write, so that the events
// of one write in several organisations' trails can be told together.
type AuditEvent struct {
	At       time.Time `json:"at"`
	Audit              //nolint:embeddedstructfieldcheck // flattened into the event on purpose
	Changes  []string  `json:"changes"`
	ZedToken string    `json:"zedToken"`
	Write    string    `json:"write,omitempty"`
}

// AuditQuery selects audit events. Cursor continues an earlier page.
type AuditQuery struct {
	Organisation string
	// Platform selects the events that name no organisation (provider
	// staff, platform-wide changes); it excludes Organisation.
	Platform bool
	Actor    string
	// Action keeps the events of one action (remove_member), when set.
	Action       string
	Since, Until time.Time
	Limit        int
	Cursor       string
}

// AuditRecord is an event as the consumer of SpiceDB's change stream
// hands it to the trail: Revision, Position and the event's organisation
// name it, so appending it twice (two replicas, a resumed stream) stores it once.
type AuditRecord struct {
	AuditEvent
	// Revision is the SpiceDB revision of the write and Position the index
	// of its record within that revision.
	Revision string
	Position int
}

// AuditTrail is the audit trail's port (X2): where the records of
// SpiceDB's change stream are kept, and listed back. Package audit holds
// its implementations (memory, Postgres); the consumer of the change
// stream (package spicedb) appends to it; the API and the console list it.
type AuditTrail interface {
	// Append stores the records not stored yet and remembers cursor (a
	// ZedToken) as the point the consumer resumes from, both at once.
	Append(ctx context.Context, records []AuditRecord, cursor string) error
	// Cursor returns the ZedToken to resume from; "" when none.
	Cursor(ctx context.Context) (string, error)
	// List returns one page of the events that match q, newest first, and
	// the cursor of the next page ("" at the end).
	List(ctx context.Context, q AuditQuery) ([]AuditEvent, string, error)
	// Export calls fn with every event that matches q (Limit and Cursor
	// aside), oldest first, until fn returns an error, which it returns.
	Export(ctx context.Context, q AuditQuery, fn func(AuditEvent) error) error
	// Prune removes the events recorded before t and returns how many went.
	Prune(ctx context.Context, before time.Time) (int64, error)
	// Durable says whether the trail survives a restart.
	Durable() bool
}

// String is the record's identity, for logs.
func (r AuditRecord) String() string {
	return fmt.Sprintf("%s/%d/%s", r.Revision, r.Position, r.Organisation)
}
