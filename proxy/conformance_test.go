package proxy_test

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/proxy"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/storetest"
)

// TestConformance runs the Store conformance suite against the decision
// cache on its own (issue 20 item 6), in front of SpiceDB embedded on
// memory (kept by the writes, its Feed there) and on Postgres (kept by
// the Watch stream): whatever it answers from what it kept, every promise
// of the Store holds. (In front of a remote SpiceDB it runs in
// integration/conformance_test.go.)
func TestConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		storetest.Run(t, cachedStores(t, "memory"))
	})
	t.Run("postgres", func(t *testing.T) {
		storetest.Run(t, cachedStores(t, integration.MustPostgresDatabase(t)))
	})
}

// cachedStores starts one embedded SpiceDB on datastore, writes
// Gatehouse's schema, and returns, for each test, a new Store over it
// (its audit consumer running) behind a new decision cache.
func cachedStores(t *testing.T, datastore string) storetest.NewStore {
	t.Helper()
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: datastore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := emb.Close(); err != nil {
			t.Errorf("closing embedded SpiceDB: %v", err)
		}
	})
	if err := spicedb.New(emb.Conn, emb.Options()...).WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T) (gatehouse.Store, gatehouse.AuditTrail) {
		s := spicedb.New(emb.Conn, emb.Options()...)
		trail := audit.NewMemory(1000)
		c, err := spicedb.StartAudit(t.Context(), s, trail, spicedb.AuditConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
		return proxy.NewCached(s, s.Feed()), trail
	}
}
