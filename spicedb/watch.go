package spicedb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/authzed/spicedb/pkg/zedtoken"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
)

// cursorEvery is how often a consumer stores its cursor when only
// checkpoints arrive (events store it with them).
const cursorEvery = 5 * time.Second

// ConsumeAudit follows SpiceDB's Watch API from the trail's stored cursor
// and appends an event to the trail for every write that carries
// Gatehouse's audit metadata, until ctx ends. It reconnects, from the
// cursor, whenever the stream breaks, so no write is lost; the trail skips
// a write it already holds, so several consumers (one per replica) store
// each write once. A write that commits after its caller gave up is
// recorded all the same: the consumer sees what SpiceDB committed.
func (s *SpiceDB) ConsumeAudit(ctx context.Context, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.consume(ctx)
		if ctx.Err() != nil {
			return
		}
		if status.Code(err) == codes.DeadlineExceeded || errors.Is(err, io.EOF) {
			// The remote connection bounds every stream; resume at once.
			backoff = 100 * time.Millisecond
			continue
		}
		log.Warn("audit consumer: the Watch stream broke; resuming from the stored cursor", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// PrepareAudit gives a trail that has no cursor yet the head revision of
// SpiceDB as its cursor, so that the consumer records every write made
// from now on. ConsumeAudit does it too; calling it first makes sure that
// no write made after it returns is missed.
func (s *SpiceDB) PrepareAudit(ctx context.Context) error {
	cursor, err := s.audit.trail.Cursor(ctx)
	if err != nil || cursor != "" {
		return err
	}
	// A fully consistent check answers at the head revision; what it asks
	// does not matter.
	resp, err := s.perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: fully(),
		Resource:    &v1.ObjectReference{ObjectType: typeOrganisation, ObjectId: "gatehouse-audit-start"},
		Permission:  "member",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "gatehouse-audit-start"}},
	})
	if err != nil {
		return translate(err)
	}
	return s.audit.trail.Append(ctx, nil, resp.GetCheckedAt().GetToken())
}

// consume follows one Watch stream until it ends.
func (s *SpiceDB) consume(ctx context.Context) error {
	if err := s.PrepareAudit(ctx); err != nil {
		return err
	}
	cursor, err := s.audit.trail.Cursor(ctx)
	if err != nil {
		return err
	}
	req := &v1.WatchRequest{OptionalUpdateKinds: []v1.WatchKind{
		v1.WatchKind_WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES, v1.WatchKind_WATCH_KIND_INCLUDE_CHECKPOINTS,
	}}
	if cursor != "" {
		req.OptionalStartCursor = &v1.ZedToken{Token: cursor}
	}
	stream, err := s.watch.Watch(ctx, req)
	if err != nil {
		return err
	}
	var stored time.Time
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		tok := resp.GetChangesThrough().GetToken()
		rev := revisionOf(tok)
		if len(resp.GetUpdates()) == 0 {
			if resp.GetIsCheckpoint() && time.Since(stored) > cursorEvery {
				if err := s.audit.trail.Append(ctx, nil, tok); err != nil {
					return fmt.Errorf("storing the audit cursor: %w", err)
				}
				stored = time.Now()
			}
			s.audit.seen(nil, rev, resp.GetIsCheckpoint())
			continue
		}
		events := eventsOf(resp, rev)
		if err := s.audit.trail.Append(ctx, events, tok); err != nil {
			return fmt.Errorf("appending to the audit trail: %w", err)
		}
		stored = time.Now()
		ids := make([]string, len(events))
		for i, e := range events {
			ids[i] = e.WriteID
		}
		s.audit.seen(ids, rev, false)
	}
}

// eventsOf turns one revision's changes into the events of the writes
// whose metadata it carries. A change without Gatehouse's metadata (made
// past Gatehouse, straight to SpiceDB) is not an event of this trail.
func eventsOf(resp *v1.WatchResponse, revision string) []audit.Event {
	mds := resp.GetFullRevisionMetadata()
	if len(mds) == 0 && resp.GetOptionalTransactionMetadata() != nil {
		mds = []*structpb.Struct{resp.GetOptionalTransactionMetadata()}
	}
	var changes []string
	for _, u := range resp.GetUpdates() {
		op := gatehouse.Touch
		switch u.GetOperation() {
		case v1.RelationshipUpdate_OPERATION_CREATE:
			op = gatehouse.Create
		case v1.RelationshipUpdate_OPERATION_DELETE:
			op = gatehouse.Delete
		}
		changes = append(changes, op.String()+" "+fromRel(u.GetRelationship()).String())
	}
	// SpiceDB's order of a revision's changes is its datastore's; sorted,
	// every consumer and datastore lists them alike.
	slices.Sort(changes)
	var out []audit.Event
	for i, md := range mds {
		ev, id, ok := eventOf(md)
		if !ok {
			continue
		}
		ev.Changes = changes
		ev.ZedToken = withoutSchemaHash(resp.GetChangesThrough().GetToken())
		out = append(out, audit.Event{AuditEvent: ev, Revision: revision, Position: i, WriteID: id})
	}
	return out
}

// eventOf rebuilds an audit record from a write's transaction metadata
// (see metadata).
func eventOf(md *structpb.Struct) (gatehouse.AuditEvent, string, bool) {
	m := md.AsMap()
	str := func(k string) string { s, _ := m[k].(string); return s }
	if str("actor") == "" && str("action") == "" {
		return gatehouse.AuditEvent{}, "", false
	}
	at, _ := time.Parse(time.RFC3339Nano, str("at"))
	ev := gatehouse.AuditEvent{At: at.UTC(), Audit: gatehouse.Audit{
		Actor: str("actor"), Key: str("key"), Action: str("action"), Reason: str("reason"), Organisation: str("organisation"),
	}}
	if d, ok := m["details"].(map[string]any); ok {
		ev.Details = map[string]string{}
		for k, v := range d {
			ev.Details[k] = fmt.Sprint(v)
		}
	}
	return ev, str("write"), true
}

// withoutSchemaHash drops the schema hash that Watch adds to a ZedToken,
// so an event names its revision with the token its write returned.
func withoutSchemaHash(tok string) string {
	d, err := zedtoken.Decode(&v1.ZedToken{Token: tok})
	if err != nil || d.GetV1() == nil {
		return tok
	}
	d.GetV1().SchemaHash = nil
	enc, err := zedtoken.Encode(d)
	if err != nil {
		return tok
	}
	return enc.GetToken()
}

// StartAudit gives the trail its cursor (PrepareAudit), so that no write
// made after it returns is missed, then consumes SpiceDB's Watch API into
// the trail in the background (ConsumeAudit) until ctx ends or stop is
// called; stop waits for the consumer to return. The schema must be
// written first.
func (s *SpiceDB) StartAudit(ctx context.Context, log *slog.Logger) (stop func(), err error) {
	if err := s.PrepareAudit(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ConsumeAudit(ctx, log)
	}()
	return func() { cancel(); <-done }, nil
}
