package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestingSpiceDB is SpiceDB's `serve-testing` in a container: no
// authentication, and a memory datastore of its own for every bearer
// token, so one container serves many tests, each isolated by a random
// token of its own.
type TestingSpiceDB struct {
	Container testcontainers.Container
	// Endpoint is its gRPC address from the host (host:port).
	Endpoint string
}

// StartTestingSpiceDB starts SpiceDBImage() as `spicedb serve-testing`
// and waits until it serves; the caller calls Terminate.
func StartTestingSpiceDB(ctx context.Context) (*TestingSpiceDB, error) {
	if err := DockerAvailable(ctx); err != nil {
		return nil, err
	}
	img := SpiceDBImage()
	label, withLabel := startLabel()
	c, err := testcontainers.Run(ctx, img,
		testcontainers.WithCmd("serve-testing", "--skip-release-check"),
		testcontainers.WithExposedPorts("50051/tcp"),
		testcontainers.WithWaitStrategy(wait.ForAll(
			wait.ForListeningPort("50051/tcp"),
			wait.ForLog("grpc server started serving"),
		).WithDeadline(2*time.Minute)),
		withLabel,
	)
	if err != nil {
		return nil, errors.Join(hint(fmt.Errorf("start spicedb serve-testing (%s): %w", img, err), img, EnvSpiceDBImage),
			removeLabelled(context.WithoutCancel(ctx), label))
	}
	s := &TestingSpiceDB{Container: c}
	host, err := c.Host(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("spicedb serve-testing host: %w", err), s.Terminate())
	}
	port, err := c.MappedPort(ctx, "50051/tcp")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("spicedb serve-testing port: %w", err), s.Terminate())
	}
	s.Endpoint = net.JoinHostPort(host, port.Port())
	return s, nil
}

// Terminate removes the container.
func (s *TestingSpiceDB) Terminate() error {
	if err := testcontainers.TerminateContainer(s.Container); err != nil {
		return fmt.Errorf("remove spicedb serve-testing: %w", err)
	}
	return nil
}
