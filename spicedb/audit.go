package spicedb

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/zedtoken"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gatehouse-authz/gatehouse"
)

// The audit trail (X2) is a port of its own (gatehouse.AuditTrail, with
// implementations in package audit). What ties it to SpiceDB lives here:
// every write carries its audit record as transaction metadata, and an
// AuditConsumer follows SpiceDB's Watch API, turning what SpiceDB
// committed into records, one per organisation a write touches
// (gatehouse.Attribute). A write of a Store with a consumer returns once
// its record is in the trail (awaitLimit at most), so that any replica
// sharing the trail lists it next.

// awaitLimit bounds how long a write waits for its record to reach the
// trail. A write still unrecorded then has committed all the same: its
// record reaches the trail when the consumer catches up.
const awaitLimit = 3 * time.Second

// cursorEvery is how often a consumer stores its cursor when only
// checkpoints arrive (records store it with them).
const cursorEvery = 5 * time.Second

// DefaultStallAfter is how long a consumer may be unable to follow
// SpiceDB's stream (retrying) before readiness reports it stopped.
const DefaultStallAfter = 30 * time.Second

// firstWait is how long a stream must stay open, without an error, to
// count as followed.
const firstWait = time.Second

// startWait is how long StartAudit waits for the stream's first answer
// (a refusal comes at once) before it counts the stream as open.
const startWait = 250 * time.Millisecond

// AuditConfig configures an AuditConsumer.
type AuditConfig struct {
	// FreshDatastore says the datastore started empty with this process
	// (embedded memory): a cursor stored by an earlier run names a
	// datastore that is gone, so the consumer starts from the new one's head.
	FreshDatastore bool
	// ResetCursor makes the consumer start from SpiceDB's head whatever
	// cursor is stored (GATEHOUSE_AUDIT_RESET_CURSOR): the recovery when
	// the stored cursor names another datastore or has expired. Writes
	// made between the old cursor and now are not recorded.
	ResetCursor bool
	// CursorChecked says CheckAuditCursor passed the stored cursor just
	// before: the first stream does not ask SpiceDB again.
	CursorChecked bool
	// StallAfter: see DefaultStallAfter.
	StallAfter time.Duration
	// Log takes the consumer's warnings; nil discards them.
	Log *slog.Logger
}

// ErrAuditCursor is the consumer's fatal error: the stored cursor cannot
// be followed (it names another datastore, or a revision older than
// SpiceDB's GC window). Events would be lost silently; instead
// Gatehouse stops, and the operator chooses.
var ErrAuditCursor = errors.New("the audit trail's cursor cannot be followed")

// AuditConsumer follows SpiceDB's Watch API from the trail's stored
// cursor and appends the record of every write that carries Gatehouse's
// metadata. It reconnects from the cursor whenever the stream breaks, so
// no write is lost; the trail skips records it already holds, so several
// consumers (one per replica) store each once.
type AuditConsumer struct {
	s     *SpiceDB
	trail gatehouse.AuditTrail
	cfg   AuditConfig
	log   *slog.Logger
	w     *auditState

	mu sync.Mutex
	// failingSince is when the consumer last lost its stream (zero while
	// it follows one); openedAt when the current stream opened.
	failingSince time.Time
	openedAt     time.Time
	lastErr      error
	fatal        error
	records      int64
	first        chan struct{} // closed at the first response, or a fatal error
	once         sync.Once
	failed       chan struct{} // closed on a fatal error
	// replace: the stored cursor is still to be replaced by the head
	// (FreshDatastore, ResetCursor), which happens once, at start.
	replace atomic.Bool
	// checked: CursorChecked, until the first stream opens.
	checked atomic.Bool

	stop func()
	done chan struct{}
}

// AuditStatus is what a consumer reports of itself, for /readyz and /metrics.
type AuditStatus struct {
	// Running: the consumer follows SpiceDB's stream, or has lost it for
	// less than StallAfter, and has no fatal error.
	Running bool
	// Behind is how long the consumer has been unable to follow SpiceDB's
	// stream (0 while it follows it): the lag in seconds.
	Behind time.Duration
	// Pending counts this process's writes whose record has not reached
	// the trail: the lag in events, as far as this process knows.
	Pending int
	// Records counts the records appended since start.
	Records int64
	Err     error
}

