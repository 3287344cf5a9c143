package spicedb_test

import (
	"log/slog"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/proxy"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/storetest"
)

// TestConformance runs the Store conformance suite against SpiceDB
// embedded in-process, on the memory datastore and on Postgres; and
// against the decision cache (proxy.Cached) on its own in front of it
// (issue 20 item 6), kept by the Store's Feed: on memory the writes, on
// Postgres the Watch stream. (The remote adapter, alone and behind the
// cache, runs it in integration/conformance_test.go.)
func TestConformance(t *testing.T) {
	for _, cached := range []bool{false, true} {
		name := map[bool]string{false: "", true: "/cached"}[cached]
		t.Run("memory"+name, func(t *testing.T) {
			storetest.Run(t, embeddedStores(t, "memory", cached))
		})
		t.Run("postgres"+name, func(t *testing.T) {
			storetest.Run(t, embeddedStores(t, integration.MustPostgresDatabase(t), cached))
		})
	}
}

// embeddedStores starts one embedded SpiceDB on datastore, writes
// Gatehouse's schema, and returns a new Store over it for each test,
// behind a new decision cache when cached.
func embeddedStores(t *testing.T, datastore string, cached bool) storetest.NewStore {
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
		trail := consuming(t, s, audit.NewMemory(1000))
		if cached {
			return proxy.NewCached(s, s.Feed()), trail
		}
		return s, trail
	}
}

// consuming runs an audit consumer of s into trail until the test ends.
func consuming(t *testing.T, s *spicedb.SpiceDB, trail gatehouse.AuditTrail) gatehouse.AuditTrail {
	t.Helper()
	c, err := spicedb.StartAudit(t.Context(), s, trail, spicedb.AuditConfig{Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return trail
}

// testLogger logs to the test's log.
func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(testWriter{t}, nil)) }

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
