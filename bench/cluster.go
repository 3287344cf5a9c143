package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/authzed/spicedb/pkg/testutil/sdbtestcontainer"
	"github.com/testcontainers/testcontainers-go"

	"github.com/gatehouse-authz/gatehouse/integration"
)

// clusterNodes is production's smallest cluster (README, "Sizing"; the
// compose file runs it): three nodes keep dispatch caching useful with one
// down.
const clusterNodes = 3

// startCluster starts the cluster shape: SpiceDB nodes on one Postgres
// database, dispatching to each other, in containers of the integration
// harness with their HTTP gateways on, and two Gatehouse replicas in
// remote mode in front of every node, on one durable audit trail. Its
// targets are gatehouse-cluster-1 (one replica), gatehouse-cluster-2 (both,
// each load connection sticking to one) and spicedb-gateway-cluster (the
// nodes' own gateways, likewise), as a load balancer would spread them.
// Without Docker, the SpiceDB image or Postgres it says why the shape is
// skipped, and the run goes on.
func (b *bench) startCluster(ctx context.Context) error {
	if why := clusterUnavailable(ctx, b.o.postgres); why != "" {
		fmt.Fprintf(b.out, "cluster shape skipped: %s\n", why)
		return nil
	}
	db, err := b.database(ctx)
	if err != nil {
		return err
	}
	c, err := integration.RunSpiceDBCluster(ctx, integration.SpiceDBImage(), clusterNodes,
		integration.WithPostgres(db), sdbtestcontainer.WithHTTP())
	if err != nil {
		fmt.Fprintf(b.out, "cluster shape skipped: %v\n", err)
		return nil
	}
	b.onClose(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		b.saveLogs(ctx, c)
		_ = c.Terminate(ctx)
	})
	var gateways []replica
	for i, n := range c.Nodes {
		gw := &gateway{base: "http://" + n.HTTPEndpoint(), key: c.PresharedKey()}
		if err := waitFor(ctx, func() error { _, err := gw.verify(ctx, http.DefaultClient, b.data.checks[0]); return err }); err != nil {
			return fmt.Errorf("the gateway of SpiceDB node %d: %w", i+1, err)
		}
		gateways = append(gateways, gw)
		if st, err := n.State(ctx); err == nil {
			b.procs = append(b.procs, named{fmt.Sprintf("spicedb-cluster-%d", i+1), st.Pid})
		}
	}

	nodes := c.Target()
	audit, err := b.database(ctx)
	if err != nil {
		return err
	}
	env := append(remoteEnv(nodes, c.PresharedKey()), "GATEHOUSE_AUDIT_DATABASE="+audit)
	one, err := b.startGatehouse(ctx, "gatehouse-cluster-a", env...)
	if err != nil {
		return err
	}
	two, err := b.startGatehouse(ctx, "gatehouse-cluster-b", env...)
	if err != nil {
		return err
	}
	// The replicas share the datastore: the data goes in once.
	if err := one.load(ctx, b.data); err != nil {
		return fmt.Errorf("loading the cluster: %w", err)
	}
	b.add("gatehouse-cluster-1", one)
	b.add("gatehouse-cluster-2", one, two)
	b.add("spicedb-gateway-cluster", gateways...)
	b.builders = append(b.builders, one.buildBigOrg)
	return nil
}

// clusterUnavailable says what the cluster shape lacks here, or "".
func clusterUnavailable(ctx context.Context, postgres string) string {
	if postgres == "" {
		return "it needs Postgres (-postgres; make bench passes GATEHOUSE_TEST_POSTGRES_URI)"
	}
	if err := integration.DockerAvailable(ctx); err != nil {
		return fmt.Sprintf("Docker is not available: %v", err)
	}
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Sprintf("Docker is not available: %v", err)
	}
	defer func() { _ = cli.Close() }()
	// No registry may be reachable: an image that is not here would be
	// pulled, slowly failing.
	img := integration.SpiceDBImage()
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		return fmt.Sprintf("the SpiceDB image %s is not here (`make images` builds gatehouse-spicedb:<version>; %s names the image): %v",
			img, integration.EnvSpiceDBImage, err)
	}
	return ""
}

// saveLogs writes each node's output to spicedb-cluster-<i>.log.
func (b *bench) saveLogs(ctx context.Context, c *integration.SpiceDBCluster) {
	for i, n := range c.Nodes {
		rc, err := n.Logs(ctx)
		if err != nil {
			continue
		}
		f, err := os.Create(filepath.Join(b.logs, fmt.Sprintf("spicedb-cluster-%d.log", i+1))) //nolint:gosec // a file of our own run's directory
		if err == nil {
			_, _ = io.Copy(f, rc)
			_ = f.Close()
		}
		_ = rc.Close()
	}
}