// StartAudit gives the trail a cursor, retrying a datastore that does not
// answer yet with backoff until ctx ends, then follows SpiceDB's Watch
// API into trail until ctx ends or Stop is called. It returns once the
// stream answers: from then on, every write of s waits for its record. A
// stored cursor that cannot be followed is ErrAuditCursor. The schema
// must be written first.
func StartAudit(ctx context.Context, s *SpiceDB, trail gatehouse.AuditTrail, cfg AuditConfig) (*AuditConsumer, error) {
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultStallAfter
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &AuditConsumer{
		s: s, trail: trail, cfg: cfg, log: log, w: newAuditState(),
		first: make(chan struct{}), failed: make(chan struct{}), done: make(chan struct{}),
	}
	c.replace.Store(cfg.FreshDatastore || cfg.ResetCursor)
	c.checked.Store(cfg.CursorChecked)
	if err := c.prepare(ctx); err != nil {
		return nil, err
	}
	s.audit.Store(c.w)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	unhook := context.AfterFunc(ctx, cancel)
	c.stop = func() { unhook(); cancel() }
	go func() {
		defer close(c.done)
		c.run(runCtx)
	}()
	// A stream that cannot be followed fails at once, as a rule; one that
	// can may stay silent (the memory datastore sends no checkpoint when
	// idle). A failure that comes later closes Failed.
	select {
	case <-c.first:
	case <-time.After(startWait):
	case <-ctx.Done():
		c.Stop()
		return nil, ctx.Err()
	}
	c.mu.Lock()
	fatal := c.fatal
	c.mu.Unlock()
	if fatal != nil {
		c.Stop()
		return nil, fatal
	}
	return c, nil
}

// Stop ends the consumer and waits for it.
func (c *AuditConsumer) Stop() {
	c.stop()
	<-c.done
	c.s.audit.CompareAndSwap(c.w, nil)
}

// Status reports the consumer's health and lag.
func (c *AuditConsumer) Status() AuditStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if !c.openedAt.IsZero() && now.Sub(c.openedAt) > firstWait {
		c.failingSince = time.Time{} // the stream opened again and holds
	}
	st := AuditStatus{Pending: c.w.pendingCount(), Records: c.records, Err: c.fatal}
	if !c.failingSince.IsZero() {
		st.Behind = now.Sub(c.failingSince)
	}
	if st.Err == nil && st.Behind > c.cfg.StallAfter {
		st.Err = fmt.Errorf("the audit consumer has not followed SpiceDB's changes for %s (last error: %w)", st.Behind.Round(time.Second), c.lastErr)
	}
	st.Running = st.Err == nil
	return st
}

// Failed is closed when the consumer stops for good (ErrAuditCursor):
// Gatehouse must not go on taking writes it cannot record.
func (c *AuditConsumer) Failed() <-chan struct{} { return c.failed }

// Healthy returns nil while the consumer runs (Status().Err otherwise): readiness.
func (c *AuditConsumer) Healthy() error { return c.Status().Err }

// prepare gives the trail a cursor: the head revision when it has none
// (or the stored one must be replaced), so that the consumer records
// every write made from now on. A datastore that does not answer is
// retried with backoff until ctx ends.
func (c *AuditConsumer) prepare(ctx context.Context) error {
	return retrying(ctx, c.log, c.prepareOnce)
}

