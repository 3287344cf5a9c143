package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/authzed/grpcutil"
	"github.com/authzed/spicedb/pkg/testutil/sdbtestcontainer"
	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse-authz/gatehouse/schema"
)

// SpiceDBAlias is the name the SpiceDB container answers to on its
// network: Gatehouse in a container reaches it at SpiceDBAlias:50051.
const SpiceDBAlias = "spicedb"

// hostGateway is how a container reaches the Docker host.
const hostGateway = "host.docker.internal"

// spicedbConfig is what the Options say.
type spicedbConfig struct {
	image         string
	key           string
	schema        string
	relationships []string
	postgresURI   string
	network       *testcontainers.DockerNetwork
	customizers   []testcontainers.ContainerCustomizer
	// logger receives testcontainers' output for every container started.
	logger testcontainers.ContainerCustomizer
}

// Option configures the SpiceDB that StartSpiceDB and MustSpiceDB start.
type Option func(*spicedbConfig)

// WithImage runs img instead of SpiceDBImage().
func WithImage(img string) Option {
	return func(c *spicedbConfig) { c.image = img }
}

// WithPresharedKey sets SpiceDB's preshared key (default: a random one).
func WithPresharedKey(key string) Option {
	return func(c *spicedbConfig) { c.key = key }
}

// WithSchema writes schema instead of Gatehouse's (schema.Text).
func WithSchema(s string) Option {
	return func(c *spicedbConfig) { c.schema = s }
}

// WithRelationships writes the relationships ("organisation:acme#owner@user:alice")
// once the schema is written.
func WithRelationships(rels ...string) Option {
	return func(c *spicedbConfig) { c.relationships = append(c.relationships, rels...) }
}

// WithPostgres runs SpiceDB on the Postgres database at uri, as the host
// sees it; a host of localhost or 127.0.0.1 becomes host.docker.internal
// inside the container. The database is migrated to the image's version
// first (spicedb migrate head, in a container of its own). See
// MustPostgresDatabase for a fresh database per test.
func WithPostgres(uri string) Option {
	return func(c *spicedbConfig) { c.postgresURI = uri }
}

// WithNetwork attaches SpiceDB to nw instead of a network of its own; the
// caller removes nw.
func WithNetwork(nw *testcontainers.DockerNetwork) Option {
	return func(c *spicedbConfig) { c.network = nw }
}

// WithCustomizers passes testcontainers customizers (testcontainers.WithEnv
// with SPICEDB_* flags, say) on to the SpiceDB container.
func WithCustomizers(cs ...testcontainers.ContainerCustomizer) Option {
	return func(c *spicedbConfig) { c.customizers = append(c.customizers, cs...) }
}

// SpiceDB is a SpiceDB server in a container with a schema written.
type SpiceDB struct {
	// Container is SpiceDB's official testcontainers module.
	Container *sdbtestcontainer.Container
	// Network is the Docker network SpiceDB is on, as SpiceDBAlias.
	Network *testcontainers.DockerNetwork
	// Key is the gRPC preshared key.
	Key string
	// Image is the image it runs.
	Image string
	// Datastore is "memory", or the Postgres URI as the container sees it.
	Datastore string

	ownNetwork bool
}

// NetworkEndpoint returns the gRPC address of SpiceDB on its Docker
// network ("spicedb:50051"), for containers on that network.
func (s *SpiceDB) NetworkEndpoint() string { return net.JoinHostPort(SpiceDBAlias, "50051") }

// Endpoint returns the gRPC address of SpiceDB from the host (host:port).
// The published port changes when the container restarts, so ask again
// after Restart.
func (s *SpiceDB) Endpoint(ctx context.Context) (string, error) {
	host, err := s.Container.Host(ctx)
	if err != nil {
		return "", fmt.Errorf("spicedb host: %w", err)
	}
	port, err := s.Container.MappedPort(ctx, "50051/tcp")
	if err != nil {
		return "", fmt.Errorf("spicedb port: %w", err)
	}
	return net.JoinHostPort(host, port.Port()), nil
}

