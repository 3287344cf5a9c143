package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/testutil/sdbtestcontainer"
	"github.com/moby/moby/api/types/container"
	dockernetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// DispatchPort is the port of SpiceDB's dispatch server, on which the
// nodes of a cluster send each other the parts of a check.
const DispatchPort = "50053"

// DispatchTarget is every node's dispatch target: all the nodes, by the
// alias they share on the cluster's network, through gRPC's DNS resolver.
// SpiceDB (from v1.57.1) keeps only peers whose connection is ready on
// its dispatch hash ring, so a node that dies leaves every other node's
// ring as soon as its connection fails; the name is resolved again at most
// every 30 s, which matters only when a node with a new address joins.
const DispatchTarget = "dns:///" + SpiceDBAlias + ":" + DispatchPort

// SpiceDBCluster is several SpiceDB nodes on one Postgres database and one
// Docker network, dispatching to each other: production's shape. Every
// node answers to SpiceDBAlias on the network, and to SpiceDBAlias-<i>
// (counting from 1) on its own.
type SpiceDBCluster struct {
	// Nodes are the nodes, each with its own handles: Stop, Start, Kill,
	// Restart, GRPCEndpoint. A node keeps its host port across restarts.
	Nodes []*SpiceDB
	// Network is the Docker network the nodes are on.
	Network *testcontainers.DockerNetwork
	// Datastore is the Postgres URI as the containers see it.
	Datastore string

	key string
}

// PresharedKey returns the gRPC preshared key of every node.
func (c *SpiceDBCluster) PresharedKey() string { return c.key }

// Endpoints returns the gRPC address of every node from the host
// (127.0.0.1:port), which stays the same when a node restarts.
func (c *SpiceDBCluster) Endpoints() []string {
	eps := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		eps[i] = n.GRPCEndpoint()
	}
	return eps
}

// Target returns the nodes' host addresses as one comma-separated list, the
// form GATEHOUSE_SPICEDB takes for a cluster.
func (c *SpiceDBCluster) Target() string { return strings.Join(c.Endpoints(), ",") }

// NetworkTarget returns the gRPC target by which a container on the
// cluster's network reaches every node: dns:///spicedb:50051.
func (c *SpiceDBCluster) NetworkTarget() string {
	return "dns:///" + net.JoinHostPort(SpiceDBAlias, "50051")
}

// Terminate removes every node and the network.
func (c *SpiceDBCluster) Terminate(ctx context.Context) error {
	var errs []error
	for _, n := range c.Nodes {
		if n != nil {
			errs = append(errs, n.Terminate(ctx))
		}
	}
	if c.Network != nil {
		errs = append(errs, c.Network.Remove(ctx))
	}
	return errors.Join(errs...)
}

// RunSpiceDBCluster starts n nodes of img on the Postgres database of
// WithPostgres (required; it is migrated first, once), on a Docker network
// of their own, with dispatch between them: every node serves the dispatch
// API on DispatchPort and dispatches to the others through DispatchTarget.
// The schema and relationships of the options are written through the
// first node. Telemetry and the release check are off. It takes the
// options RunSpiceDB takes but WithNetwork; each goes to every node. The
// caller calls Terminate; tests use MustSpiceDBCluster.
func RunSpiceDBCluster(ctx context.Context, img string, n int, opts ...testcontainers.ContainerCustomizer) (*SpiceDBCluster, error) {
	set := settingsOf(opts)
	if n < 1 {
		return nil, fmt.Errorf("a cluster needs at least one node, got %d", n)
	}
	if set.postgresURI == "" {
		return nil, errors.New("a SpiceDB cluster needs a shared datastore: pass WithPostgres (MustSpiceDBCluster makes a database)")
	}
	if set.key == "" {
		set.key = randomHex(16)
	}
	inside, err := containerURI(set.postgresURI)
	if err != nil {
		return nil, err
	}
	c := &SpiceDBCluster{key: set.key, Datastore: inside}
	nw, err := network.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("create docker network: %w", err)
	}
	c.Network = nw
	label, withLabel := startLabel()
	fail := func(err error) (*SpiceDBCluster, error) {
		cctx := context.WithoutCancel(ctx)
		return nil, errors.Join(err, removeLabelled(cctx, label), c.Terminate(cctx))
	}
	if err := migrate(ctx, img, inside, nw, set.withLogger(withLabel)...); err != nil {
		return fail(err)
	}
	for i := range n {
		hostPort, err := freePort(ctx)
		if err != nil {
			return fail(err)
		}
		custom := append(bootstrap(set, i == 0),
			sdbtestcontainer.WithDatastore("postgres", inside),
			network.WithNetwork([]string{SpiceDBAlias, fmt.Sprintf("%s-%d", SpiceDBAlias, i+1)}, nw),
			testcontainers.WithEnv(map[string]string{
				"SPICEDB_SKIP_RELEASE_CHECK":       "true",
				"SPICEDB_TELEMETRY_ENDPOINT":       "",
				"SPICEDB_DISPATCH_CLUSTER_ENABLED": "true",
				"SPICEDB_DISPATCH_UPSTREAM_ADDR":   DispatchTarget,
				"SPICEDB_WATCH_API_HEARTBEAT":      "100ms",
			}),
			withHostGateway(),
			withHostPort("50051/tcp", hostPort),
			// Both the dispatch server and the API server log the line;
			// the API's is the one a caller needs.
			testcontainers.WithWaitStrategyAndDeadline(2*time.Minute, wait.ForListeningPort("50051/tcp"),
				wait.ForLog("grpc server started serving").WithOccurrence(2)),
			withLabel,
		)
		custom = append(set.withLogger(custom...), opts...)
		ctr, err := sdbtestcontainer.Run(ctx, img, custom...)
		if err != nil {
			return fail(hint(fmt.Errorf("start spicedb node %d (%s): %w", i+1, img, err), img, EnvSpiceDBImage))
		}
		c.Nodes = append(c.Nodes, &SpiceDB{Container: ctr, Network: nw, Datastore: inside, grpcEndpoint: ctr.GRPCEndpoint()})
		c.key = ctr.PresharedKey()
	}
	return c, nil
}