// retrying calls fn until it succeeds or fails other than transiently,
// with backoff, until ctx ends.
func retrying(ctx context.Context, log *slog.Logger, fn func(context.Context) error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil || !transient(err) {
			return err
		}
		log.Warn("audit consumer: the datastore does not answer yet; retrying", "attempt", attempt, "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (c *AuditConsumer) prepareOnce(ctx context.Context) error {
	cursor, err := c.trail.Cursor(ctx)
	if err != nil {
		return err
	}
	replace := c.replace.Load()
	if cursor != "" && !replace {
		return nil
	}
	head, err := c.s.headToken(ctx)
	if err != nil {
		return err
	}
	if cursor != "" {
		c.log.Warn("audit consumer: starting from SpiceDB's head instead of the stored cursor; writes made in between are not recorded",
			"fresh_datastore", c.cfg.FreshDatastore, "reset_cursor", c.cfg.ResetCursor)
	}
	if err := c.trail.Append(ctx, nil, head); err != nil {
		return err
	}
	// Once: a stream resumed later resumes from what this run stored.
	c.replace.Store(false)
	return nil
}

// headToken is a ZedToken of the head revision: a fully consistent check
// answers there, and what it asks does not matter.
func (s *SpiceDB) headToken(ctx context.Context) (string, error) {
	resp, err := s.perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: fully(),
		Resource:    &v1.ObjectReference{ObjectType: gatehouse.TypeOrganisation, ObjectId: "gatehouse-audit-start"},
		Permission:  "member",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "gatehouse-audit-start"}},
	})
	if err != nil {
		return "", translate(err)
	}
	return resp.GetCheckedAt().GetToken(), nil
}

// CheckAuditCursor returns ErrAuditCursor, worded for the operator, when
// SpiceDB cannot follow trail's stored cursor: it names another datastore,
// or a revision older than SpiceDB's GC window. No cursor, or one that cfg
// replaces (FreshDatastore, ResetCursor), passes. A datastore or trail
// that does not answer is retried with backoff until ctx ends. Call it
// before writing anything, the schema at start included: once a write
// follows a cursor older than the GC window, SpiceDB counts the cursor
// expired even when nothing between was missed. Then start the consumer
// with CursorChecked.
func CheckAuditCursor(ctx context.Context, s *SpiceDB, trail gatehouse.AuditTrail, cfg AuditConfig) error {
	if cfg.FreshDatastore || cfg.ResetCursor {
		return nil
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return retrying(ctx, log, func(ctx context.Context) error {
		cursor, err := trail.Cursor(ctx)
		if err != nil || cursor == "" {
			return err
		}
		err = s.checkCursor(ctx, cursor)
		if fatal := auditCursorError(err); fatal != nil || err == nil || transient(err) {
			return cmp.Or(fatal, err)
		}
		// A refusal of the check itself, not of its revision: the Watch
		// stream will say what it makes of the cursor.
		log.Warn("audit consumer: SpiceDB would not check at the stored cursor", "err", err)
		return nil
	})
}

// checkCursor asks SpiceDB whether the revision cursor names is still
// within its GC window, with a check at exactly that revision: SpiceDB
// answers OutOfRange "revision has expired" once the revision is older
// than the window and a later one exists. Its Watch does not ask: on
// Postgres it resumes from the oldest transaction its GC left, skipping
// the writes in between without a word, and on the memory datastore it
// panics (v1.57.1, reading the schema at the expired revision). Any
// error comes back as SpiceDB's, for auditCursorError.
func (s *SpiceDB) checkCursor(ctx context.Context, cursor string) error {
	_, err := s.perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: &v1.ZedToken{Token: cursor}}},
		Resource:    &v1.ObjectReference{ObjectType: gatehouse.TypeOrganisation, ObjectId: "gatehouse-audit-start"},
		Permission:  "member",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "gatehouse-audit-start"}},
	})
	return err
}

// transient says whether err may pass by itself (SpiceDB or the trail's
// database not answering), as opposed to a refusal.
func transient(err error) bool {
	if errors.Is(err, ErrAuditCursor) {
		return false
	}
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EUNAVAILABLE:
		return true
	case gatehouse.EINVALID, gatehouse.ECONFLICT, gatehouse.ENOTFOUND, gatehouse.EFORBIDDEN:
		return false
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition, codes.PermissionDenied, codes.Unauthenticated:
		return false
	}
	return true
}

