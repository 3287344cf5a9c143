package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dscfg "github.com/authzed/spicedb/pkg/cmd/datastore"
	sdbserver "github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// envShape picks the shape of Gatehouse and SpiceDB the HTTP tests run
// against (issue 19: one suite, every shape).
const envShape = "GATEHOUSE_TEST_SHAPE"

// The shapes: SpiceDB embedded or remote, on memory or Postgres.
const (
	// shapeEmbeddedMemory is the default: embedded SpiceDB on its memory datastore.
	shapeEmbeddedMemory = "embedded-memory"
	// shapeEmbeddedPostgres is embedded SpiceDB on a fresh Postgres database per test.
	shapeEmbeddedPostgres = "embedded-postgres"
	// shapeRemoteMemory is one `spicedb serve-testing` container per test
	// binary, a memory datastore per test (its bearer token).
	shapeRemoteMemory = "remote-memory"
	// shapeRemotePostgres is a SpiceDB server over TCP on a fresh Postgres
	// database per test, with two Gatehouse replicas on one durable audit
	// trail behind one client that takes turns between them.
	shapeRemotePostgres = "remote-postgres"
)

// spicedbTimeout is GATEHOUSE_SPICEDB_TIMEOUT's default, as serve uses it.
const spicedbTimeout = 5 * time.Second

// testShape is the shape of this test binary's run.
func testShape(tb testing.TB) string {
	tb.Helper()
	switch s := os.Getenv(envShape); s {
	case "", shapeEmbeddedMemory:
		return shapeEmbeddedMemory
	case shapeEmbeddedPostgres, shapeRemoteMemory, shapeRemotePostgres:
		return s
	default:
		tb.Fatalf("%s=%q: want %s, %s, %s or %s", envShape, s, shapeEmbeddedMemory, shapeEmbeddedPostgres, shapeRemoteMemory, shapeRemotePostgres)
		return ""
	}
}

// skipInShape skips the test in shape, saying why; elsewhere it runs.
func skipInShape(tb testing.TB, shape, why string) {
	tb.Helper()
	if testShape(tb) == shape {
		tb.Skipf("not in the %s shape: %s", shape, why)
	}
}

// mustStores starts the SpiceDB of the test's shape and returns one
// Store per Gatehouse replica (two in remote-postgres, else one), each
// with the schema written and its audit consumer running.
func mustStores(tb testing.TB, observe func(i int) spicedb.Option) []*spicedb.SpiceDB {
	tb.Helper()
	start := time.Now()
	defer func() {
		tb.Logf("%s: Gatehouse and SpiceDB ready in %v", testShape(tb), time.Since(start).Round(time.Millisecond))
	}()
	ctx := tb.Context()
	switch testShape(tb) {
	case shapeEmbeddedPostgres:
		uri := integration.MustPostgresDatabaseFrom(tb, mustTemplate(tb))
		emb, err := spicedb.StartEmbedded(ctx, spicedb.EmbeddedConfig{Datastore: uri})
		if err != nil {
			tb.Fatalf("starting embedded SpiceDB on Postgres: %v", err)
		}
		tb.Cleanup(func() { _ = emb.Close() })
		return []*spicedb.SpiceDB{newStore(tb, emb.Conn, "", append(emb.Options(), observe(0))...)}
	case shapeRemoteMemory:
		// serve-testing keeps a memory datastore per bearer token.
		conn := mustDial(tb, mustTestingSpiceDB(tb), randomKey())
		return []*spicedb.SpiceDB{newStore(tb, conn, "", observe(0))}
	case shapeRemotePostgres:
		target, key := mustSpiceDBServer(tb, integration.MustPostgresDatabaseFrom(tb, mustTemplate(tb)))
		trail := integration.MustPostgresDatabase(tb)
		return []*spicedb.SpiceDB{
			newStore(tb, mustDial(tb, target, key), trail, observe(0)),
			newStore(tb, mustDial(tb, target, key), trail, observe(1)),
		}
	default:
		emb, err := spicedb.StartEmbedded(ctx, spicedb.EmbeddedConfig{Datastore: "memory"})
		if err != nil {
			tb.Fatalf("starting embedded SpiceDB: %v", err)
		}
		tb.Cleanup(func() { _ = emb.Close() })
		return []*spicedb.SpiceDB{newStore(tb, emb.Conn, "", append(emb.Options(), observe(0))...)}
	}
}

