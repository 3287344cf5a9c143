package gatehouse

import "time"

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

// AuditEvent is one recorded change as the audit trail lists it.
type AuditEvent struct {
	At       time.Time `json:"at"`
	Audit              //nolint:embeddedstructfieldcheck // flattened into the event on purpose
	Changes  []string  `json:"changes"`
	ZedToken string    `json:"zedToken"`
}

// AuditQuery selects audit events. Cursor continues an earlier page.
type AuditQuery struct {
	Organisation string
	// Platform selects the events that name no organisation (provider
	// staff, platform-wide changes); it excludes Organisation.
	Platform     bool
	Actor        string
	Since, Until time.Time
	Limit        int
	Cursor       string
}
