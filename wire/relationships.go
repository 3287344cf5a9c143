package wire

import "time"

// Schema carries the SpiceDB schema text Gatehouse runs on.
type Schema struct {
	Schema string `json:"schema"`
}

// Relationships is one page of relationships in zed's notation
// ("organisation:acme#owner@user:alice"); a Cursor, present while more
// remain, continues it.
type Relationships struct {
	Relationships []string `json:"relationships"`
	Cursor        string   `json:"cursor,omitempty"`
	ZedToken      string   `json:"zedToken,omitempty"`
}

// WriteRelationshipsRequest is one atomic change: every relationship of
// Touch is created or updated and every one of Delete removed, or none is.
// Reason goes to the audit trail.
type WriteRelationshipsRequest struct {
	Touch  []string `json:"touch,omitempty"`
	Delete []string `json:"delete,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// WriteResult carries the ZedToken of a write; pass it as AtLeastAsFresh
// to read the write through another Gatehouse process.
type WriteResult struct {
	ZedToken string `json:"zedToken"`
}

// AuditEvent is one recorded change (rule X2): who made it (Actor), when,
// what (Action and Changes, each a relationship change), and why.
type AuditEvent struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	// Key is the name of the API key the change came with, never its secret.
	Key          string            `json:"key,omitempty"`
	Action       string            `json:"action"`
	Reason       string            `json:"reason,omitempty"`
	Organisation string            `json:"organisation,omitempty"`
	Details      map[string]string `json:"details,omitempty"`
	Changes      []string          `json:"changes"`
	ZedToken     string            `json:"zedToken"`
	// Write names the write: the events of one write that touched several
	// organisations, each in its own organisation's trail, share it.
	Write string `json:"write,omitempty"`
}

// AuditLog is one page of the audit trail, newest first; a non-empty
// Cursor continues it.
type AuditLog struct {
	Events []AuditEvent `json:"events"`
	Cursor string       `json:"cursor,omitempty"`
}

// DryRun answers a write tried with ?dryRun=true (X7): nothing was
// written or audited. Changes are the relationships the write would
// touch or delete ("touch <rel>", "delete <rel>"); Effects the
// permissions each person would gain or lose. EffectsTruncated says the
// effects were left out: the organisations the write touches hold more
// than 10,000 relationships, or the comparison would take more than
// 20,000 checks a side.
type DryRun struct {
	DryRun           bool     `json:"dryRun"`
	Changes          []string `json:"changes"`
	Effects          []Effect `json:"effects"`
	EffectsTruncated bool     `json:"effectsTruncated,omitempty"`
}

// Effect is one permission a subject would gain or lose on an object.
type Effect struct {
	Subject    string `json:"subject"`
	Permission string `json:"permission"`
	On         string `json:"on"`
	// Change is "gained" or "lost".
	Change string `json:"change"`
}
