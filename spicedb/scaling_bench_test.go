package spicedb

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// BenchmarkCheckScaling (issue 11) measures how one distinct check's cost
// grows with the relationships stored, from 10,000 to 1,000,000, on each
// datastore embedded Gatehouse runs on: SpiceDB's memory datastore as it
// is ("memory-scan", which scans every relationship of a relation to find
// one resource's), the same with Gatehouse's index by resource id
// ("memory", what Gatehouse ships), and Postgres (GATEHOUSE_TEST_POSTGRES_URI;
// left out without it). Checks go to SpiceDB's in-process engine with no
// decision cache, each a different contractor and CIS processor.
//
//	go test -run '^$' -bench CheckScaling -benchtime 300x ./spicedb/
func BenchmarkCheckScaling(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		for _, ds := range []string{"memory-scan", "memory", "postgres"} {
			b.Run(fmt.Sprintf("%s/%dk", ds, n/1000), func(b *testing.B) {
				cfg := EmbeddedConfig{Datastore: "memory", scan: ds == "memory-scan"}
				if ds == "postgres" {
					cfg.Datastore = integration.MustPostgresDatabase(b) // skips without GATEHOUSE_TEST_POSTGRES_URI
				}
				benchScaling(b, cfg, n)
			})
		}
	}
}

func benchScaling(b *testing.B, cfg EmbeddedConfig, n int) {
	ctx := b.Context()
	emb, err := StartEmbedded(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer emb.Close()
	st := New(emb.Conn) // writes through gRPC; checks below go to the engine
	if err := st.WriteSchema(ctx, schema.Text); err != nil {
		b.Fatal(err)
	}
	// Each organisation: a CIS processor, an IT manager and 28 contractors.
	const perOrg = 30
	orgs := n / perOrg
	start := time.Now()
	var batch []gatehouse.Update
	add := func(rel gatehouse.Relationship) {
		batch = append(batch, gatehouse.Update{Op: gatehouse.Touch, Relationship: rel})
		if len(batch) == 1000 {
			if _, err := st.Write(ctx, gatehouse.Write{Updates: batch}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	rel := func(typ, id, relation, subType, subID string) gatehouse.Relationship {
		return gatehouse.Relationship{
			Resource: gatehouse.Object{Type: typ, ID: id}, Relation: relation,
			Subject: gatehouse.Subject{Object: gatehouse.Object{Type: subType, ID: subID}},
		}
	}
	for o := range orgs {
		org := fmt.Sprintf("o%d", o)
		add(rel("organisation", org, "cis_processor", "user", org+"_cis"))
		add(rel("organisation", org, "it_manager", "user", org+"_it"))
		for c := range perOrg - 2 {
			add(rel("contractor", fmt.Sprintf("%s_c%d", org, c), "organisation", "organisation", org))
		}
	}
	if len(batch) > 0 {
		if _, err := st.Write(ctx, gatehouse.Write{Updates: batch}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d relationships written in %v", orgs*perOrg, time.Since(start).Round(time.Millisecond))

	rng := mrand.New(mrand.NewPCG(5, 6)) //nolint:gosec // a fixed seed: the same checks every run
	checks := make([]gatehouse.CheckRequest, 10000)
	want := make([]bool, len(checks))
	for i := range checks {
		o, uo := rng.IntN(orgs), rng.IntN(orgs)
		if rng.IntN(2) == 0 {
			uo = o
		}
		checks[i] = gatehouse.CheckRequest{
			Resource:   gatehouse.Object{Type: "contractor", ID: fmt.Sprintf("o%d_c%d", o, rng.IntN(perOrg-2))},
			Permission: "view", Subject: gatehouse.User(fmt.Sprintf("o%d_cis", uo)),
		}
		want[i] = o == uo
	}
	check := func(i int) {
		res, err := emb.Checker.Check(ctx, checks[i%len(checks)])
		if err != nil {
			b.Fatal(err)
		}
		if res.Allowed != want[i%len(checks)] {
			b.Fatalf("check %d: allowed %v, want %v", i, res.Allowed, want[i%len(checks)])
		}
	}
	// Warm the same way for every datastore: the memory index is built on
	// a relation's first queries at a revision, Postgres fills its caches.
	for i := range 300 {
		check(len(checks) - 1 - i)
	}
	i := 0
	for b.Loop() {
		check(i)
		i++
	}
	b.ReportMetric(float64(orgs*perOrg), "rels")
}