// testCursorKey signs every replica's cursors, the store's and the API's,
// as GATEHOUSE_CURSOR_KEY does in production: a cursor one replica hands
// out continues on the other.
var testCursorKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}()

// newStore is one Gatehouse replica's Store over conn, with the schema
// written and its audit consumer running until the test ends: on the
// durable trail in the Postgres database at trailURI, shared by every
// replica, or ("") in memory. The one place the harness wires the audit
// trail (X2): as cmd/gatehouse/serve.go does.
func newStore(tb testing.TB, conn grpc.ClientConnInterface, trailURI string, opts ...spicedb.Option) *spicedb.SpiceDB {
	tb.Helper()
	var trail gatehouse.AuditTrail = audit.NewMemory(audit.DefaultMemoryEvents)
	if trailURI != "" {
		pg, err := audit.OpenPostgres(tb.Context(), trailURI)
		if err != nil {
			tb.Fatalf("opening the audit database: %v", err)
		}
		tb.Cleanup(pg.Close)
		trail = pg
	}
	store := spicedb.New(conn, append(opts, spicedb.WithCursorKey(testCursorKey))...)
	conns.Store(store, conn)
	if err := store.WriteSchema(tb.Context(), schema.Text); err != nil {
		tb.Fatalf("writing schema: %v", err)
	}
	// The audit trail is what SpiceDB's Watch API brings back (X2).
	consumer, err := spicedb.StartAudit(context.Background(), store, trail, spicedb.AuditConfig{})
	if err != nil {
		tb.Fatalf("starting the audit consumer: %v", err)
	}
	tb.Cleanup(consumer.Stop)
	trails.Store(store, replicaAudit{trail, consumer})
	return store
}

// replicaAudit is a replica's audit trail and the consumer that fills it.
type replicaAudit struct {
	trail    gatehouse.AuditTrail
	consumer *spicedb.AuditConsumer
}

// trails maps each Store newStore made to its replicaAudit.
var trails sync.Map

// conns maps each Store newStore made to its connection to SpiceDB, for
// tests that ask SpiceDB itself, past Gatehouse (the never-stale oracle).
var conns sync.Map

// connOf returns the connection newStore gave store.
func connOf(tb testing.TB, store *spicedb.SpiceDB) grpc.ClientConnInterface {
	tb.Helper()
	c, ok := conns.Load(store)
	if !ok {
		tb.Fatal("the Store was not made by newStore: no connection to SpiceDB known")
	}
	conn, _ := c.(grpc.ClientConnInterface)
	return conn
}

// auditOf returns the audit trail and consumer newStore gave store.
func auditOf(store *spicedb.SpiceDB) replicaAudit {
	a, _ := trails.Load(store)
	ra, _ := a.(replicaAudit)
	return ra
}

