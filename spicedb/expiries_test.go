package spicedb

import (
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// TestReplicasLearnExpirations (C6, T5; issue 19 row 5): an expiration
// written through one replica reaches the other on SpiceDB's Watch
// stream, so both read past SpiceDB's cache once it passes.
func TestReplicasLearnExpirations(t *testing.T) {
	for _, ds := range []string{"memory", "postgres"} {
		t.Run(ds, func(t *testing.T) {
			if ds == "postgres" {
				ds = integration.MustPostgresDatabase(t)
			}
			emb, err := StartEmbedded(t.Context(), EmbeddedConfig{Datastore: ds})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = emb.Close() })
			a, b := New(emb.Conn), New(emb.Conn)
			if err := a.WriteSchema(t.Context(), schema.Text); err != nil {
				t.Fatal(err)
			}
			c, err := StartAudit(t.Context(), b, audit.NewMemory(10), AuditConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Stop()
			rel, _ := gatehouse.ParseRelationship("r", "organisation:acme#cis_processor@user:carla")
			at := time.Now().Add(700 * time.Millisecond)
			rel.ExpiresAt = &at
			if _, err := a.Write(t.Context(), gatehouse.Write{Updates: []gatehouse.Update{{Relationship: rel}}, Audit: gatehouse.Audit{Actor: "user:olivia", Action: "grant_role", Organisation: "acme"}}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				b.expired.mu.Lock()
				n := len(b.expired.future)
				b.expired.mu.Unlock()
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("replica b never learnt the expiration written through a")
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(time.Until(at) + 10*time.Millisecond)
			if !b.expired.due() || !a.expired.due() {
				t.Fatal("an expiration just passed, yet a replica does not make a revision after it")
			}
		})
	}
}
