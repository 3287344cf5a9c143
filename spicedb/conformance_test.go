package spicedb_test

import (
	"log/slog"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/storetest"
)

// TestConformance runs the Store conformance suite against SpiceDB
// embedded in-process, on the memory datastore and on Postgres. (The
// remote adapter runs it in integration/conformance_test.go.)
func TestConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		storetest.Run(t, embeddedStores(t, "memory"))
	})
	t.Run("postgres", func(t *testing.T) {
		storetest.Run(t, embeddedStores(t, integration.MustPostgresDatabase(t)))
	})
}

// embeddedStores starts one embedded SpiceDB on datastore, writes
// Gatehouse's schema, and returns a new Store over it for each test.
func embeddedStores(t *testing.T, datastore string) storetest.NewStore {
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
		return s, consuming(t, s, audit.NewMemory(1000))
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