// mustDial connects to a remote SpiceDB as `gatehouse serve` does with
// GATEHOUSE_SPICEDB_INSECURE=true and the default timeout.
func mustDial(tb testing.TB, target, key string) *grpc.ClientConn {
	tb.Helper()
	conn, err := spicedb.Dial(target, key, true, spicedbTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// binary holds what the test binary starts once and TestMain removes.
var binary struct {
	templateOnce sync.Once
	template     string
	dropTemplate func(context.Context) error
	templateErr  error

	testingOnce sync.Once
	testing     *integration.TestingSpiceDB
	testingErr  error
}

// closeShapes removes what the shapes started for the whole binary.
func closeShapes() error {
	var errs []error
	if binary.dropTemplate != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		errs = append(errs, binary.dropTemplate(ctx))
	}
	if binary.testing != nil {
		errs = append(errs, binary.testing.Terminate())
	}
	return errors.Join(errs...)
}

// mustTemplate is the name of a database migrated to SpiceDB's head once
// per test binary; every test's database is a copy of it (CREATE DATABASE
// ... TEMPLATE), which takes a fraction of migrating afresh.
func mustTemplate(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(integration.EnvPostgresURI)
	if base == "" {
		// Skips, or fails under CI=true, saying what to set.
		integration.MustPostgresDatabase(tb)
	}
	binary.templateOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		uri, drop, err := integration.CreateDatabase(ctx, base)
		if err != nil {
			binary.templateErr = err
			return
		}
		binary.dropTemplate = drop
		// StartEmbedded migrates; closing it closes every connection,
		// as Postgres requires of a template. (Its error is the stopped
		// gRPC server's; a connection left open would fail every copy.)
		emb, err := spicedb.StartEmbedded(ctx, spicedb.EmbeddedConfig{Datastore: uri})
		if err != nil {
			binary.templateErr = fmt.Errorf("migrating the template database: %w", err)
			return
		}
		_ = emb.Close()
		u, _ := url.Parse(uri)
		binary.template = strings.TrimPrefix(u.Path, "/")
	})
	if binary.templateErr != nil {
		tb.Fatalf("the template database: %v", binary.templateErr)
	}
	return binary.template
}

// mustTestingSpiceDB is the address of the binary's one `spicedb
// serve-testing` container. Without Docker it skips the test (fails it
// under CI=true).
func mustTestingSpiceDB(tb testing.TB) string {
	tb.Helper()
	integration.RequireDocker(tb)
	binary.testingOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		binary.testing, binary.testingErr = integration.StartTestingSpiceDB(ctx)
	})
	if binary.testingErr != nil {
		tb.Fatalf("%v", binary.testingErr)
	}
	return binary.testing.Endpoint
}

