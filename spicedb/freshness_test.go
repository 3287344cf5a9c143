package spicedb

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// TestFreshnessSettles: after overlapping writes the newest token is
// unknown and a check goes fully consistent; the token of such a check,
// begun with no write under way, bounds every write again, unless a write
// began while it ran.
func TestFreshnessSettles(t *testing.T) {
	var f freshness
	s1, a1 := f.begin()
	s2, a2 := f.begin()
	f.end(s1, a1, "t1", nil)
	f.end(s2, a2, "t2", nil)
	cons, settle := f.check(gatehouse.Consistency{})
	if !cons.GetFullyConsistent() || settle == nil {
		t.Fatalf("after overlapping writes: %v, settle %v; want fully consistent and a settle", cons, settle != nil)
	}
	s3, a3 := f.begin()
	settle("t-read")
	if c := f.consistency(gatehouse.Consistency{}); !c.GetFullyConsistent() {
		t.Fatalf("a write began during the read, yet its token was taken: %v", c)
	}
	f.end(s3, a3, "t3", nil)
	if c := f.consistency(gatehouse.Consistency{}); c.GetAtLeastAsFresh().GetToken() != "t3" {
		t.Fatalf("a write alone: %v, want at least as fresh as t3", c)
	}
	s4, a4 := f.begin()
	s5, a5 := f.begin()
	f.end(s4, a4, "t4", nil)
	f.end(s5, a5, "t5", nil)
	_, settle = f.check(gatehouse.Consistency{})
	settle("t-read")
	if c := f.consistency(gatehouse.Consistency{}); c.GetAtLeastAsFresh().GetToken() != "t-read" {
		t.Fatalf("after a fully-consistent read: %v, want at least as fresh as its token", c)
	}
	if _, settle := f.check(gatehouse.Consistency{FullyConsistent: true}); settle != nil {
		t.Fatal("a caller's own consistency must not settle")
	}
}

// lossyConn is a connection to SpiceDB that can lose the answer of one
// method after SpiceDB made the call, as a caller who cancels, a deadline
// that passes or a connection that drops mid-call does; it keeps the
// consistency of the last bulk check, the read TestWriteOfUnknownOutcome
// watches.
type lossyConn struct {
	grpc.ClientConnInterface
	mu     sync.Mutex
	method string
	lost   error
	read   *v1.Consistency
}

func (c *lossyConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.mu.Lock()
	if r, ok := args.(*v1.CheckBulkPermissionsRequest); ok {
		c.read = r.GetConsistency()
	}
	lost := c.lost
	if method != c.method {
		lost = nil
	}
	c.mu.Unlock()
	err := c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
	if err == nil && lost != nil {
		return lost
	}
	return err
}

// lose makes the answers of method come back as err (nil: as they are).
func (c *lossyConn) lose(method string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.method, c.lost = method, err
}

