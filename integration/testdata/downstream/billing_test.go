// Package billing_test is a service's test suite against Gatehouse, each
// part as docs/testing.md shows it.
package billing_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/testcontainers/testcontainers-go"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/integration"
)

// gh is one Gatehouse for the whole package, on embedded SpiceDB with the
// demo data: no Docker needed.
var gh *integration.Gatehouse

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gatehouse-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := integration.Build(ctx, dir) // go build, from Gatehouse's own module
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	gh, err = integration.RunProcess(ctx, bin,
		testcontainers.WithEnv(map[string]string{"GATEHOUSE_SEED": "true"})) // the demo data
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer gh.Terminate(ctx)
	return m.Run()
}

func TestFranSeesAcmesInvoices(t *testing.T) {
	c := gh.Client() // gh.URL() and gh.APIKey() for a client of your own
	res, err := c.Check(t.Context(), client.CheckRequest{Resource: "invoice:inv3", Permission: "view", Subject: "user:fran"})
	if err != nil || !res.Allowed {
		t.Fatalf("fran cannot view inv3: %v", err)
	}
}

func TestInvoicesAreVisibleToBilling(t *testing.T) {
	sdb := integration.MustSpiceDB(t, integration.WithRelationships(
		"organisation:acme#billing_manager@user:bill",
		"invoice:inv1#organisation@organisation:acme",
	))
	gh := integration.MustGatehouse(t, sdb)
	c := gh.Client()
	res, err := c.Check(t.Context(), client.CheckRequest{Resource: "invoice:inv1", Permission: "view", Subject: "user:bill"})
	if err != nil || !res.Allowed {
		t.Fatalf("bill cannot view inv1: %v", err)
	}
}
