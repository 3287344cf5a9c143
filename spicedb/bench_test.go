package spicedb_test

import (
	"fmt"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
)

// BenchmarkCheckPaths compares the two ways embedded mode can answer a
// check, on the same datastore: SpiceDB's in-process engine (pkg/embedded)
// and the full gRPC API over the in-memory listener. Gatehouse uses the
// faster for checks without a ZedToken.
func BenchmarkCheckPaths(b *testing.B) {
	emb, st := mustEmbeddedMemory(b)
	var w gatehouse.Write
	for i := range 300 {
		r, _ := gatehouse.ParseRelationship("x", fmt.Sprintf("organisation:o%d#cis_processor@user:u%d", i, i))
		w.Updates = append(w.Updates, gatehouse.Update{Relationship: r})
		r, _ = gatehouse.ParseRelationship("x", fmt.Sprintf("contractor:c%d#organisation@organisation:o%d", i, i))
		w.Updates = append(w.Updates, gatehouse.Update{Relationship: r})
	}
	if _, err := st.Write(b.Context(), w); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"engine", "grpc"} {
		b.Run(mode, func(b *testing.B) {
			s := st
			if mode == "grpc" {
				s = spicedb.New(emb.Conn)
			}
			i := 0
			for b.Loop() {
				i++
				res, err := s.Check(b.Context(), gatehouse.CheckRequest{Resource: gatehouse.Object{Type: "contractor", ID: fmt.Sprintf("c%d", i%300)}, Permission: "view", Subject: gatehouse.User(fmt.Sprintf("u%d", i%300))})
				if err != nil || !res.Allowed {
					b.Fatal(err, res)
				}
			}
		})
	}
}

// mustEmbeddedMemory starts SpiceDB embedded on the memory datastore with
// Gatehouse's schema, and a Store over it as Gatehouse makes one.
func mustEmbeddedMemory(b *testing.B) (*spicedb.Embedded, *spicedb.SpiceDB) {
	b.Helper()
	emb, err := spicedb.StartEmbedded(b.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = emb.Close() })
	st := spicedb.New(emb.Conn, emb.Options()...)
	if err := st.WriteSchema(b.Context(), schema.Text); err != nil {
		b.Fatal(err)
	}
	return emb, st
}