// mustSpiceDBServer starts a SpiceDB server in-process on the Postgres
// database at uri, serving gRPC on a loopback TCP port as a remote node
// does (`spicedb serve`, its defaults), and returns its address and
// preshared key once it serves. (A container per test takes about 2 s to
// start, plus a migration container: over the budget of 2 s per test.)
func mustSpiceDBServer(tb testing.TB, uri string) (target, key string) {
	tb.Helper()
	ctx := tb.Context()
	ds, err := dscfg.NewDatastore(ctx, dscfg.DefaultDatastoreConfig().ToOption(), dscfg.WithEngine("postgres"), dscfg.WithURI(uri))
	if err != nil {
		tb.Fatalf("opening the SpiceDB datastore: %v", err)
	}
	key = randomKey()
	var runnable sdbserver.RunnableServer
	for try := 0; ; try++ {
		target = freeAddr(tb)
		runnable, err = sdbserver.NewConfigWithOptionsAndDefaults(
			sdbserver.WithPresharedSecureKey(key),
			sdbserver.WithDatastore(ds),
			sdbserver.WithGRPCServer(util.GRPCServerConfig{Network: "tcp", Address: target, Enabled: true}),
			sdbserver.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
			sdbserver.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
			sdbserver.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
			sdbserver.WithSilentlyDisableTelemetry(true),
			sdbserver.WithTelemetryEndpoint(""),
			// --watch-api-heartbeat: on Postgres the Watch API looks for
			// new changes once a heartbeat, and a write waits for its
			// audit record to come back through it; at the default 1s
			// every write took up to a second (measured: 86 s for
			// TestReadYourWrites against 2 s).
			sdbserver.WithWatchHeartbeat(100*time.Millisecond),
		).Complete(ctx)
		// Another process may take the port between freeAddr and here.
		if err == nil || try == 5 {
			break
		}
	}
	if err != nil {
		_ = ds.Close()
		tb.Fatalf("configuring SpiceDB: %v", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- runnable.Run(runCtx) }()
	tb.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			_ = err // a stopped server's; the test is over
		case <-time.After(10 * time.Second):
			tb.Errorf("SpiceDB did not stop within 10s")
		}
		_ = ds.Close()
	})
	conn := mustDial(tb, target, key)
	for {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return target, key
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("SpiceDB at %s does not serve: %v", target, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := (&net.ListenConfig{}).Listen(tb.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// balancer is the test's client side in front of several replicas, as an
// application with a load balancer sees Gatehouse: each request goes to
// the next replica in turn, and it carries consistency as a real client
// does: it remembers the ZedToken of its latest write (a body's zedToken or
// the Gatehouse-Zed-Token header) and sends it on every request in the
// Gatehouse-Zed-Token header, unless the request sets that header itself.
//
// A test also writes straight through the first replica's Store (seed.Load,
// API.Touch), which no client sees: before its first request the client
// asks that Store for a token (a check, which reads at least as fresh as
// its writes), and API.setUp hands it the token of each write it makes.
type balancer struct {
	replicas []*url.URL
	// turn counts requests, shared by every session.
	turn  *atomic.Uint64
	mu    sync.Mutex
	token string
	proxy *httputil.ReverseProxy
	// first is the first replica's Store.
	first *spicedb.SpiceDB
}

// newBalancer serves in front of the replicas at urls, the first of which
// serves first, until the test ends; it returns its URL.
func newBalancer(tb testing.TB, urls []string, first *spicedb.SpiceDB) (string, *balancer) {
	tb.Helper()
	b := &balancer{first: first, turn: new(atomic.Uint64)}
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil {
			tb.Fatal(err)
		}
		b.replicas = append(b.replicas, p)
	}
	return b.serve(tb)
}

// session is another client over the same replicas, taking the same
// turns, with a ZedToken of its own: one caller among several at once.
func (b *balancer) session(tb testing.TB) (string, *balancer) {
	tb.Helper()
	return (&balancer{first: b.first, replicas: b.replicas, turn: b.turn}).serve(tb)
}

func (b *balancer) serve(tb testing.TB) (string, *balancer) {
	tb.Helper()
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(b.replicas[(b.turn.Add(1)-1)%uint64(len(b.replicas))])
			if _, own := pr.In.Header[wire.ZedTokenHeader]; !own {
				if tok := b.latest(pr.In.Context()); tok != "" {
					pr.Out.Header.Set(wire.ZedTokenHeader, tok)
				}
			}
		},
		ModifyResponse: b.remember,
		// Streams (the NDJSON export) pass through as they come.
		FlushInterval: -1,
	}
	srv := httptest.NewServer(b.proxy)
	tb.Cleanup(srv.Close)
	return srv.URL, b
}

// latest is the newest token the client holds; before the first answer,
// the first replica's.
func (b *balancer) latest(ctx context.Context) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.token == "" {
		res, err := b.first.Check(ctx, gatehouse.CheckRequest{Resource: gatehouse.Provider, Permission: gatehouse.PermStaffMember, Subject: gatehouse.Subject{Object: gatehouse.Object{Type: gatehouse.TypeUser, ID: "harness"}}})
		if err == nil {
			b.token = res.ZedToken
		}
	}
	return b.token
}

// wrote hands the client the token of a write the test made straight
// through the Store.
func (b *balancer) wrote(tok string) {
	if b == nil || tok == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.token = tok
}

// reads are the POST routes that only read.
var reads = map[string]bool{"/v1/check": true, "/v1/check/bulk": true, "/v1/lookup/resources": true, "/v1/lookup/subjects": true, "/v1/explain": true}

// remember keeps the ZedToken of a successful write. A read's token is
// never newer than the writes the client made, and tokens cannot be
// compared: when callers share the client, a read answered after another
// caller's write would otherwise replace that write's token with an older one.
func (b *balancer) remember(resp *http.Response) error {
	if req := resp.Request; resp.StatusCode >= 300 || req.Method == http.MethodGet || reads[req.URL.Path] {
		return nil
	}
	tok := resp.Header.Get(wire.ZedTokenHeader)
	if tok == "" && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		raw, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		var body struct {
			ZedToken string `json:"zedToken"`
		}
		_ = json.Unmarshal(raw, &body)
		tok = body.ZedToken
	}
	if tok != "" {
		b.mu.Lock()
		b.token = tok
		b.mu.Unlock()
	}
	return nil
}