// run follows Watch streams until ctx ends or a fatal error.
func (c *AuditConsumer) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := c.consume(ctx)
		if ctx.Err() != nil {
			return
		}
		if fatal := auditCursorError(err); fatal != nil {
			c.mu.Lock()
			c.fatal, c.lastErr = fatal, err
			c.mu.Unlock()
			c.log.Error("audit consumer stopped", "err", fatal)
			c.once.Do(func() { close(c.first) })
			close(c.failed)
			return
		}
		c.mu.Lock()
		c.lastErr, c.openedAt = err, time.Time{}
		if c.failingSince.IsZero() {
			c.failingSince = time.Now()
		}
		c.mu.Unlock()
		if status.Code(err) == codes.DeadlineExceeded || errors.Is(err, io.EOF) {
			// The remote connection bounds every stream; resume at once.
			backoff = 100 * time.Millisecond
			continue
		}
		c.log.Warn("audit consumer: the Watch stream broke; resuming from the stored cursor", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// auditCursorError is ErrAuditCursor, worded for the operator, when err says
// the stored cursor cannot be followed; nil otherwise.
func auditCursorError(err error) error {
	if err == nil {
		return nil
	}
	msg := status.Convert(err).Message()
	switch {
	case strings.Contains(msg, "different datastore"):
		// InvalidArgument from Watch, Unknown from checkCursor.
		return fmt.Errorf("%w: it was made by another SpiceDB datastore than the one Gatehouse now uses (%s). "+
			"If SpiceDB's datastore was replaced on purpose, restart once with GATEHOUSE_AUDIT_RESET_CURSOR=true to record from its head on "+
			"(the events already stored stay); if Gatehouse points at the wrong SpiceDB or the wrong audit database, fix that instead", ErrAuditCursor, msg)
	case strings.Contains(msg, "revision has expired"):
		// OutOfRange from checkCursor; Internal ("failed to read schema")
		// from the Watch of a SpiceDB that does not panic on it.
		return fmt.Errorf("%w: it names a revision older than SpiceDB's GC window (%s): no audit consumer has followed SpiceDB "+
			"for longer than --datastore-gc-window (24 h by default), and SpiceDB no longer serves the writes made since then, "+
			"so their records cannot be made. Restart once with GATEHOUSE_AUDIT_RESET_CURSOR=true to record from SpiceDB's head on "+
			"(the events already stored stay; the writes in between stay unrecorded)", ErrAuditCursor, msg)
	case status.Code(err) == codes.OutOfRange:
		return fmt.Errorf("%w: SpiceDB cannot serve the revision it names (%s). If SpiceDB's datastore was restored or replaced, "+
			"restart once with GATEHOUSE_AUDIT_RESET_CURSOR=true to record from its head on; if Gatehouse points at the wrong SpiceDB "+
			"or the wrong audit database, fix that instead", ErrAuditCursor, msg)
	}
	return nil
}

// heard notes that SpiceDB sent something.
func (c *AuditConsumer) heard(records int) {
	c.mu.Lock()
	c.failingSince = time.Time{}
	c.records += int64(records)
	c.mu.Unlock()
	c.once.Do(func() { close(c.first) })
}

// consume follows one Watch stream until it ends.
func (c *AuditConsumer) consume(ctx context.Context) error {
	if err := c.prepareOnce(ctx); err != nil {
		return err
	}
	cursor, err := c.trail.Cursor(ctx)
	if err != nil {
		return err
	}
	// Schema updates too: a schema written through another replica is a
	// change of everything a decision cache kept (Feed).
	req := &v1.WatchRequest{OptionalUpdateKinds: []v1.WatchKind{
		v1.WatchKind_WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES, v1.WatchKind_WATCH_KIND_INCLUDE_CHECKPOINTS,
		v1.WatchKind_WATCH_KIND_INCLUDE_SCHEMA_UPDATES,
	}}
	if cursor != "" {
		if !c.checked.Swap(false) {
			if err := c.s.checkCursor(ctx, cursor); err != nil {
				return err
			}
		}
		req.OptionalStartCursor = &v1.ZedToken{Token: cursor}
	}
	ctx, cancel := context.WithCancel(withoutStreamDeadline(ctx))
	defer cancel()
	stream, err := c.s.watch.Watch(ctx, req)
	if err != nil {
		return err
	}
	defer c.s.follow.broke()
	if f := c.s.follow; f != nil {
		go c.s.keepHearing(ctx, cancel)
	}
	c.mu.Lock()
	c.openedAt = time.Now()
	c.mu.Unlock()
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
				if err := c.trail.Append(ctx, nil, tok); err != nil {
					return fmt.Errorf("storing the audit cursor: %w", err)
				}
				stored = time.Now()
			}
			c.heard(0)
			c.s.heard(resp)
			c.w.seen(nil, rev, resp.GetIsCheckpoint())
			continue
		}
		c.s.expired.add(expiringOf(resp))
		records := recordsOf(resp, rev)
		if err := c.trail.Append(ctx, records, tok); err != nil {
			return fmt.Errorf("appending to the audit trail: %w", err)
		}
		stored = time.Now()
		c.heard(len(records))
		// Before the writes waiting for their record go on: their next
		// read must find them in the snapshot.
		c.s.heard(resp)
		ids := make([]string, len(records))
		for i, r := range records {
			ids[i] = r.Write
		}
		c.w.seen(ids, rev, false)
	}
}

