package spicedb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/authzed/grpcutil"
	spicedbcmd "github.com/authzed/spicedb/pkg/cmd"
	dscfg "github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"github.com/authzed/spicedb/pkg/datalayer"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/embedded"
	"github.com/authzed/spicedb/pkg/zedtoken"
	"google.golang.org/grpc"

	"github.com/gatehouse-authz/gatehouse"
)

// Embedded is a SpiceDB running inside this process: the full v1 API on an
// in-memory gRPC listener (no network port of its own) and SpiceDB's
// in-process check engine on the same datastore.
type Embedded struct {
	Conn    *grpc.ClientConn
	Checker *EngineChecker

	ds     datastore.Datastore
	memory bool
	// writes serialises the writes of every Store over this SpiceDB on the
	// memory datastore (WithSerialWrites); changes tells their writes to
	// every Store's Feed, shared so that a write through one is a change
	// for all.
	writes  sync.Mutex
	changes changes
	stop    context.CancelFunc
	done    chan error
	// closed makes Close once; closeErr is its answer to every call.
	closed   sync.Once
	closeErr error
}

// WatchHeartbeat is how often SpiceDB's Watch API sends a checkpoint when
// nothing changes; on Postgres, how often it looks for changes. A write
// waits for its audit record about half of it on average. Run a remote
// SpiceDB with --watch-api-heartbeat=100ms for the same.
const WatchHeartbeat = 100 * time.Millisecond

// EmbeddedConfig configures an embedded SpiceDB.
type EmbeddedConfig struct {
	// Datastore is "memory" or a postgres:// URI.
	Datastore string
	// Timeout bounds every call, as Dial's timeout bounds a remote one
	// (GATEHOUSE_SPICEDB_TIMEOUT): a call to the in-process engine or the
	// in-memory gRPC server that takes longer fails as 503. Zero: no bound
	// beyond the caller's context.
	Timeout time.Duration
	// GCWindow is how far back SpiceDB keeps revisions readable
	// (--datastore-gc-window): a Watch resumed from an older revision is
	// refused. Zero keeps SpiceDB's 24 h; tests shorten it to reach past it.
	GCWindow time.Duration
	// scan leaves the memory datastore without Gatehouse's index, as
	// SpiceDB ships it: for BenchmarkCheckScaling's comparison only.
	scan bool
}

