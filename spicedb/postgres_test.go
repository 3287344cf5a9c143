package spicedb_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
)

// MustPostgresURI returns the Postgres of GATEHOUSE_TEST_POSTGRES_URI; it
// skips without one, except under CI, where it fails.
func MustPostgresURI(tb testing.TB) string {
	tb.Helper()
	uri := os.Getenv("GATEHOUSE_TEST_POSTGRES_URI")
	if uri == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("GATEHOUSE_TEST_POSTGRES_URI is not set; .ci/run starts Postgres and sets it")
		}
		tb.Skip("GATEHOUSE_TEST_POSTGRES_URI is not set: skipping the Postgres datastore test (.ci/run sets it)")
	}
	return uri
}

// TestPostgresAuditSurvivesRestart_X2 writes through embedded SpiceDB on
// Postgres, stops it, starts it again, and finds both the data and the
// audit record of the write (rule X2), read back from SpiceDB's change log.
func TestPostgresAuditSurvivesRestart_X2(t *testing.T) {
	uri := MustPostgresURI(t)
	org := fmt.Sprintf("restart%d", time.Now().UnixNano())
	rel, err := gatehouse.ParseRelationship("r", "organisation:"+org+"#administrator@user:ada")
	if err != nil {
		t.Fatal(err)
	}

	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: uri})
	if err != nil {
		t.Fatal(err)
	}
	store := spicedb.New(emb.Conn, emb.Options()...)
	if err := store.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Write(t.Context(), gatehouse.Write{
		Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: rel}},
		Audit:   gatehouse.Audit{Actor: "user:olivia", Action: "grant_role", Reason: "survives a restart", Organisation: org},
	}); err != nil {
		t.Fatal(err)
	}
	if err := emb.Close(); err != nil {
		t.Fatal(err)
	}

	emb, err = spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: uri})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	history, err := emb.History(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	store = spicedb.New(emb.Conn, append(emb.Options(), spicedb.WithHistory(history))...)
	res, err := store.Check(t.Context(), gatehouse.CheckRequest{Resource: rel.Resource, Permission: "member", Subject: rel.Subject})
	if err != nil || !res.Allowed {
		t.Fatalf("the relationship did not survive the restart: %+v %v", res, err)
	}
	events, _, err := store.AuditTrail(t.Context(), gatehouse.AuditQuery{Organisation: org})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Actor != "user:olivia" || events[0].Reason != "survives a restart" ||
		len(events[0].Changes) != 1 || events[0].Changes[0] != "touch "+rel.String() || events[0].ZedToken == "" {
		t.Fatalf("X2: audit trail after restart = %+v", events)
	}
}