// Dial returns a gRPC connection to SpiceDB from the host, authenticated
// with its key, for authzed-go's service clients. The caller closes it.
func (s *SpiceDB) Dial(ctx context.Context) (*grpc.ClientConn, error) {
	ep, err := s.Endpoint(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(ep,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpcutil.WithInsecureBearerToken(s.Key))
	if err != nil {
		return nil, fmt.Errorf("dial spicedb at %s: %w", ep, err)
	}
	return conn, nil
}

// Stop stops the container gracefully (SIGTERM, then SIGKILL after
// timeout); its datastore stays, which on Postgres keeps the data.
func (s *SpiceDB) Stop(ctx context.Context, timeout time.Duration) error {
	if err := s.Container.Stop(ctx, &timeout); err != nil {
		return fmt.Errorf("stop spicedb: %w", err)
	}
	return nil
}

// Start starts a stopped container again and waits until SpiceDB serves.
func (s *SpiceDB) Start(ctx context.Context) error {
	if err := s.Container.Start(ctx); err != nil {
		return fmt.Errorf("start spicedb: %w", err)
	}
	return s.WaitServing(ctx, time.Minute)
}

// Restart stops the container and starts it again.
func (s *SpiceDB) Restart(ctx context.Context, timeout time.Duration) error {
	if err := s.Stop(ctx, timeout); err != nil {
		return err
	}
	return s.Start(ctx)
}

// WaitServing waits up to timeout until SpiceDB's gRPC health service
// says SERVING, asked from the host. (After a restart the log line the
// module waits for is already in the log, so it cannot be waited on.)
func (s *SpiceDB) WaitServing(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		last = s.healthy(ctx)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("spicedb not serving after %v: %w", timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *SpiceDB) healthy(ctx context.Context) error {
	conn, err := s.Dial(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health: %v", resp.GetStatus())
	}
	return nil
}

// Terminate removes the container, and the network when StartSpiceDB made it.
func (s *SpiceDB) Terminate(ctx context.Context) error {
	var err error
	if s.Container != nil {
		err = testcontainers.TerminateContainer(s.Container)
	}
	if s.ownNetwork && s.Network != nil {
		err = errors.Join(err, s.Network.Remove(ctx))
	}
	return err
}

// StartSpiceDB starts SpiceDB in a container on a Docker network, with
// Gatehouse's schema (and any relationships of the options) written, and
// waits until it serves. The caller calls Terminate; tests use MustSpiceDB.
func StartSpiceDB(ctx context.Context, opts ...Option) (*SpiceDB, error) {
	cfg := spicedbConfig{image: SpiceDBImage(), schema: schema.Text}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.key == "" {
		cfg.key = randomHex(16)
	}
	s := &SpiceDB{Key: cfg.key, Image: cfg.image, Datastore: "memory", Network: cfg.network}
	if s.Network == nil {
		nw, err := network.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("create docker network: %w", err)
		}
		s.Network, s.ownNetwork = nw, true
	}
	label, withLabel := startLabel()
	fail := func(err error) (*SpiceDB, error) {
		cctx := context.WithoutCancel(ctx)
		return nil, errors.Join(err, removeLabelled(cctx, label), s.Terminate(cctx))
	}

	// common goes to every container of this start.
	common := []testcontainers.ContainerCustomizer{withLabel}
	if cfg.logger != nil {
		common = append(common, cfg.logger)
	}
	custom := []testcontainers.ContainerCustomizer{
		sdbtestcontainer.WithPresharedKeys(cfg.key),
		sdbtestcontainer.WithBootstrapSchema(cfg.schema),
		network.WithNetwork([]string{SpiceDBAlias}, s.Network),
		// No call out to GitHub at start; telemetry is off in the module.
		testcontainers.WithEnv(map[string]string{"SPICEDB_SKIP_RELEASE_CHECK": "true", "SPICEDB_WATCH_API_HEARTBEAT": "100ms"}),
	}
	if len(cfg.relationships) > 0 {
		custom = append(custom, sdbtestcontainer.WithBootstrapRelationships(cfg.relationships...))
	}
	if cfg.postgresURI != "" {
		inside, err := containerURI(cfg.postgresURI)
		if err != nil {
			return fail(err)
		}
		if err := migrate(ctx, cfg.image, inside, s.Network, common...); err != nil {
			return fail(err)
		}
		s.Datastore = inside
		custom = append(custom, sdbtestcontainer.WithDatastore("postgres", inside), withHostGateway())
	}
	custom = append(append(custom, common...), cfg.customizers...)

	c, err := sdbtestcontainer.Run(ctx, cfg.image, custom...)
	if err != nil {
		return fail(hint(fmt.Errorf("start spicedb (%s): %w", cfg.image, err), cfg.image, EnvSpiceDBImage))
	}
	s.Container = c
	return s, nil
}

// MustSpiceDB starts SpiceDB as StartSpiceDB does and removes it when the
// test ends. Without Docker it skips the test (fails it under CI=true).
func MustSpiceDB(tb testing.TB, opts ...Option) *SpiceDB {
	tb.Helper()
	RequireDocker(tb)
	withLog := func(c *spicedbConfig) { c.logger = testLogger(tb) }
	s, err := StartSpiceDB(tb.Context(), append([]Option{withLog}, opts...)...)
	if err != nil {
		tb.Fatalf("integration: %v", err)
	}
	// Cleanups run last first: the logs, the container, then the network.
	if s.ownNetwork {
		testcontainers.CleanupNetwork(tb, s.Network)
	}
	testcontainers.CleanupContainer(tb, s.Container)
	logOnFailure(tb, "spicedb", s.Container)
	return s
}

// withHostGateway lets the container reach the Docker host as
// host.docker.internal (Docker 20.10 and later).
func withHostGateway() testcontainers.CustomizeRequestOption {
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		hc.ExtraHosts = append(hc.ExtraHosts, hostGateway+":host-gateway")
	})
}

