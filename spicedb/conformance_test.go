package spicedb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-authz/gatehouse"
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
		storetest.Run(t, embeddedStores(t, mustFreshDatabase(t)))
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

// mustFreshDatabase creates an empty database in the Postgres of
// GATEHOUSE_TEST_POSTGRES_URI, so that no other test or run shares its
// schema, and drops it when the test ends.
func mustFreshDatabase(t *testing.T) string {
	t.Helper()
	base := MustPostgresURI(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES_URI: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "gatehouse_conformance_" + hex.EncodeToString(b)
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
		_, err = conn.Exec(ctx, sql)
		return err
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating database %s in %s: %v", name, u.Redacted(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends the sessions the embedded SpiceDB may have left open.
		if err := exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
