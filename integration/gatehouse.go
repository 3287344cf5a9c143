package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/gatehouse-authz/gatehouse/client"
)

// Gatehouse is a running Gatehouse server, in a container (Run) or a
// process (RunProcess). In a container it is a testcontainers.Container;
// as a process its Container is nil, and only the methods Gatehouse
// defines apply: URL, APIKey, Client, Logs, Tail, Terminate, Kill.
type Gatehouse struct {
	testcontainers.Container

	url, apiKey string
	proc        *process
}

var _ testcontainers.Container = (*Gatehouse)(nil)

// URL returns where the host reaches Gatehouse ("http://127.0.0.1:32771").
func (g *Gatehouse) URL() string { return g.url }

// APIKey returns an API key with full access (WithAPIKey's, or a random
// one).
func (g *Gatehouse) APIKey() string { return g.apiKey }

// Client returns a client of this Gatehouse, with its API key.
func (g *Gatehouse) Client(opts ...client.Option) *client.Client {
	return client.New(g.url, g.apiKey, opts...)
}

// Logs returns everything Gatehouse has written so far, on stdout and
// stderr.
func (g *Gatehouse) Logs(ctx context.Context) (io.ReadCloser, error) {
	if g.proc != nil {
		return io.NopCloser(strings.NewReader(g.proc.out.String())), nil
	}
	if g.Container == nil {
		return nil, errors.New("gatehouse: no container")
	}
	return g.Container.Logs(ctx)
}

// Tail returns the last n lines Gatehouse wrote, for a failing test's log.
func (g *Gatehouse) Tail(ctx context.Context, n int) string {
	if g.proc != nil {
		return g.proc.tail(n)
	}
	return containerLogs(ctx, g.Container, n)
}

// Terminate stops Gatehouse: a process gracefully (SIGTERM, then SIGKILL
// after 15 s), a container by removing it.
func (g *Gatehouse) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	if g.proc != nil {
		return g.proc.stop(ctx)
	}
	if err := testcontainers.TerminateContainer(g.Container, opts...); err != nil {
		return fmt.Errorf("remove gatehouse: %w", err)
	}
	return nil
}

// Kill stops a Gatehouse process at once (SIGKILL), as a crash would: the
// requests in flight on it get no answer. Only a process can be killed.
func (g *Gatehouse) Kill() error {
	if g.proc == nil {
		return errors.New("Kill: this Gatehouse runs in a container, not as a process")
	}
	_ = g.proc.cmd.Process.Kill()
	<-g.proc.done
	return nil
}

// Run starts img (GatehouseImage() for gatehouse:dev, or $GATEHOUSE_IMAGE)
// in a container and waits until GET /readyz answers 200; the caller calls
// Terminate (testcontainers.CleanupContainer does, in a test). With
// WithSpiceDB or WithSpiceDBCluster it serves in front of that SpiceDB, on
// its Docker network; without, on SpiceDB embedded in the container, on
// its memory datastore, with no demo data
// (testcontainers.WithEnv(map[string]string{"GATEHOUSE_SEED": "true"})
// loads it). Options: WithAPIKey, and any testcontainers customizer, of
// which testcontainers.WithEnv takes GATEHOUSE_* settings.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Gatehouse, error) {
	set := settingsOf(opts)
	key := set.apiKey
	if key == "" {
		key = randomHex(16)
	}
	env := map[string]string{
		"GATEHOUSE_ADDR":     "0.0.0.0:8080",
		"GATEHOUSE_API_KEYS": key,
		"GATEHOUSE_SPICEDB":  "embedded",
		"GATEHOUSE_SEED":     "false",
	}
	label, withLabel := startLabel()
	custom := []testcontainers.ContainerCustomizer{
		withLabel,
		testcontainers.WithCmd("serve"),
		testcontainers.WithExposedPorts("8080/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/readyz").WithPort("8080/tcp").
			WithStartupTimeout(time.Minute).WithPollInterval(100 * time.Millisecond)),
	}
	switch {
	case set.spicedb != nil:
		remote(env, set.spicedb.NetworkEndpoint(), set.spicedb.PresharedKey())
		custom = append(custom, network.WithNetwork([]string{"gatehouse"}, set.spicedb.Network))
	case set.cluster != nil:
		remote(env, set.cluster.NetworkTarget(), set.cluster.PresharedKey())
		custom = append(custom, network.WithNetwork([]string{"gatehouse"}, set.cluster.Network))
	}
	custom = append(set.withLogger(append(custom, testcontainers.WithEnv(env))...), opts...)
	c, err := testcontainers.Run(ctx, img, custom...)
	if err != nil {
		err = hint(fmt.Errorf("start gatehouse (%s): %w", img, err), img, EnvGatehouseImage)
		return nil, errors.Join(err, testcontainers.TerminateContainer(c), removeLabelled(context.WithoutCancel(ctx), label))
	}
	ep, err := c.PortEndpoint(ctx, "8080/tcp", "http")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("gatehouse endpoint: %w", err), testcontainers.TerminateContainer(c))
	}
	return &Gatehouse{Container: c, url: ep, apiKey: key}, nil
}

// remote points Gatehouse's settings at a SpiceDB at target with key, in
// plaintext.
func remote(env map[string]string, target, key string) {
	env["GATEHOUSE_SPICEDB"] = target
	env["GATEHOUSE_SPICEDB_KEY"] = key
	env["GATEHOUSE_SPICEDB_INSECURE"] = "true"
	delete(env, "GATEHOUSE_SEED")
}

// StartGatehouse is Run(ctx, GatehouseImage(), WithSpiceDB(sdb), opts...).
//
// Deprecated: use Run, which names the image as testcontainers' modules
// do.
func StartGatehouse(ctx context.Context, sdb *SpiceDB, opts ...testcontainers.ContainerCustomizer) (*Gatehouse, error) {
	return Run(ctx, GatehouseImage(), append([]testcontainers.ContainerCustomizer{WithSpiceDB(sdb)}, opts...)...)
}

// MustGatehouse starts GatehouseImage() in a container as Run does, in
// front of sdb (on embedded SpiceDB when sdb is nil), and removes it when
// the test ends, after printing its last lines if the test failed.
// Without Docker it skips the test (fails it under CI=true).
func MustGatehouse(tb testing.TB, sdb *SpiceDB, opts ...testcontainers.ContainerCustomizer) *Gatehouse {
	tb.Helper()
	RequireDocker(tb)
	pre := []testcontainers.ContainerCustomizer{logTo(tb)}
	if sdb != nil {
		pre = append(pre, WithSpiceDB(sdb))
	}
	g, err := Run(tb.Context(), GatehouseImage(), append(pre, opts...)...)
	if err != nil {
		tb.Fatalf("integration: %v", err)
	}
	mustCleanup(tb, g)
	return g
}

// mustCleanup stops Gatehouse when the test ends, after printing its last
// lines if the test failed.
func mustCleanup(tb testing.TB, g *Gatehouse) {
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if tb.Failed() {
			tb.Logf("last lines of gatehouse:\n%s", g.Tail(ctx, 40))
		}
		if err := g.Terminate(ctx); err != nil {
			tb.Errorf("integration: %v", err)
		}
	})
}
