package spicedb

import (
	"context"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/seed"
)

// BenchmarkScratch measures what a dry run's diff costs (X7) on each
// engine: load the seed (a typical organisation and two more), check every
// member of brightcis on every permission of domain.md's tables over it,
// its contractors and invoices, remove carla, check again.
func BenchmarkScratch(b *testing.B) {
	rels, err := seed.Relationships()
	if err != nil {
		b.Fatal(err)
	}
	for _, eng := range []struct {
		name string
		make func(context.Context, string, []gatehouse.Relationship) (*Scratch, error)
	}{{"development", newDevScratch}, {"embedded", NewScratch}} {
		b.Run(eng.name, func(b *testing.B) {
			ctx := b.Context()
			var reqs []gatehouse.CheckRequest
			for _, u := range []string{"olivia", "adam", "carla", "bill"} {
				for _, obj := range []gatehouse.Object{gatehouse.OrganisationRef("brightcis"), {Type: "contractor", ID: "c1"}, {Type: "contractor", ID: "c2"}, {Type: "contractor", ID: "c3"}, {Type: "invoice", ID: "inv1"}, {Type: "invoice", ID: "inv2"}} {
					for _, p := range gatehouse.Checked(obj.Type) {
						reqs = append(reqs, gatehouse.CheckRequest{Resource: obj, Permission: p, Subject: gatehouse.User(u)})
					}
				}
			}
			carla := gatehouse.Relationship{Resource: gatehouse.OrganisationRef("brightcis"), Relation: "cis_processor", Subject: gatehouse.User("carla")}
			b.ReportMetric(float64(len(reqs)), "checks/phase")
			for b.Loop() {
				s, err := eng.make(ctx, schema.Text, rels)
				if err != nil {
					b.Fatal(err)
				}
				before, _, err := s.CheckBulk(ctx, reqs, gatehouse.Consistency{FullyConsistent: true})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Apply(ctx, []gatehouse.Update{{Op: gatehouse.Delete, Relationship: carla}}); err != nil {
					b.Fatal(err)
				}
				after, _, err := s.CheckBulk(ctx, reqs, gatehouse.Consistency{FullyConsistent: true})
				if err != nil {
					b.Fatal(err)
				}
				lost := 0
				for i := range before {
					if before[i].Err != nil || after[i].Err != nil {
						b.Fatal(before[i].Err, after[i].Err)
					}
					if before[i].Allowed && !after[i].Allowed {
						lost++
					}
				}
				if lost != 3 { // member, view c1, view c2
					b.Fatalf("carla lost %d permissions, want 3", lost)
				}
				s.Close()
			}
		})
	}
}
