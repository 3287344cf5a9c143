package spicedb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
		return spicedb.New(emb.Conn, emb.Options()...), trail
	}
	a, trailA := replica()
	b, trailB := replica()
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
	consume := func(s *spicedb.SpiceDB, trail gatehouse.AuditTrail) func() {
		c, err := spicedb.StartAudit(t.Context(), s, trail, spicedb.AuditConfig{Log: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		stop := func() { once.Do(c.Stop) }
		t.Cleanup(stop)
		return stop
	}

	stopA, stopB := consume(a, trailA), consume(b, trailB)
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
	c, trailC := replica()
	consume(c, trailC)
	want(60)
}

// TestAuditCursorOfAnotherDatastore (issue 19, row 6): a durable trail
// whose cursor was made by another datastore (embedded memory, restarted)
// stops the consumer with ErrAuditCursor and its recovery, instead of
// retrying forever while ready; with FreshDatastore (what gatehouse serve
// sets on embedded memory) it records from the new datastore's head, and
// an organisation created after the restart has its events.
func TestAuditCursorOfAnotherDatastore(t *testing.T) {
	auditURI := integration.MustPostgresDatabase(t)
	trail, err := audit.OpenPostgres(t.Context(), auditURI)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(trail.Close)
	run := func(cfg spicedb.AuditConfig) (*spicedb.SpiceDB, *spicedb.AuditConsumer, error) {
		s := memoryStore(t)
		cfg.Log = testLogger(t)
		c, err := spicedb.StartAudit(t.Context(), s, trail, cfg)
		if err == nil {
			t.Cleanup(c.Stop)
		}
		return s, c, err
	}
	if _, _, err := run(spicedb.AuditConfig{}); err != nil {
		t.Fatal(err)
	}
	// "Restarted": a new memory datastore, the same trail.
	_, _, err = run(spicedb.AuditConfig{})
	if !errors.Is(err, spicedb.ErrAuditCursor) || !strings.Contains(err.Error(), "GATEHOUSE_AUDIT_RESET_CURSOR") {
		t.Fatalf("consumer on another datastore's cursor: %v; want ErrAuditCursor naming the recovery", err)
	}
	s, c, err := run(spicedb.AuditConfig{FreshDatastore: true})
	if err != nil {
		t.Fatal(err)
	}
	org := fmt.Sprintf("restarted%d", time.Now().UnixNano())
	rel, _ := gatehouse.ParseRelationship("r", "organisation:"+org+"#owner@user:olivia")
	if _, err := s.Write(t.Context(), gatehouse.Write{
		Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: rel}},
		Audit:   gatehouse.Audit{Actor: "user:olivia", Action: "create_organisation", Organisation: org},
	}); err != nil {
		t.Fatal(err)
	}
	// The write returned once its record was in the trail.
	events, _, err := trail.List(t.Context(), gatehouse.AuditQuery{Organisation: org})
	if err != nil || len(events) != 1 {
		t.Fatalf("trail of %s after the restart = %+v, %v; want its one event", org, events, err)
	}
	if st := c.Status(); !st.Running || st.Records < 1 || st.Pending != 0 {
		t.Fatalf("consumer status %+v, want running with the record appended", st)
	}
}

// flakyTrail answers its first failures calls to Cursor as a database
// that is not answering.
type flakyTrail struct {
	gatehouse.AuditTrail
	mu       sync.Mutex
	failures int
}

func (f *flakyTrail) Cursor(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return "", &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "the audit database is not answering"}
	}
	return f.AuditTrail.Cursor(ctx)
}

// TestAuditStartRetries (issue 19): a datastore or trail that does not
// answer while the consumer starts is retried with backoff, not fatal.
func TestAuditStartRetries(t *testing.T) {
	s := memoryStore(t)
	trail := &flakyTrail{AuditTrail: audit.NewMemory(10), failures: 3}
	c, err := spicedb.StartAudit(t.Context(), s, trail, spicedb.AuditConfig{Log: testLogger(t)})
	if err != nil {
		t.Fatalf("start with a trail failing 3 times: %v; want it retried", err)
	}
	defer c.Stop()
	if trail.failures != 0 {
		t.Fatalf("%d failures left, want every one retried", trail.failures)
	}
}

// memoryStore is a Store over a new embedded SpiceDB on memory, with the
// schema written; it stops with the test.
func memoryStore(t *testing.T) *spicedb.SpiceDB {
	t.Helper()
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	s := spicedb.New(emb.Conn, emb.Options()...)
	if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAuditStallReported (issue 19, item 5): a consumer that loses
// SpiceDB's Watch stream keeps running for StallAfter, then reports itself
// stopped (Healthy, which /readyz asks) with the time it has been unable
// to follow, as gatehouse_audit_consumer_lag_seconds exports it.
func TestAuditStallReported(t *testing.T) {
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	var closeOnce sync.Once
	stop := func() { closeOnce.Do(func() { _ = emb.Close() }) }
	t.Cleanup(stop)
	s := spicedb.New(emb.Conn, emb.Options()...)
	if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	const stall = 500 * time.Millisecond
	c, err := spicedb.StartAudit(t.Context(), s, audit.NewMemory(10), spicedb.AuditConfig{Log: testLogger(t), StallAfter: stall, FreshDatastore: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	if err := c.Healthy(); err != nil {
		t.Fatalf("a consumer following its stream reports %v", err)
	}
	// SpiceDB goes away: the stream breaks and cannot be opened again.
	stop()
	deadline := time.Now().Add(10 * time.Second)
	for c.Healthy() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("still healthy 10 s after SpiceDB stopped: %+v", c.Status())
		}
		time.Sleep(50 * time.Millisecond)
	}
	st := c.Status()
	if st.Running || st.Behind <= stall || !strings.Contains(st.Err.Error(), "has not followed SpiceDB's changes") {
		t.Fatalf("status %+v; want stopped, behind more than %v, saying it has not followed", st, stall)
	}
}
