package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// The images the harness runs unless SPICEDB_IMAGE and GATEHOUSE_IMAGE
// name others. DefaultSpiceDBImage is the version pinned in Gatehouse's
// go.mod (a test keeps them equal).
const (
	DefaultSpiceDBImage   = "authzed/spicedb:v1.57.1"
	DefaultGatehouseImage = "gatehouse:dev"
)

// Environment variables the harness reads.
const (
	EnvSpiceDBImage   = "SPICEDB_IMAGE"
	EnvGatehouseImage = "GATEHOUSE_IMAGE"
	EnvPostgresURI    = "GATEHOUSE_TEST_POSTGRES_URI"
)

// SpiceDBImage returns the SpiceDB image to run: $SPICEDB_IMAGE or
// DefaultSpiceDBImage.
func SpiceDBImage() string { return envOr(EnvSpiceDBImage, DefaultSpiceDBImage) }

// GatehouseImage returns the Gatehouse image to run: $GATEHOUSE_IMAGE or
// DefaultGatehouseImage.
func GatehouseImage() string { return envOr(EnvGatehouseImage, DefaultGatehouseImage) }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// underCI reports whether a missing dependency must fail the test rather
// than skip it.
func underCI() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips the test with the reason, or fails it under CI=true.
func skipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if underCI() {
		tb.Fatalf("integration: %s (CI=true: not skipping)", msg)
	}
	tb.Skipf("integration: skipping: %s (set CI=true to fail instead)", msg)
}

// DockerAvailable returns nil when a Docker engine answers.
func DockerAvailable(ctx context.Context) (err error) {
	// testcontainers panics in some set-ups without a Docker socket.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("docker client: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer func() { _ = cli.Close() }()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("docker ping: %w", err)
	}
	return nil
}

// RequireDocker skips the test when no Docker engine answers, saying so;
// under CI=true it fails the test instead.
func RequireDocker(tb testing.TB) {
	tb.Helper()
	if err := DockerAvailable(tb.Context()); err != nil {
		skipOrFail(tb, "this test needs Docker, which is not available: %v", err)
	}
}

// hint adds what to do to the error of a container that did not start.
func hint(err error, image, envVar string) error {
	msg := err.Error()
	if strings.Contains(msg, "external check") {
		return fmt.Errorf("%w (testcontainers could not reach the container's published port; "+
			"if Docker runs on this machine but a /.dockerenv file exists, set TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1)", err)
	}
	for _, s := range []string{"registry", "pull", "No such image", "manifest unknown"} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("%w (image %s is not here and cannot be pulled: `make images` builds "+
				"gatehouse:dev and gatehouse-spicedb:<version> without a registry; set %s to use one)", err, image, envVar)
		}
	}
	return err
}

// containerLogs returns the last n lines of a container's output.
func containerLogs(ctx context.Context, c testcontainers.Container, n int) string {
	if c == nil {
		return ""
	}
	rc, err := c.Logs(ctx)
	if err != nil {
		return fmt.Sprintf("(no logs: %v)", err)
	}
	defer func() { _ = rc.Close() }()
	b, _ := io.ReadAll(rc)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logOnFailure prints the end of the container's output when the test
// failed, so that a failure says what the server said.
func logOnFailure(tb testing.TB, name string, c testcontainers.Container) {
	tb.Cleanup(func() {
		if tb.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tb.Logf("last lines of %s:\n%s", name, containerLogs(ctx, c, 40))
		}
	})
}

// labelKey marks the containers of one start, so that a start that fails
// half-way can remove what it made: a module's Run returns no container
// when its readiness wait fails, leaving the container running.
const labelKey = "org.gatehouse.integration.start"

// startLabel returns a fresh label value and the customizer that sets it.
func startLabel() (string, testcontainers.ContainerCustomizer) {
	id := randomHex(8)
	return id, testcontainers.WithLabels(map[string]string{labelKey: id})
}

// removeLabelled force-removes every container that carries the label id.
func removeLabelled(ctx context.Context, id string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer func() { _ = cli.Close() }()
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: client.Filters{}.Add("label", labelKey+"="+id),
	})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, c := range list.Items {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
		}
	}
	return errors.Join(errs...)
}