// recordsOf turns one revision's changes into the records of the writes
// whose metadata it carries, one per organisation each write touched
// (X2), each with that organisation's changes only. A change without
// Gatehouse's metadata (made past Gatehouse, straight to SpiceDB) is not
// recorded.
func recordsOf(resp *v1.WatchResponse, revision string) []gatehouse.AuditRecord {
	mds := resp.GetFullRevisionMetadata()
	if len(mds) == 0 && resp.GetOptionalTransactionMetadata() != nil {
		mds = []*structpb.Struct{resp.GetOptionalTransactionMetadata()}
	}
	rels := make([]gatehouse.Relationship, len(resp.GetUpdates()))
	changes := make([]string, len(rels))
	for i, u := range resp.GetUpdates() {
		op := gatehouse.Touch
		switch u.GetOperation() {
		case v1.RelationshipUpdate_OPERATION_CREATE:
			op = gatehouse.Create
		case v1.RelationshipUpdate_OPERATION_DELETE:
			op = gatehouse.Delete
		}
		rels[i] = fromRel(u.GetRelationship())
		changes[i] = op.String() + " " + rels[i].String()
	}
	tok := withoutSchemaHash(resp.GetChangesThrough().GetToken())
	var out []gatehouse.AuditRecord
	for i, md := range mds {
		ev, owners, ok := eventOf(md)
		if !ok {
			continue
		}
		byOrg := gatehouse.Attribute(rels, owners, ev.Organisation)
		orgs := make([]string, 0, len(byOrg))
		for org := range byOrg {
			orgs = append(orgs, org)
		}
		slices.Sort(orgs)
		for _, org := range orgs {
			e := ev
			e.Organisation = org
			e.Changes = make([]string, 0, len(byOrg[org]))
			for _, j := range byOrg[org] {
				e.Changes = append(e.Changes, changes[j])
			}
			// SpiceDB's order of a revision's changes is its datastore's;
			// sorted, every consumer and datastore lists them alike.
			slices.Sort(e.Changes)
			e.ZedToken = tok
			out = append(out, gatehouse.AuditRecord{AuditEvent: e, Revision: revision, Position: i})
		}
	}
	return out
}

// expiringOf is the relationships with an expiration that resp writes:
// every replica learns the expirations written through the others.
func expiringOf(resp *v1.WatchResponse) []gatehouse.Update {
	var out []gatehouse.Update
	for _, u := range resp.GetUpdates() {
		if u.GetOperation() != v1.RelationshipUpdate_OPERATION_DELETE && u.GetRelationship().GetOptionalExpiresAt() != nil {
			out = append(out, gatehouse.Update{Relationship: fromRel(u.GetRelationship())})
		}
	}
	return out
}

