package spicedb_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
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
	return func(t *testing.T) gatehouse.Store { return consuming(t, spicedb.New(emb.Conn, emb.Options()...)) }
}

// consuming runs s's audit consumer until the test ends.
func consuming(t *testing.T, s *spicedb.SpiceDB) *spicedb.SpiceDB {
	t.Helper()
	if err := s.PrepareAudit(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ConsumeAudit(ctx, testLogger(t))
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// testLogger logs to the test's log.
func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(testWriter{t}, nil)) }

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
