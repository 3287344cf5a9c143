package spicedb_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
)

// gcWindow is the SpiceDB GC window of these tests: short enough to wait
// out, long enough for a consumer to follow a write.
const gcWindow = 2 * time.Second

// TestAuditPastGCWindow (issue 19, item 5): a consumer whose cursor is
// older than SpiceDB's GC window, with writes after it, stops with
// ErrAuditCursor naming the GC window and the recovery, on the memory
// datastore (where SpiceDB's Watch fails at once, as an internal error)
// and on Postgres (where SpiceDB's Watch resumes from the oldest
// transaction left, skipping those its GC deleted). Reset, it records
// from SpiceDB's head on.
func TestAuditPastGCWindow(t *testing.T) {
	for _, shape := range []string{"memory", "postgres"} {
		t.Run(shape, func(t *testing.T) {
			datastore := "memory"
			if shape == "postgres" {
				datastore = integration.MustPostgresDatabase(t)
			}
			emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: datastore, GCWindow: gcWindow})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = emb.Close() })
			s := spicedb.New(emb.Conn, emb.Options()...)
			if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
				t.Fatal(err)
			}
			// The durable trail on Postgres (a restart keeps its cursor), the
			// memory trail on memory (a consumer stopped meanwhile).
			var trail gatehouse.AuditTrail = audit.NewMemory(100)
			if shape == "postgres" {
				pg, err := audit.OpenPostgres(t.Context(), integration.MustPostgresDatabase(t))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(pg.Close)
				trail = pg
			}
			org := fmt.Sprintf("gc%d", time.Now().UnixNano())
			write := func(action string) {
				t.Helper()
				rel, _ := gatehouse.ParseRelationship("r", "organisation:"+org+"#administrator@user:"+action)
				if _, err := s.Write(t.Context(), gatehouse.Write{
					Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: rel}},
					Audit:   gatehouse.Audit{Actor: "user:olivia", Action: action, Organisation: org},
				}); err != nil {
					t.Fatal(err)
				}
			}
			actions := func() []string {
				t.Helper()
				events, _, err := trail.List(t.Context(), gatehouse.AuditQuery{Organisation: org})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, e := range events {
					out = append(out, e.Action)
				}
				slices.Sort(out)
				return out
			}
			start := func(cfg spicedb.AuditConfig) (*spicedb.AuditConsumer, error) {
				cfg.Log = testLogger(t)
				c, err := spicedb.StartAudit(t.Context(), s, trail, cfg)
				if err == nil {
					t.Cleanup(c.Stop)
				}
				return c, err
			}

			c, err := start(spicedb.AuditConfig{})
			if err != nil {
				t.Fatal(err)
			}
			write("before")
			c.Stop()
			// The consumer is down longer than the GC window while writes
			// go on: on Postgres, SpiceDB's GC deletes the transaction of
			// "gap1" (it keeps the newest one older than the window).
			write("gap1")
			write("gap2")
			time.Sleep(gcWindow + gcWindow/2 + time.Second)

			if err := spicedb.CheckAuditCursor(t.Context(), s, trail, spicedb.AuditConfig{}); !errors.Is(err, spicedb.ErrAuditCursor) {
				t.Errorf("CheckAuditCursor past the GC window: %v, want ErrAuditCursor", err)
			}
			c, err = start(spicedb.AuditConfig{})
			if err == nil {
				// What the consumer made of it, for the failure message.
				time.Sleep(2 * time.Second)
				t.Fatalf("consumer resumed from a cursor past SpiceDB's GC window (status %+v); the trail lists %v of [before gap1 gap2]; "+
					"want ErrAuditCursor naming the GC window and GATEHOUSE_AUDIT_RESET_CURSOR", c.Status(), actions())
			}
			if !errors.Is(err, spicedb.ErrAuditCursor) || !strings.Contains(err.Error(), "GC window") ||
				!strings.Contains(err.Error(), "GATEHOUSE_AUDIT_RESET_CURSOR=true") {
				t.Fatalf("consumer past the GC window: %v; want ErrAuditCursor naming the GC window and the recovery", err)
			}
			t.Logf("refused: %v", err)

			// The recovery: from SpiceDB's head on, the gap stays unrecorded.
			if _, err := start(spicedb.AuditConfig{ResetCursor: true}); err != nil {
				t.Fatalf("consumer with ResetCursor: %v", err)
			}
			write("after")
			if got, want := actions(), []string{"after", "before"}; !slices.Equal(got, want) {
				t.Fatalf("trail after the reset lists %v, want %v", got, want)
			}
		})
	}
}

// TestAuditIdleBeyondGCWindow: a cursor older than SpiceDB's GC window
// with no write after it is still SpiceDB's newest revision, and nothing
// is missing: a consumer started as gatehouse serve starts it (the cursor
// checked, then the schema written) resumes from it.
func TestAuditIdleBeyondGCWindow(t *testing.T) {
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: integration.MustPostgresDatabase(t), GCWindow: gcWindow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	s := spicedb.New(emb.Conn, emb.Options()...)
	if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	trail, err := audit.OpenPostgres(t.Context(), integration.MustPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(trail.Close)
	c, err := spicedb.StartAudit(t.Context(), s, trail, spicedb.AuditConfig{Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
	time.Sleep(gcWindow + gcWindow/2 + time.Second)
	cfg := spicedb.AuditConfig{CursorChecked: true, Log: testLogger(t)}
	if err := spicedb.CheckAuditCursor(t.Context(), s, trail, cfg); err != nil {
		t.Fatalf("CheckAuditCursor idle past the GC window, nothing written since: %v; want nil", err)
	}
	// The schema write makes SpiceDB count the old cursor expired.
	if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	c, err = spicedb.StartAudit(t.Context(), s, trail, cfg)
	if err != nil {
		t.Fatalf("consumer idle past the GC window, nothing written since: %v; want it to resume", err)
	}
	c.Stop()
}
