package integration_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/proxy"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/storetest"
)

// TestConformance runs the Store conformance suite against the remote
// adapter: SpiceDB in a container, reached over gRPC as a deployment
// reaches it, on the memory datastore and on Postgres; and against the
// decision cache (proxy.Cached) on its own in front of it, as every
// replica serves. (The embedded adapter, alone and behind the cache,
// runs it in spicedb/conformance_test.go.)
func TestConformance(t *testing.T) {
	for _, cached := range []bool{false, true} {
		name := map[bool]string{false: "", true: "/cached"}[cached]
		t.Run("memory"+name, func(t *testing.T) {
			// SpiceDB's memory datastore picks a write's revision before it
			// waits for its write lock, so concurrent writes can commit out of
			// revision order and a fully consistent read then misses one; a
			// Gatehouse in front of a remote SpiceDB on memory must send one
			// write at a time, as the embedded one does (WithSerialWrites).
			var writes sync.Mutex
			storetest.Run(t, remoteStores(t, integration.MustSpiceDB(t), cached, spicedb.WithSerialWrites(&writes)))
		})
		t.Run("postgres"+name, func(t *testing.T) {
			integration.RequireDocker(t)
			uri := integration.MustPostgresDatabase(t)
			storetest.Run(t, remoteStores(t, integration.MustSpiceDB(t, integration.WithPostgres(uri)), cached))
		})
	}
}

// remoteStores dials sdb as cmd/gatehouse does and returns a new Store
// over that connection for each test, behind the decision cache when
// cached. MustSpiceDB wrote the schema.
func remoteStores(t *testing.T, sdb *integration.SpiceDB, cached bool, opts ...spicedb.Option) storetest.NewStore {
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
		if cached {
			return proxy.NewCached(s, s.Feed()), trail
		}
		return s, trail
	}
}
