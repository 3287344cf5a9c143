package spicedb_test

import (
	"os"
	"testing"
)

// MustPostgresURI returns the Postgres of GATEHOUSE_TEST_POSTGRES_URI; it
// skips without one, except under CI, where it fails.
func MustPostgresURI(tb testing.TB) string {
	tb.Helper()
	uri := os.Getenv("GATEHOUSE_TEST_POSTGRES_URI")
	if uri == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("GATEHOUSE_TEST_POSTGRES_URI is not set; .ci/run starts Postgres and sets it")
		}
		tb.Skip("GATEHOUSE_TEST_POSTGRES_URI is not set: skipping the Postgres datastore test (.ci/run sets it)")
	}
	return uri
}
