package spicedb

import (
	"context"
	"testing"
	"time"

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

// TestScratchPool: a scratch SpiceDB given back is used again, and holds
// nothing of its last use.
func TestScratchPool(t *testing.T) {
	ctx := t.Context()
	p := NewScratchPool(schema.Text, 1)
	defer p.Close()
	if len(p.types) < 9 {
		t.Fatalf("definitions %v", p.types)
	}
	rels, err := seed.Relationships()
	if err != nil {
		t.Fatal(err)
	}
	check := gatehouse.CheckRequest{Resource: gatehouse.OrganisationRef("globex"), Permission: gatehouse.PermMember, Subject: gatehouse.User("pat"), Consistency: gatehouse.Consistency{FullyConsistent: true}}
	first, err := p.Start(ctx, rels)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := first.Check(ctx, check); err != nil || !r.Allowed {
		t.Fatalf("pat is not a member of globex in the first scratch: %v %v", r, err)
	}
	used := first.SpiceDB
	first.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p.mu.Lock()
		n := len(p.idle)
		p.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scratch was never given back")
		}
	}
	second, err := p.Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if second.SpiceDB != used {
		t.Error("a new scratch was started while one was idle")
	}
	if r, err := second.Check(ctx, check); err != nil || r.Allowed {
		t.Errorf("the reused scratch still answers from its last use: %v %v", r, err)
	}
	for _, typ := range p.types {
		if left, _, err := second.ReadRelationships(ctx, gatehouse.Filter{ResourceType: typ}, gatehouse.Consistency{FullyConsistent: true}); err != nil || len(left) > 0 {
			t.Errorf("%s: %d relationships left (%v)", typ, len(left), err)
		}
	}
}
