package integration_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
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
		// SpiceDB's memory datastore picks a write's revision before it
		// waits for its write lock, so concurrent writes can commit out of
		// revision order and a fully consistent read then misses one; a
		// Gatehouse in front of a remote SpiceDB on memory must send one
		// write at a time, as the embedded one does (WithSerialWrites).
		var writes sync.Mutex
		storetest.Run(t, remoteStores(t, integration.MustSpiceDB(t), spicedb.WithSerialWrites(&writes)))
	})
	t.Run("postgres", func(t *testing.T) {
		integration.RequireDocker(t)
		uri := integration.MustPostgresDatabase(t)
		storetest.Run(t, remoteStores(t, integration.MustSpiceDB(t, integration.WithPostgres(uri))))
	})
}

// remoteStores dials sdb as cmd/gatehouse does and returns a new Store
// over that connection for each test. MustSpiceDB wrote the schema.
func remoteStores(t *testing.T, sdb *integration.SpiceDB, opts ...spicedb.Option) storetest.NewStore {
	t.Helper()
	conn, err := spicedb.Dial(sdb.GRPCEndpoint(), sdb.PresharedKey(), true, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return func(t *testing.T) (gatehouse.Store, gatehouse.AuditTrail) {
		s := spicedb.New(conn, opts...)
		trail := audit.NewMemory(1000)
		c, err := spicedb.StartAudit(t.Context(), s, trail, spicedb.AuditConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
		return s, trail
	}
}
