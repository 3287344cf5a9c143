package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// handleSchema serves GET /v1/schema.
func handleSchema(d Deps) op[none, wire.Schema] {
	return func(ctx context.Context, _ In[none]) (wire.Schema, error) {
		s, err := d.Workflow.Schema(ctx)
		return wire.Schema{Schema: s}, err
	}
}

// handleReadRelationships serves GET /v1/relationships?resource=&resourceType=&relation=&subject=&limit=&cursor=.
func handleReadRelationships(d Deps) op[none, wire.Relationships] {
	return func(ctx context.Context, in In[none]) (wire.Relationships, error) {
		var f gatehouse.Filter
		switch res := in.Query("resource"); {
		case res != "":
			o, err := gatehouse.ParseObject("resource", res)
			if err != nil {
				return wire.Relationships{}, err
			}
			f.ResourceType, f.ResourceID = o.Type, o.ID
		case in.Query("resourceType") != "":
			f.ResourceType = in.Query("resourceType")
		default:
			return wire.Relationships{}, gatehouse.Invalid("resource", "resource (type:id) or resourceType is required")
		}
		if !d.Schema.HasType(f.ResourceType) {
			return wire.Relationships{}, gatehouse.Invalid("resource", "object type %q is not defined in the schema", f.ResourceType)
		}
		if rel := in.Query("relation"); rel != "" {
			if !d.Schema.Has(f.ResourceType, rel) {
				return wire.Relationships{}, gatehouse.Invalid("relation", "%q is not a relation of %s", rel, f.ResourceType)
			}
			f.Relation = rel
		}
		if sub := in.Query("subject"); sub != "" {
			s, err := gatehouse.ParseSubject("subject", sub)
			if err != nil {
				return wire.Relationships{}, err
			}
			f.SubjectType, f.SubjectID, f.SubjectRelation = s.Type, s.ID, s.Relation
		}
		page, err := d.Workflow.Relationships(ctx, gatehouse.ReadRequest{Filter: f, Limit: in.Int("limit"), Cursor: in.Query("cursor")})
		return wire.Relationships{Relationships: strs(page.Relationships), Cursor: page.Cursor, ZedToken: page.ZedToken}, err
	}
}

// handleWriteRelationships serves POST /v1/relationships.
func handleWriteRelationships(d Deps) op[wire.WriteRelationshipsRequest, wire.WriteResult] {
	return func(ctx context.Context, in In[wire.WriteRelationshipsRequest]) (wire.WriteResult, error) {
		b := in.Body
		ups, err := workflow.RawUpdates(b.Touch, b.Delete)
		if err != nil {
			return wire.WriteResult{}, err
		}
		tok, err := d.Workflow.WriteRaw(ctx, in.Actor, ups, b.Reason, gatehouse.IsPlatformKey(ctx))
		return wire.WriteResult{ZedToken: tok}, err
	}
}

// actionName is the form of an audited action's name (remove_member).
var actionName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// handleAudit serves GET /v1/audit?organisation=&actor=&action=&since=&until=&limit=&cursor=.
func handleAudit(d Deps) op[none, wire.AuditLog] {
	return func(ctx context.Context, in In[none]) (wire.AuditLog, error) {
		q := gatehouse.AuditQuery{
			Organisation: in.Query("organisation"), Platform: in.Bool("platform"), Actor: in.Query("actor"), Action: in.Query("action"), Cursor: in.Query("cursor"),
			Since: in.Time("since"), Until: in.Time("until"), Limit: in.Int("limit"),
		}
		if q.Action != "" && !actionName.MatchString(q.Action) {
			return wire.AuditLog{}, gatehouse.Invalid("action", "%q is not an action's name (lower-case letters, digits and _, as remove_member)", q.Action)
		}
		if (q.Organisation == "") == !q.Platform {
			return wire.AuditLog{}, gatehouse.Invalid("organisation", "name one organisation, or ask for platform=true (the events that name none)")
		}
		if q.Actor != "" {
			if _, err := gatehouse.ParseSubject("actor", q.Actor); err != nil {
				return wire.AuditLog{}, err
			}
		}
		if in.Accepts(ndjson) {
			return wire.AuditLog{}, exportAudit(ctx, d.Audit, q, in)
		}
		// The cursor is bound to the filter it pages.
		list := fmt.Sprintf("audit:%s:%v:%s:%s:%d:%d", q.Organisation, q.Platform, q.Actor, q.Action, q.Since.UnixNano(), q.Until.UnixNano())
		var err error
		if q.Cursor, err = openCursor(d.CursorKey, list, q.Cursor); err != nil {
			return wire.AuditLog{}, err
		}
		evs, next, err := d.Audit.List(ctx, q)
		out := wire.AuditLog{Events: make([]wire.AuditEvent, len(evs)), Cursor: sealCursor(d.CursorKey, list, next)}
		for i, e := range evs {
			out.Events[i] = auditEvent(e)
		}
		return out, err
	}
}

// ndjson is the media type of the audit export: one event per line.
const ndjson = "application/x-ndjson"

// exportAudit streams every event q matches, oldest first, one JSON object
// per line, for a SIEM: never the whole trail in memory. An export that
// cannot finish ends with a line {"error": {...}} naming the failure, never
// as if complete (X2); a complete one ends with its last event.
func exportAudit(ctx context.Context, trail gatehouse.AuditTrail, q gatehouse.AuditQuery, in In[none]) error {
	if q.Cursor != "" {
		return gatehouse.Invalid("cursor", "an export streams every matching event; cursor pages the JSON answer only")
	}
	q.Limit = 0
	return in.Stream(ndjson, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		err := trail.Export(ctx, q, func(e gatehouse.AuditEvent) error { return enc.Encode(auditEvent(e)) })
		if err != nil {
			_, detail, _ := detailOf(err)
			detail.Message = "the export stopped before its end: " + detail.Message
			_ = enc.Encode(wire.ErrorBody{Error: detail})
		}
		return err
	})
}

// auditEvent is e as the API answers it.
func auditEvent(e gatehouse.AuditEvent) wire.AuditEvent {
	return wire.AuditEvent{
		At: e.At, Actor: e.Actor, Key: e.Key, Action: e.Action, Reason: e.Reason, Organisation: e.Organisation,
		Details: e.Details, Changes: e.Changes, ZedToken: e.ZedToken, Write: e.Write,
	}
}
