package spicedb

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// BenchmarkCoalescedChecks (issue 20) compares distinct checks at the
// Watch stream's snapshot sent one call each ("alone") with the same
// checks coalesced into bulk calls once 4 are in flight ("coalesced"),
// from 32 goroutines, on a Store over SpiceDB's gRPC API as a remote
// replica is, with SpiceDB embedded on memory and (with
// GATEHOUSE_TEST_POSTGRES_URI) on Postgres. The decision cache is off:
// every check goes to SpiceDB. Each mode runs twice, in turn, so that
// neither has SpiceDB's caches to itself.
//
//	go test -run '^$' -bench CoalescedChecks -benchtime 5s ./spicedb/
func BenchmarkCoalescedChecks(b *testing.B) {
	for _, ds := range []string{"memory", "postgres"} {
		b.Run(ds, func(b *testing.B) {
			datastore := ds
			if ds == "postgres" {
				datastore = integration.MustPostgresDatabase(b)
			}
			s, checks := coalescingStore(b, datastore)
			for _, mode := range []struct {
				name  string
				alone int
			}{{"alone", math.MaxInt}, {"coalesced", 0}, {"alone", math.MaxInt}, {"coalesced", 0}} {
				b.Run(mode.name, func(b *testing.B) {
					s.coalesce.alone = mode.alone
					bulks0, items0 := s.Coalesced()
					var next atomic.Int64
					b.SetParallelism(16) // 32 goroutines on 2 cores
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							req := checks[int(next.Add(1))%len(checks)]
							if _, err := s.Check(b.Context(), req); err != nil {
								b.Error(err)
								return
							}
						}
					})
					bulks, items := s.Coalesced()
					if bulks > bulks0 {
						b.ReportMetric(float64(items-items0)/float64(bulks-bulks0), "checks/bulk")
					}
				})
			}
		})
	}
}

// coalescingStore is a Store over an embedded SpiceDB's gRPC API with
// 300 organisations of 28 contractors and 5 roles, following its stream
// with no decision cache, and 20,000 distinct checks of it.
func coalescingStore(b *testing.B, datastore string) (*SpiceDB, []gatehouse.CheckRequest) {
	b.Helper()
	ctx := b.Context()
	emb, err := StartEmbedded(ctx, EmbeddedConfig{Datastore: datastore})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = emb.Close() })
	s := New(emb.Conn)
	if err := s.WriteSchema(ctx, schema.Text); err != nil {
		b.Fatal(err)
	}
	roles := []string{"administrator", "it_manager", "cis_processor", "billing_manager", "finance_admin"}
	var ups []gatehouse.Update
	flush := func() {
		if _, err := s.Write(ctx, gatehouse.Write{Updates: ups}); err != nil {
			b.Fatal(err)
		}
		ups = ups[:0]
	}
	for o := range 300 {
		org := gatehouse.Object{Type: "organisation", ID: fmt.Sprintf("org%d", o)}
		for _, r := range roles {
			ups = append(ups, gatehouse.Update{Relationship: gatehouse.Relationship{Resource: org, Relation: r, Subject: gatehouse.User(fmt.Sprintf("org%d_%s", o, r))}})
		}
		for c := range 28 {
			con := gatehouse.Object{Type: "contractor", ID: fmt.Sprintf("org%d_c%d", o, c)}
			ups = append(ups, gatehouse.Update{Relationship: gatehouse.Relationship{Resource: con, Relation: "organisation", Subject: gatehouse.Subject{Object: org}}})
			if c%2 == 1 {
				ups = append(ups, gatehouse.Update{Relationship: gatehouse.Relationship{Resource: con, Relation: "admin_only", Subject: gatehouse.Wildcard("user")}})
			}
		}
		if len(ups) > 900 {
			flush()
		}
	}
	flush()
	c, err := StartAudit(context.Background(), s, audit.NewMemory(100), AuditConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Stop)
	for !s.Following().Current {
		if ctx.Err() != nil {
			b.Fatal(ctx.Err())
		}
	}
	// No decision cache (the Store alone, no proxy.Cached): every check goes to SpiceDB.
	var checks []gatehouse.CheckRequest
	for i := range 20_000 {
		o, c, r := i%300, (i/300)%28, (i/300/28)%len(roles)
		checks = append(checks, gatehouse.CheckRequest{
			Resource:   gatehouse.Object{Type: "contractor", ID: fmt.Sprintf("org%d_c%d", o, c)},
			Permission: "view",
			Subject:    gatehouse.User(fmt.Sprintf("org%d_%s", (o+i/7)%300, roles[r])),
		})
	}
	return s, checks
}