// StartEmbedded starts SpiceDB in-process on the configured datastore,
// running Postgres migrations first when the datastore is Postgres.
// Telemetry is off. Close stops it.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	opts := []dscfg.ConfigOption{dscfg.DefaultDatastoreConfig().ToOption()}
	if cfg.Datastore != "" && cfg.Datastore != "memory" {
		if err := migratePostgres(ctx, cfg.Datastore); err != nil {
			return nil, err
		}
		opts = append(opts, dscfg.WithEngine("postgres"), dscfg.WithURI(cfg.Datastore))
	}
	if w := cfg.GCWindow; w > 0 {
		// SpiceDB refuses a quantization interval longer than the window
		// (5 s by default), and collects every 3 min by default.
		opts = append(opts, dscfg.WithGCWindow(w), dscfg.WithGCInterval(min(w/2, 3*time.Minute)),
			dscfg.WithRevisionQuantization(min(w/4, 5*time.Second)))
	}
	ds, err := dscfg.NewDatastore(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening the SpiceDB datastore: %w", err)
	}
	memory := cfg.Datastore == "" || cfg.Datastore == "memory"
	if memory && !cfg.scan {
		// The memory datastore finds a resource's relationships by scanning
		// its relation; the index finds them by id (see indexedMemory).
		ds = newIndexedMemory(ds)
	}
	// The key guards nothing (the listener is in-memory) but SpiceDB requires one.
	const key = "gatehouse-embedded"
	srvCfg := server.NewConfigWithOptionsAndDefaults(
		server.WithPresharedSecureKey(key),
		server.WithDatastore(ds),
		server.WithGRPCServer(util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}),
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
		server.WithSilentlyDisableTelemetry(true),
		server.WithTelemetryEndpoint(""),
		// Writes wait for their audit record (X2), which Postgres's Watch
		// polls for once per heartbeat when idle (1 s by default).
		server.WithWatchHeartbeat(WatchHeartbeat),
		// The unified schema store lets the in-process checker cache the
		// compiled schema; in the legacy mode it re-reads and unmarshals
		// every namespace on every dispatch (measured: 1.5 ms per check
		// against 0.23 ms through gRPC). Writing both keeps legacy readers working.
		server.WithExperimentalSchemaMode(datalayer.SchemaModeReadNewWriteBoth.String()),
	)
	runnable, err := srvCfg.Complete(ctx)
	if err != nil {
		_ = ds.Close()
		return nil, fmt.Errorf("configuring embedded SpiceDB: %w", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{ds: ds, memory: memory, stop: stop, done: make(chan error, 1)}
	go func() { e.done <- runnable.Run(runCtx) }()
	conn, err := runnable.NewClient(append([]grpc.DialOption{grpcutil.WithInsecureBearerToken(key)}, deadlines(cfg.Timeout)...)...)
	if err != nil {
		stop()
		return nil, fmt.Errorf("connecting to embedded SpiceDB: %w", err)
	}
	e.Conn = conn
	perms, err := embedded.NewPermissions(embedded.Config{
		Datastore:               ds,
		SchemaMode:              datalayer.SchemaModeReadNewWriteBoth,
		SchemaCacheMaxCostBytes: 16 << 20,
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("starting SpiceDB's in-process check engine: %w", err)
	}
	e.Checker = &EngineChecker{perms: perms, timeout: cfg.Timeout}
	return e, nil
}

// Options are the Store options an embedded SpiceDB needs. On the memory
// datastore, which only this process writes: its in-process checker,
// serial writes (see WithSerialWrites), one Feed for every Store over it
// (a write through any is a change for all; proxy.Cached keeps answers by
// it) and reads at the head snapshot (withHeadSnapshots).
// On Postgres other processes may write, and the in-process engine, with
// no dispatch cache and at the head revision, would compute every check
// afresh (measured: 677 checks/s of one repeated check against 6,083
// through SpiceDB's gRPC API, which caches at its quantised revision):
// checks go through the gRPC API like every other call.
func (e *Embedded) Options() []Option {
	if !e.memory {
		return nil
	}
	// One lock and one cache for every Store over this SpiceDB: a write
	// through any of them must order and invalidate for all.
	return []Option{WithChecker(e.Checker), WithSerialWrites(&e.writes), withChanges(&e.changes), withHeadSnapshots(e.headToken)}
}

// headToken is a ZedToken of the datastore's head snapshot, with the schema
// hash SpiceDB keys its schema cache by. (SpiceDB's own write tokens carry
// none, so a read at least as fresh as a write re-reads and decodes the
// stored schema at every dispatch: 39% of a lookup's CPU, measured.)
func (e *Embedded) headToken(ctx context.Context) (string, error) {
	h, err := e.ds.HeadRevision(ctx)
	if err != nil {
		return "", err
	}
	if h.SchemaHash == "" {
		return "", errors.New("no schema yet")
	}
	tok, err := zedtoken.NewFromRevision(ctx, h.Revision, datalayer.SchemaHash(h.SchemaHash), e.ds)
	if err != nil {
		return "", err
	}
	return tok.GetToken(), nil
}

// Close stops the embedded SpiceDB and closes its datastore. Only the
// first call does: every later one returns its answer at once.
func (e *Embedded) Close() error {
	e.closed.Do(func() { e.closeErr = e.close() })
	return e.closeErr
}

func (e *Embedded) close() error {
	err := e.Conn.Close()
	err = errors.Join(err, e.Checker.perms.Close())
	e.stop()
	select {
	case runErr := <-e.done:
		// Stopped before it served (a Close right after the start), the
		// server says so: that is a stop as asked, not a failure.
		if runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, grpc.ErrServerStopped) {
			err = errors.Join(err, runErr)
		}
	case <-time.After(10 * time.Second):
		err = errors.Join(err, errors.New("embedded SpiceDB did not stop within 10s"))
	}
	if e.memory {
		// A check's goroutines can outlive it (SpiceDB's exclusion runs the
		// subtracted branch on its own and abandons it once the base
		// decides), and a closed memdb panics on the next read instead of
		// failing it. Memory holds nothing to flush: leave it to the GC.
		return err
	}
	return errors.Join(err, e.ds.Close())
}

// EngineChecker answers checks with SpiceDB's in-process engine
// (pkg/embedded), at the head revision of the datastore.
type EngineChecker struct {
	perms   *embedded.Permissions
	timeout time.Duration
}

// Check implements Checker, within the embedded SpiceDB's Timeout.
func (c *EngineChecker) Check(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	res, err := c.perms.Check(ctx, embedded.CheckRequest{
		ResourceType:    req.Resource.Type,
		ResourceID:      req.Resource.ID,
		Permission:      req.Permission,
		SubjectType:     req.Subject.Type,
		SubjectID:       req.Subject.ID,
		SubjectRelation: req.Subject.Relation,
		CaveatContext:   req.Context,
	})
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The engine reports an expired context as Canceled; it is the
			// deadline, a 503 to retry, not a caller who went away.
			return gatehouse.CheckResult{}, translate(fmt.Errorf("%w: %w", context.DeadlineExceeded, err))
		}
		return gatehouse.CheckResult{}, engineError(err)
	}
	return gatehouse.CheckResult{Allowed: res.HasPermission, Conditional: res.IsConditional, MissingContext: res.MissingContext}, nil
}

func migratePostgres(ctx context.Context, uri string) error {
	cmd := spicedbcmd.NewMigrateCommand("gatehouse")
	spicedbcmd.RegisterMigrateFlags(cmd)
	// SpiceDB's pre-run sets up its own logging from root-command flags we do not have.
	cmd.PreRunE = nil
	cmd.SetArgs([]string{"head", "--datastore-engine=postgres", "--datastore-conn-uri=" + uri})
	cmd.SilenceUsage = true
	if err := cmd.ExecuteContext(ctx); err != nil {
		return fmt.Errorf("migrating the Postgres datastore: %w", err)
	}
	return nil
}