// containerURI rewrites a Postgres URI as the host sees it into one a
// container reaches: the host's loopback is host.docker.internal there.
func containerURI(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("postgres URI: %w", err)
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1", "":
		port := u.Port()
		if port == "" {
			port = "5432"
		}
		u.Host = net.JoinHostPort(hostGateway, port)
	}
	return u.String(), nil
}

// migrate runs `spicedb migrate head` on the Postgres at uri in a
// container of image, and returns its output when it fails.
func migrate(ctx context.Context, image, uri string, nw *testcontainers.DockerNetwork, common ...testcontainers.ContainerCustomizer) error {
	c, err := testcontainers.Run(ctx, image, append([]testcontainers.ContainerCustomizer{
		testcontainers.WithCmd("migrate", "head"),
		testcontainers.WithEnv(map[string]string{
			"SPICEDB_DATASTORE_ENGINE":   "postgres",
			"SPICEDB_DATASTORE_CONN_URI": uri,
		}),
		network.WithNetwork([]string{"spicedb-migrate"}, nw),
		withHostGateway(),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(2 * time.Minute)),
	}, common...)...)
	defer func() { _ = testcontainers.TerminateContainer(c) }()
	if err != nil {
		return hint(fmt.Errorf("spicedb migrate head (%s): %w", image, err), image, EnvSpiceDBImage)
	}
	st, err := c.State(ctx)
	if err != nil {
		return fmt.Errorf("spicedb migrate head: %w", err)
	}
	if st.ExitCode != 0 {
		return fmt.Errorf("spicedb migrate head exited %d:\n%s", st.ExitCode, containerLogs(ctx, c, 20))
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
