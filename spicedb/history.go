package spicedb

import (
	"context"
	"fmt"
	"time"

	"github.com/authzed/spicedb/pkg/datalayer"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
	"github.com/authzed/spicedb/pkg/zedtoken"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gatehouse-authz/gatehouse"
)

// History reads back the audit trail that earlier runs left in the
// datastore: SpiceDB keeps each write's transaction metadata in its change
// log, and Postgres keeps that log for the datastore's GC window (24 hours
// by default). The memory datastore starts empty, so it has none.
func (e *Embedded) History(ctx context.Context) ([]gatehouse.AuditEvent, error) {
	if e.memory {
		return nil, nil
	}
	head, err := e.ds.HeadRevision(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the head revision: %w", err)
	}
	// The oldest revision Postgres can name; the change log starts at the
	// oldest transaction the garbage collector has kept.
	start, err := e.ds.RevisionFromString("1")
	if err != nil {
		return nil, fmt.Errorf("naming the first revision: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	changes, errs := e.ds.Watch(ctx, start, datastore.WatchOptions{
		Content:            datastore.WatchRelationships | datastore.WatchCheckpoints,
		CheckpointInterval: 100 * time.Millisecond,
	})
	var out []gatehouse.AuditEvent
	// Postgres polls its change log and sends a checkpoint only after
	// changes, so an idle spell means the log has been read to its end.
	idle := time.NewTimer(2 * time.Second)
	defer idle.Stop()
	for {
		select {
		case <-idle.C:
			return out, nil
		case ch, ok := <-changes:
			if !ok {
				return out, nil
			}
			idle.Reset(2 * time.Second)
			if ch.Revision.GreaterThan(head.Revision) {
				return out, nil
			}
			for _, md := range ch.Metadatas {
				if ev, ok := eventOf(md, ch.RelationshipChanges); ok {
					if tok, err := zedtoken.NewFromRevision(ctx, ch.Revision, datalayer.SchemaHash(head.SchemaHash), e.ds); err == nil {
						ev.ZedToken = tok.GetToken()
					}
					out = append(out, ev)
				}
			}
			if ch.IsCheckpoint && !head.Revision.GreaterThan(ch.Revision) {
				return out, nil
			}
		case err := <-errs:
			return out, fmt.Errorf("reading the change log: %w", err)
		}
	}
}

// eventOf rebuilds an audit event from a write's transaction metadata.
func eventOf(md *structpb.Struct, ups []tuple.RelationshipUpdate) (gatehouse.AuditEvent, bool) {
	m := md.AsMap()
	str := func(k string) string { s, _ := m[k].(string); return s }
	if str("actor") == "" && str("action") == "" {
		return gatehouse.AuditEvent{}, false
	}
	at, _ := time.Parse(time.RFC3339Nano, str("at"))
	ev := gatehouse.AuditEvent{At: at, Audit: gatehouse.Audit{
		Actor: str("actor"), Key: str("key"), Action: str("action"), Reason: str("reason"), Organisation: str("organisation"),
	}}
	if d, ok := m["details"].(map[string]any); ok {
		ev.Details = map[string]string{}
		for k, v := range d {
			ev.Details[k] = fmt.Sprint(v)
		}
	}
	for _, u := range ups {
		op := map[tuple.UpdateOperation]gatehouse.Operation{
			tuple.UpdateOperationCreate: gatehouse.Create, tuple.UpdateOperationDelete: gatehouse.Delete,
		}[u.Operation]
		ev.Changes = append(ev.Changes, op.String()+" "+tuple.MustString(u.Relationship))
	}
	return ev, true
}

// WithHistory starts the audit trail with the events of earlier runs.
func WithHistory(events []gatehouse.AuditEvent) Option {
	return func(s *SpiceDB) { s.audit.events = append(events, s.audit.events...) }
}
