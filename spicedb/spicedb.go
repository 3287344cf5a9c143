package spicedb

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/gatehouse-authz/gatehouse"
)

var _ gatehouse.Store = (*SpiceDB)(nil)

// Checker answers a single check without going through gRPC. The embedded
// mode supplies one (pkg/embedded); its answers are always at the head
// revision, so they see every write already made.
type Checker interface {
	Check(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, error)
}

// SpiceDB is a gatehouse.Store backed by SpiceDB's v1 API.
type SpiceDB struct {
	perms  v1.PermissionsServiceClient
	schema v1.SchemaServiceClient
	watch  v1.WatchServiceClient
	fast   Checker
	// observe records the latency of every SpiceDB call, by method.
	observe func(method string, d time.Duration, err error)

	fresh freshness
	// expired knows the expirations written, to read past SpiceDB's cache
	// after one passes (expiryGrace).
	expired expiries
	// head, when set, names the datastore's head snapshot as a ZedToken;
	// see withHeadSnapshots.
	head func(context.Context) (string, error)
	// changes counts and tells what changed (Feed): shared by every
	// Store over one embedded memory datastore.
	changes *changes
	// follow keeps the snapshot reads go to from the Watch stream the
	// audit consumer follows; nil on embedded memory, whose head is exact.
	follow *follower
	// coalesce sends checks at the snapshot together when many wait.
	coalesce coalescer
	// audit, once an AuditConsumer runs, makes writes wait for their record.
	audit atomic.Pointer[auditState]

	// writeMu makes writes one at a time; see WithSerialWrites. A writer
	// waits for it only as long as its context lasts (see beginWrite).
	writeMu *sync.Mutex
	// cursorKey signs list cursors; see WithCursorKey.
	cursorKey []byte
}

// Option configures a SpiceDB store.
type Option func(*SpiceDB)

// WithChecker answers checks that need no older snapshot through c.
func WithChecker(c Checker) Option { return func(s *SpiceDB) { s.fast = c } }

// withHeadSnapshots makes every read that names no consistency of its own
// (or asks to be fully consistent) read at the exact snapshot head names:
// for the embedded memory datastore, which only this process writes, the
// head is the last write, so such a read sees every write that returned,
// and SpiceDB's caches, keyed by revision, last until the next write.
func withHeadSnapshots(head func(context.Context) (string, error)) Option {
	return func(s *SpiceDB) { s.head = head }
}

// withChanges shares c among the Stores over one embedded memory
// datastore: a write through any of them is a change for all.
func withChanges(c *changes) Option { return func(s *SpiceDB) { s.changes = c } }

// WithSerialWrites makes every Store that is given mu send one write at a
// time with all the others. Every Store sends its own writes one at a time
// anyway (so that the last write's token bounds them all, for
// read-your-writes); SpiceDB's memory datastore needs more: it picks a write's revision before it waits
// for the write lock, so two concurrent writes can commit out of revision
// order, and a read at the head revision then misses the later-committed
// one (seen here as a failed read-your-writes check). The memory datastore
// runs one write transaction at a time anyway, so nothing is lost. mu is
// shared by every Store over the same datastore: a lock of one Store's own
// would leave two Stores (two tests, or a Store and the seed loader) free
// to commit out of order.
func WithSerialWrites(mu *sync.Mutex) Option { return func(s *SpiceDB) { s.writeMu = mu } }

// WithCursorKey signs the cursors of lists (HMAC-SHA256) with key, at
// least 32 random bytes, so that a cursor a caller edited, cut short or
// got from a server with another key is refused as invalid. Give every
// replica the same key: a cursor from one then continues on another.
// Without it (or with an empty key) New draws a key of its own, and its
// cursors work only on that Store.
func WithCursorKey(key []byte) Option {
	return func(s *SpiceDB) { s.cursorKey = bytes.Clone(key) }
}

// WithObserver calls f after every SpiceDB call with its method name, duration and error.
func WithObserver(f func(method string, d time.Duration, err error)) Option {
	return func(s *SpiceDB) { s.observe = f }
}

// New returns a Store that talks to SpiceDB over conn.
func New(conn grpc.ClientConnInterface, opts ...Option) *SpiceDB {
	s := &SpiceDB{
		perms:   v1.NewPermissionsServiceClient(conn),
		schema:  v1.NewSchemaServiceClient(conn),
		watch:   v1.NewWatchServiceClient(conn),
		observe: func(string, time.Duration, error) {},
	}
	for _, o := range opts {
		o(s)
	}
	if len(s.cursorKey) == 0 {
		s.cursorKey = make([]byte, 32)
		_, _ = rand.Read(s.cursorKey) // never fails (crypto/rand)
	}
	if s.changes == nil {
		s.changes = &changes{}
	}
	if s.head == nil && s.fast == nil {
		// Every shape but embedded memory: the audit consumer's Watch
		// stream keeps the snapshot reads go to (see follower).
		s.follow = &follower{}
	}
	if s.writeMu == nil {
		// Writes one at a time, so the last write's token bounds every
		// write this Store made (read-your-writes; see freshness).
		s.writeMu = new(sync.Mutex)
	}
	return s
}

// timed reports one SpiceDB call, begun at start, to the observer.
func (s *SpiceDB) timed(method string, start time.Time, err error) {
	s.observe(method, time.Since(start), err)
}