// StartSpiceDBCluster is RunSpiceDBCluster(ctx, SpiceDBImage(), n, opts...).
//
// Deprecated: use RunSpiceDBCluster, which names the image as
// testcontainers' modules do.
func StartSpiceDBCluster(ctx context.Context, n int, opts ...testcontainers.ContainerCustomizer) (*SpiceDBCluster, error) {
	return RunSpiceDBCluster(ctx, SpiceDBImage(), n, opts...)
}

// MustSpiceDBCluster starts n nodes of SpiceDBImage() as RunSpiceDBCluster
// does, on a fresh Postgres database (MustPostgresDatabase) unless
// WithPostgres names one, and removes them when the test ends. Without
// Docker or Postgres it skips the test (fails it under CI=true).
func MustSpiceDBCluster(tb testing.TB, n int, opts ...testcontainers.ContainerCustomizer) *SpiceDBCluster {
	tb.Helper()
	RequireDocker(tb)
	pre := []testcontainers.ContainerCustomizer{logTo(tb)}
	if settingsOf(opts).postgresURI == "" {
		pre = append(pre, WithPostgres(MustPostgresDatabase(tb)))
	}
	c, err := RunSpiceDBCluster(tb.Context(), SpiceDBImage(), n, append(pre, opts...)...)
	if err != nil {
		tb.Fatalf("integration: %v", err)
	}
	// Cleanups run last first: the logs, the nodes, then the network.
	testcontainers.CleanupNetwork(tb, c.Network)
	for i, node := range c.Nodes {
		testcontainers.CleanupContainer(tb, node)
		logOnFailure(tb, fmt.Sprintf("spicedb node %d", i+1), node)
	}
	return c
}

// Kill kills SpiceDB at once (SIGKILL): no graceful shutdown, as when its
// machine dies. Start brings it back.
func (s *SpiceDB) Kill(ctx context.Context) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer func() { _ = cli.Close() }()
	if _, err := cli.ContainerKill(ctx, s.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill spicedb: %w", err)
	}
	// Wait until Docker has it as exited, so that a Start that follows
	// starts it rather than finding it still running.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, err := s.State(ctx)
		if err == nil && !st.Running {
			return nil
		}
	}
	return errors.New("kill spicedb: still running 30s after SIGKILL")
}

// withHostPort publishes the container's port on a fixed host port, so
// that the address stays the same when the container restarts.
func withHostPort(port, hostPort string) testcontainers.CustomizeRequestOption {
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		if hc.PortBindings == nil {
			hc.PortBindings = dockernetwork.PortMap{}
		}
		hc.PortBindings[dockernetwork.MustParsePort(port)] = []dockernetwork.PortBinding{{HostPort: hostPort}}
	})
}

// freePort returns a local port no one listens on now.
func freePort(ctx context.Context) (string, error) {
	addr, err := freeAddr(ctx)
	if err != nil {
		return "", err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}
