package spicedb

import (
	"testing"
	"time"
)

// TestEmbeddedCloseTwice: a Close right after the start stops SpiceDB as
// asked, with no error, and a second Close answers at once with the
// first's answer (it waited 10 s for a stop that had been reported).
func TestEmbeddedCloseTwice(t *testing.T) {
	for range 3 {
		emb, err := StartEmbedded(t.Context(), EmbeddedConfig{Datastore: "memory"})
		if err != nil {
			t.Fatal(err)
		}
		if err := emb.Close(); err != nil {
			t.Fatalf("Close right after the start: %v", err)
		}
		start := time.Now()
		if err := emb.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("second Close took %v", d)
		}
	}
}
