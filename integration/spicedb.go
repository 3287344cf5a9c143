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

// SpiceDB is SpiceDB in a container with a schema written: SpiceDB's
// official testcontainers module (sdbtestcontainer), whose methods it
// has (PresharedKey, GRPCEndpoint, and testcontainers.Container's), on a
// Docker network where Gatehouse finds it.
type SpiceDB struct {
	*sdbtestcontainer.Container
	// Network is the Docker network SpiceDB is on, as SpiceDBAlias.
	Network *testcontainers.DockerNetwork
	// Datastore is "memory", or the Postgres URI as the container sees it.
	Datastore string

	grpcEndpoint string
	ownNetwork   bool
}

var _ testcontainers.Container = (*SpiceDB)(nil)

// GRPCEndpoint returns the gRPC address of SpiceDB from the host
// (host:port). Unlike the module's, it stays right when the container
// restarts through Start or Restart, which ask Docker for the new port.
func (s *SpiceDB) GRPCEndpoint() string { return s.grpcEndpoint }

// NetworkEndpoint returns the gRPC address of SpiceDB on its Docker
// network ("spicedb:50051"), for containers on that network.
func (s *SpiceDB) NetworkEndpoint() string { return net.JoinHostPort(SpiceDBAlias, "50051") }

// hostEndpoint asks Docker for SpiceDB's gRPC address from the host.
func (s *SpiceDB) hostEndpoint(ctx context.Context) (string, error) {
	host, err := s.Host(ctx)
	if err != nil {
		return "", fmt.Errorf("spicedb host: %w", err)
	}
	port, err := s.MappedPort(ctx, "50051/tcp")
	if err != nil {
		return "", fmt.Errorf("spicedb port: %w", err)
	}
	return net.JoinHostPort(host, port.Port()), nil
}

// Dial returns a gRPC connection to SpiceDB from the host, authenticated
// with its key, for authzed-go's service clients. The caller closes it.
func (s *SpiceDB) Dial(context.Context) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(s.grpcEndpoint,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpcutil.WithInsecureBearerToken(s.PresharedKey()))
	if err != nil {
		return nil, fmt.Errorf("dial spicedb at %s: %w", s.grpcEndpoint, err)
	}
	return conn, nil
}

// Start starts a stopped container again (after Stop or Kill) and waits
// until SpiceDB serves; its datastore is what it was, which on Postgres
// keeps the data.
func (s *SpiceDB) Start(ctx context.Context) error {
	if err := s.Container.Start(ctx); err != nil {
		return fmt.Errorf("start spicedb: %w", err)
	}
	ep, err := s.hostEndpoint(ctx)
	if err != nil {
		return err
	}
	s.grpcEndpoint = ep
	return s.WaitServing(ctx, time.Minute)
}

// Restart stops the container gracefully (SIGTERM, then SIGKILL after
// timeout) and starts it again.
func (s *SpiceDB) Restart(ctx context.Context, timeout time.Duration) error {
	if err := s.Stop(ctx, &timeout); err != nil {
		return fmt.Errorf("stop spicedb: %w", err)
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

// Terminate removes the container, and the network when RunSpiceDB made
// it.
func (s *SpiceDB) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	var err error
	if s.Container != nil {
		err = testcontainers.TerminateContainer(s.Container, opts...)
	}
	if s.ownNetwork && s.Network != nil {
		err = errors.Join(err, s.Network.Remove(ctx))
	}
	return err
}

// RunSpiceDB starts img (SpiceDBImage() for the official one at the
// pinned version) in a container on a Docker network, with Gatehouse's
// schema written, and waits until it serves; the caller calls Terminate
// (testcontainers.CleanupContainer does, in a test). It takes the options
// of this package for SpiceDB (WithRelationships, WithSchema,
// WithPresharedKey, WithPostgres, WithNetwork), those of SpiceDB's module
// (sdbtestcontainer.WithHTTP, ...) and testcontainers' own
// (testcontainers.WithEnv with SPICEDB_* settings, ...).
func RunSpiceDB(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*SpiceDB, error) {
	set := settingsOf(opts)
	s := &SpiceDB{Datastore: "memory", Network: set.network}
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
	custom := append(bootstrap(set, true),
		network.WithNetwork([]string{SpiceDBAlias}, s.Network),
		// No call out to GitHub at start; telemetry is off in the module.
		testcontainers.WithEnv(map[string]string{"SPICEDB_SKIP_RELEASE_CHECK": "true", "SPICEDB_WATCH_API_HEARTBEAT": "100ms"}),
	)
	if set.postgresURI != "" {
		inside, err := containerURI(set.postgresURI)
		if err != nil {
			return fail(err)
		}
		if err := migrate(ctx, img, inside, s.Network, set.withLogger(withLabel)...); err != nil {
			return fail(err)
		}
		s.Datastore = inside
		custom = append(custom, sdbtestcontainer.WithDatastore("postgres", inside), withHostGateway())
	}
	custom = append(set.withLogger(append(custom, withLabel)...), opts...)

	c, err := sdbtestcontainer.Run(ctx, img, custom...)
	if err != nil {
		return fail(hint(fmt.Errorf("start spicedb (%s): %w", img, err), img, EnvSpiceDBImage))
	}
	s.Container, s.grpcEndpoint = c, c.GRPCEndpoint()
	return s, nil
}

// bootstrap returns SpiceDB's module options for what set says of the key
// and, when withData, the schema (Gatehouse's by default) and the
// relationships.
func bootstrap(set settings, withData bool) []testcontainers.ContainerCustomizer {
	var cs []testcontainers.ContainerCustomizer
	if set.key != "" {
		cs = append(cs, sdbtestcontainer.WithPresharedKeys(set.key))
	}
	if !withData {
		return cs
	}
	text := schema.Text
	if set.schema != nil {
		text = *set.schema
	}
	cs = append(cs, sdbtestcontainer.WithBootstrapSchema(text))
	if len(set.relationships) > 0 {
		cs = append(cs, sdbtestcontainer.WithBootstrapRelationships(set.relationships...))
	}
	return cs
}

// StartSpiceDB is RunSpiceDB(ctx, SpiceDBImage(), opts...).
//
// Deprecated: use RunSpiceDB, which names the image as testcontainers'
// modules do.
func StartSpiceDB(ctx context.Context, opts ...testcontainers.ContainerCustomizer) (*SpiceDB, error) {
	return RunSpiceDB(ctx, SpiceDBImage(), opts...)
}

// MustSpiceDB starts SpiceDBImage() as RunSpiceDB does and removes it when
// the test ends, after printing its last lines if the test failed. Without
// Docker it skips the test (fails it under CI=true).
func MustSpiceDB(tb testing.TB, opts ...testcontainers.ContainerCustomizer) *SpiceDB {
	tb.Helper()
	RequireDocker(tb)
	s, err := RunSpiceDB(tb.Context(), SpiceDBImage(), append([]testcontainers.ContainerCustomizer{logTo(tb)}, opts...)...)
	if err != nil {
		tb.Fatalf("integration: %v", err)
	}
	// Cleanups run last first: the logs, then the container and network.
	testcontainers.CleanupContainer(tb, s)
	logOnFailure(tb, "spicedb", s)
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