// newWriteID names one write in its metadata.
func newWriteID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// metadata is a write's audit record as SpiceDB transaction metadata; nil
// for a write that carries none (no actor, no action). owners names the
// organisations of the owned objects the write touches, read before it,
// for attribution (gatehouse.Attribute). The caller has validated a
// (record); one that still cannot be encoded refuses the write: X2.
func metadata(a gatehouse.Audit, write string, owners map[gatehouse.Object]string) (*structpb.Struct, error) {
	if a.Actor == "" && a.Action == "" {
		return nil, nil
	}
	m := map[string]any{"actor": a.Actor, "action": a.Action, "at": time.Now().UTC().Format(time.RFC3339Nano), "write": write}
	if a.Key != "" {
		m["key"] = a.Key
	}
	if a.Reason != "" {
		m["reason"] = a.Reason
	}
	if a.Organisation != "" {
		m["organisation"] = a.Organisation
	}
	if len(a.Details) > 0 {
		d := map[string]any{}
		for k, v := range a.Details {
			d[k] = v
		}
		m["details"] = d
	}
	if len(owners) > 0 {
		// Sorted by SpiceDB's encoding of maps; the consumer reads them back.
		o := map[string]any{}
		for obj, org := range owners {
			o[obj.String()] = org
		}
		m["owners"] = o
	}
	st, err := structpb.NewStruct(m)
	if err != nil {
		return nil, gatehouse.Invalid("reason", "the audit record cannot be stored with the write: %v", err)
	}
	return st, nil
}

// eventOf rebuilds an audit record from a write's transaction metadata
// (see metadata): the event, and the owners of the objects it touched.
func eventOf(md *structpb.Struct) (gatehouse.AuditEvent, map[gatehouse.Object]string, bool) {
	m := md.AsMap()
	str := func(k string) string { s, _ := m[k].(string); return s }
	if str("actor") == "" && str("action") == "" {
		return gatehouse.AuditEvent{}, nil, false
	}
	at, _ := time.Parse(time.RFC3339Nano, str("at"))
	// Microseconds: what the durable trail keeps, so every trail lists alike.
	ev := gatehouse.AuditEvent{At: at.UTC().Truncate(time.Microsecond), Write: str("write"), Audit: gatehouse.Audit{
		Actor: str("actor"), Key: str("key"), Action: str("action"), Reason: str("reason"), Organisation: str("organisation"),
	}}
	if d, ok := m["details"].(map[string]any); ok {
		ev.Details = map[string]string{}
		for k, v := range d {
			ev.Details[k] = fmt.Sprint(v)
		}
	}
	owners := map[gatehouse.Object]string{}
	if o, ok := m["owners"].(map[string]any); ok {
		for k, v := range o {
			if obj, err := gatehouse.ParseObject("owners", k); err == nil {
				owners[obj], _ = v.(string)
			}
		}
	}
	return ev, owners, true
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

// revisionOf names the SpiceDB revision of a ZedToken; "" when it is not one.
func revisionOf(tok string) string {
	d, err := zedtoken.Decode(&v1.ZedToken{Token: tok})
	if err != nil {
		return ""
	}
	if v := d.GetV1(); v != nil {
		return v.GetRevision()
	}
	return ""
}

// owners reads the organisations of the owned objects among objs and the
// resources of rels, for attribution: an owned object's own link written
// in the same write is taken from there by gatehouse.Attribute.
func (s *SpiceDB) owners(ctx context.Context, objs []gatehouse.Object, rels []gatehouse.Relationship) (map[gatehouse.Object]string, error) {
	want := map[gatehouse.Object]bool{}
	linked := map[gatehouse.Object]bool{}
	for _, r := range rels {
		if _, link := gatehouse.OwnerLink(r); link {
			linked[r.Resource] = true
		}
		objs = append(objs, r.Resource)
	}
	for _, o := range objs {
		if gatehouse.Owned(o.Type) && o.ID != "" && !linked[o] {
			want[o] = true
		}
	}
	out := map[gatehouse.Object]string{}
	for o := range want {
		links, _, err := s.ReadRelationships(ctx, gatehouse.Filter{
			ResourceType: o.Type, ResourceID: o.ID, Relation: gatehouse.RelOrganisation, SubjectType: gatehouse.TypeOrganisation,
		}, gatehouse.Consistency{FullyConsistent: true})
		if err != nil {
			return nil, err
		}
		if len(links) > 0 {
			out[o] = links[0].Subject.ID
		}
	}
	return out, nil
}
