package client

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse/wire"
)

// Schema returns the SpiceDB schema text Gatehouse runs on (GET /v1/schema).
func (c *Client) Schema(ctx context.Context) (string, error) {
	var out wire.Schema
	if err := c.get(ctx, "/v1/schema", nil, &out); err != nil {
		return "", err
	}
	return out.Schema, nil
}

// RelationshipFilter selects relationships: Resource ("organisation:acme")
// or ResourceType ("organisation") is required; Relation and Subject
// ("user:bob") narrow the selection. Limit (1 to 10000; 0 leaves it to
// the server, 1000) and Cursor, the Cursor of the previous page, page
// through the matches.
type RelationshipFilter struct {
	Resource     string
	ResourceType string
	Relation     string
	Subject      string
	Limit        int
	Cursor       string
}

// ReadRelationships lists one page of the relationships that match f (GET
// /v1/relationships); a non-empty Cursor in the answer continues it.
func (c *Client) ReadRelationships(ctx context.Context, f RelationshipFilter) (*Relationships, error) {
	q := url.Values{}
	for k, v := range map[string]string{"resource": f.Resource, "resourceType": f.ResourceType, "relation": f.Relation, "subject": f.Subject, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out Relationships
	if err := c.get(ctx, "/v1/relationships", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WriteRelationships applies req atomically (POST /v1/relationships).
// Touch and delete are idempotent, so the call is retried like a read.
func (c *Client) WriteRelationships(ctx context.Context, req WriteRelationshipsRequest) (*WriteResult, error) {
	var out WriteResult
	if err := c.post(ctx, "/v1/relationships", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// Touch creates or updates the relationships rels ("resource#relation@subject").
func (c *Client) Touch(ctx context.Context, reason string, rels ...string) (*WriteResult, error) {
	return c.WriteRelationships(ctx, WriteRelationshipsRequest{Touch: rels, Reason: reason})
}

// Delete removes the relationships rels; removing a missing one is not an error.
func (c *Client) Delete(ctx context.Context, reason string, rels ...string) (*WriteResult, error) {
	return c.WriteRelationships(ctx, WriteRelationshipsRequest{Delete: rels, Reason: reason})
}

// AuditQuery selects audit events of one organisation (required); the
// other fields narrow the selection, and Cursor continues an earlier page.
type AuditQuery struct {
	Organisation string
	Actor        string
	// Action keeps one action's events, by its name (remove_member).
	Action       string
	Since, Until time.Time
	Limit        int
	Cursor       string
}

// Audit lists one page of the audit trail of q.Organisation (GET /v1/audit).
func (c *Client) Audit(ctx context.Context, q AuditQuery) (*AuditLog, error) {
	v := url.Values{}
	v.Set("organisation", q.Organisation)
	if q.Actor != "" {
		v.Set("actor", q.Actor)
	}
	if q.Action != "" {
		v.Set("action", q.Action)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	var out AuditLog
	if err := c.get(ctx, "/v1/audit", v, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