// TestWriteOfUnknownOutcome: a write whose answer is lost (cancelled, past
// its deadline, SpiceDB gone mid-call) may have committed, with no token to
// show for it, so the reads after it that name no consistency of their own
// are fully consistent (they see it if it did) until a write returns a
// token alone again; so for each kind of write (relationships, deletes,
// the schema). A write
// SpiceDB refused changed nothing: reads stay as fresh as the last token.
func TestWriteOfUnknownOutcome(t *testing.T) {
	emb, err := StartEmbedded(t.Context(), EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	conn := &lossyConn{ClientConnInterface: emb.Conn}
	// No head snapshots and no in-process checker: every read goes through
	// gRPC at freshness's consistency.
	s := New(conn, WithSerialWrites(&emb.writes))
	if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	touch := func(t *testing.T, op gatehouse.Operation, rel string) (string, error) {
		t.Helper()
		r, err := gatehouse.ParseRelationship("rel", rel)
		if err != nil {
			t.Fatal(err)
		}
		return s.Write(t.Context(), gatehouse.Write{Updates: []gatehouse.Update{{Op: op, Relationship: r}}})
	}
	read := func(t *testing.T) *v1.Consistency {
		t.Helper()
		req := gatehouse.CheckRequest{Resource: gatehouse.Object{Type: "contractor", ID: "c1"}, Permission: "view", Subject: gatehouse.User("ada")}
		if _, _, err := s.CheckBulk(t.Context(), []gatehouse.CheckRequest{req}, gatehouse.Consistency{}); err != nil {
			t.Fatal(err)
		}
		conn.mu.Lock()
		defer conn.mu.Unlock()
		return conn.read
	}
	wrote := func(t *testing.T, rel string) string {
		t.Helper()
		tok, err := touch(t, gatehouse.Touch, rel)
		if err != nil {
			t.Fatal(err)
		}
		if c := read(t); c.GetAtLeastAsFresh().GetToken() != tok {
			t.Fatalf("read after a write that returned %q: %v, want at least as fresh as it", tok, c)
		}
		return tok
	}
	for _, tc := range []struct {
		name, method string
		lost         error
		write        func(t *testing.T) error
	}{
		{"write cancelled", v1.PermissionsService_WriteRelationships_FullMethodName, status.FromContextError(context.Canceled).Err(), func(t *testing.T) error {
			_, err := touch(t, gatehouse.Touch, "contractor:lost#organisation@organisation:o1")
			return err
		}},
		{"delete past its deadline", v1.PermissionsService_DeleteRelationships_FullMethodName, status.FromContextError(context.DeadlineExceeded).Err(), func(t *testing.T) error {
			_, _, err := s.DeleteMatching(t.Context(), []gatehouse.Filter{{ResourceType: "contractor", ResourceID: "before"}}, gatehouse.Audit{})
			return err
		}},
		{"schema with SpiceDB gone", v1.SchemaService_WriteSchema_FullMethodName, status.Error(codes.Unavailable, "connection lost"), func(t *testing.T) error {
			return s.WriteSchema(t.Context(), schema.Text)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wrote(t, "contractor:before#organisation@organisation:o1")
			conn.lose(tc.method, tc.lost)
			err := tc.write(t)
			conn.lose("", nil)
			if err == nil {
				t.Fatal("the lost answer was not an error")
			}
			if c := read(t); !c.GetFullyConsistent() {
				t.Fatalf("read after a write of unknown outcome (%v): %v, want fully consistent", err, c)
			}
			if c := read(t); !c.GetFullyConsistent() {
				t.Fatalf("second read after it: %v, want fully consistent still", c)
			}
			wrote(t, "contractor:after#organisation@organisation:o1")
		})
	}
	t.Run("refused", func(t *testing.T) {
		tok := wrote(t, "contractor:taken#organisation@organisation:o1")
		if _, err := touch(t, gatehouse.Create, "contractor:taken#organisation@organisation:o1"); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Fatalf("creating what exists: %v, want a conflict", err)
		}
		if c := read(t); c.GetAtLeastAsFresh().GetToken() != tok {
			t.Fatalf("read after a refused write: %v, want at least as fresh as %q still", c, tok)
		}
	})
}

// TestWriteWaitEndsWithContext: a write waiting for another to finish
// gives up when its context ends, with the error a deadline or a
// cancellation gets anywhere in the adapter, and writes nothing; once the
// other write is done, writes go through again.
func TestWriteWaitEndsWithContext(t *testing.T) {
	emb, err := StartEmbedded(t.Context(), EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	s := New(emb.Conn, emb.Options()...)
	if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	rel, err := gatehouse.ParseRelationship("rel", "contractor:waited#organisation@organisation:o1")
	if err != nil {
		t.Fatal(err)
	}
	w := gatehouse.Write{Updates: []gatehouse.Update{{Relationship: rel}}}
	// A write that hangs holds the lock every Store over this SpiceDB shares.
	emb.writes.Lock()
	held := true
	defer func() {
		if held {
			emb.writes.Unlock()
		}
	}()
	write := func(ctx context.Context) error {
		done := make(chan error, 1)
		go func() {
			_, err := s.Write(ctx, w)
			done <- err
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("the write still waits for the lock 5s on")
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = write(ctx)
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Code != gatehouse.EUNAVAILABLE || ge.RetryAfter == 0 {
		t.Fatalf("a write past its deadline while another holds the lock: %v, want unavailable with a Retry-After", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("it gave up after %v, want about 50ms", d)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if err := write(ctx); gatehouse.ErrorCode(err) != gatehouse.ECANCELED {
		t.Fatalf("a cancelled write while another holds the lock: %v, want canceled", err)
	}
	emb.writes.Unlock()
	held = false
	got, _, err := s.ReadRelationships(t.Context(), gatehouse.Filter{ResourceType: "contractor", ResourceID: "waited"}, gatehouse.Consistency{FullyConsistent: true})
	if err != nil || len(got) != 0 {
		t.Fatalf("after the writes gave up: %v, %v; want nothing written", got, err)
	}
	if err := write(t.Context()); err != nil {
		t.Fatalf("a write once the lock is free: %v", err)
	}
}
