package integration_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/storetest"
)

// TestConformance runs the Store conformance suite against the remote
// adapter: SpiceDB in a container, reached over gRPC as a deployment
// reaches it, on the memory datastore and on Postgres. (The embedded
// adapter runs it in spicedb/conformance_test.go.)
func TestConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		storetest.Run(t, remoteStores(t, integration.MustSpiceDB(t)))
	})
	t.Run("postgres", func(t *testing.T) {
		integration.RequireDocker(t)
		uri := integration.MustPostgresDatabase(t)
		storetest.Run(t, remoteStores(t, integration.MustSpiceDB(t, integration.WithPostgres(uri))))
	})
}

// remoteStores dials sdb as cmd/gatehouse does and returns a new Store
// over that connection for each test. MustSpiceDB wrote the schema.
func remoteStores(t *testing.T, sdb *integration.SpiceDB) storetest.NewStore {
	t.Helper()
	ep, err := sdb.Endpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := spicedb.Dial(ep, sdb.Key, true, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return func(t *testing.T) gatehouse.Store {
		s := spicedb.New(conn)
		if err := s.PrepareAudit(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.ConsumeAudit(ctx, slog.New(slog.DiscardHandler)) }()
		t.Cleanup(func() { cancel(); <-done })
		return s
	}
}
