package spicedb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
)

// TestDurableTrail_X2 runs SpiceDB embedded on Postgres and two stores
// (two replicas) that each consume its Watch stream into one audit
// Postgres: every write is stored exactly once; with every consumer
// stopped, writes go on, and a consumer started again resumes from the
// stored cursor with nothing lost and nothing doubled.
func TestDurableTrail_X2(t *testing.T) {
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: integration.MustPostgresDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	auditURI := integration.MustPostgresDatabase(t)
	replica := func() (*spicedb.SpiceDB, *audit.Postgres) {
		trail, err := audit.OpenPostgres(t.Context(), auditURI)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(trail.Close)
		return spicedb.New(emb.Conn, append(emb.Options(), spicedb.WithAuditTrail(trail))...), trail
	}
	a, trailA := replica()
	b, _ := replica()
	if err := a.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	org := fmt.Sprintf("durable%d", time.Now().UnixNano())
	write := func(s *spicedb.SpiceDB, i int) {
		rel, err := gatehouse.ParseRelationship("r", fmt.Sprintf("organisation:%s#administrator@user:u%d", org, i))
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := s.Write(t.Context(), gatehouse.Write{
			Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: rel}},
			Audit:   gatehouse.Audit{Actor: "user:olivia", Action: fmt.Sprintf("w%03d", i), Organisation: org},
		}); err != nil {
			t.Error(err)
		}
	}
	// want waits until the trail lists n events of org, each once.
	want := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			events, _, err := trailA.List(t.Context(), gatehouse.AuditQuery{Organisation: org, Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, e := range events {
				seen[e.Action]++
				if seen[e.Action] > 1 {
					t.Fatalf("write %s stored twice", e.Action)
				}
			}
			if len(events) == n {
				t.Logf("%d writes, %d events, none doubled", n, len(events))
				return
			}
			if len(events) > n || time.Now().After(deadline) {
				t.Fatalf("trail lists %d events of %s, want %d", len(events), org, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	consume := func(s *spicedb.SpiceDB) func() {
		if err := s.PrepareAudit(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.ConsumeAudit(ctx, testLogger(t)) }()
		stop := func() { cancel(); <-done }
		t.Cleanup(stop)
		return stop
	}

	stopA, stopB := consume(a), consume(b)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if i%2 == 0 {
				write(a, i)
			} else {
				write(b, i)
			}
		})
	}
	wg.Wait()
	want(40)

	// Every consumer stops (every replica down); writes go on straight to SpiceDB's API.
	stopA()
	stopB()
	for i := 40; i < 60; i++ {
		write(b, i)
	}
	time.Sleep(500 * time.Millisecond)
	want(40)
	// A replica starts again and catches up from the stored cursor.
	c, _ := replica()
	consume(c)
	want(60)
}
