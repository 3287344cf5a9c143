package spicedb_test

import (
	"fmt"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// BenchmarkLookupContractors looks up the contractors a CIS processor may
// view in an organisation of 10,000 (half admin-only) on embedded memory,
// each time at a new revision (a write between lookups), so SpiceDB's
// caches never answer it: the cost of a lookup after a write.
func BenchmarkLookupContractors(b *testing.B) {
	_, st := mustEmbeddedMemory(b)
	rels := []string{"organisation:big#cis_processor@user:cis"}
	for i := range 10000 {
		rels = append(rels, fmt.Sprintf("contractor:c%d#organisation@organisation:big", i))
		if i%2 == 1 {
			rels = append(rels, fmt.Sprintf("contractor:c%d#admin_only@user:*", i))
		}
	}
	for i := 0; i < len(rels); i += 1000 {
		var w gatehouse.Write
		for _, s := range rels[i:min(i+1000, len(rels))] {
			r, err := gatehouse.ParseRelationship("x", s)
			if err != nil {
				// ParseRelationship refuses the wildcard K2 flag; build it by hand.
				r = gatehouse.Relationship{Resource: gatehouse.Object{Type: "contractor", ID: s[len("contractor:") : len(s)-len("#admin_only@user:*")]}, Relation: "admin_only", Subject: gatehouse.Subject{Object: gatehouse.Object{Type: "user", ID: "*"}}}
			}
			w.Updates = append(w.Updates, gatehouse.Update{Relationship: r})
		}
		if _, err := st.Write(b.Context(), w); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		r, _ := gatehouse.ParseRelationship("x", fmt.Sprintf("organisation:other%d#cis_processor@user:u%d", i, i))
		if _, err := st.Write(b.Context(), gatehouse.Write{Updates: []gatehouse.Update{{Relationship: r}}}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := st.LookupResources(b.Context(), gatehouse.LookupResourcesRequest{ResourceType: "contractor", Permission: "view", Subject: gatehouse.User("cis"), Limit: 10000})
		if err != nil || len(res.Resources) != 5000 {
			b.Fatal(err, len(res.Resources))
		}
	}
}
