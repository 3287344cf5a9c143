package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"testing"

	"github.com/testcontainers/testcontainers-go"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/integration"
)

// TestMain starts the demo server the examples run against (docs/client.md
// shows their bodies): gatehouse serve on embedded SpiceDB with the demo
// data, built from this tree, its address and key in GATEHOUSE_URL and
// GATEHOUSE_API_KEY as the CLI takes them.
func TestMain(m *testing.M) {
	os.Exit(runWithDemo(m))
}

func runWithDemo(m *testing.M) int {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gatehouse-client-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin, err := integration.Build(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client examples:", err)
		return 1
	}
	gh, err := integration.RunProcess(ctx, bin, testcontainers.WithEnv(map[string]string{"GATEHOUSE_SEED": "true"}))
	if err != nil {
		fmt.Fprintln(os.Stderr, "client examples:", err)
		return 1
	}
	defer func() { _ = gh.Terminate(ctx) }()
	_ = os.Setenv("GATEHOUSE_URL", gh.URL())
	_ = os.Setenv("GATEHOUSE_API_KEY", gh.APIKey())
	return m.Run()
}

func ExampleClient_Check() {
	ctx := context.Background()
	c := client.New(os.Getenv("GATEHOUSE_URL"), os.Getenv("GATEHOUSE_API_KEY"))

	res, err := c.Check(ctx, client.CheckRequest{
		Resource: "contractor:c1", Permission: "view", Subject: "user:carla",
	})
	if err != nil {
		log.Fatal(err) // transport trouble, or a *client.Error from the server
	}
	fmt.Println(res.Allowed)
	// Output: true
}

func ExampleError() {
	ctx := context.Background()
	c := client.New(os.Getenv("GATEHOUSE_URL"), os.Getenv("GATEHOUSE_API_KEY"))

	_, err := c.As("pat").GrantRole(ctx, "globex", "bob", "administrator")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code == client.EFORBIDDEN, e.Permission)
	}

	_, err = c.As("grace").CreateOrganisation(ctx, "acme", "Acme Ltd")
	if client.ErrorCode(err) == client.ECONFLICT {
		fmt.Println("acme exists already")
	}
	// Output:
	// 403 true manage_members
	// acme exists already
}

func ExampleWithActor() {
	ctx := context.Background()
	url, key := os.Getenv("GATEHOUSE_URL"), os.Getenv("GATEHOUSE_API_KEY")

	alice := client.New(url, key, client.WithActor("alice"))
	org, err := alice.CreateOrganisation(ctx, "initech", "Initech") // alice becomes the owner
	if err != nil {
		log.Fatal(err)
	}
	_, err = alice.GrantRole(ctx, "initech", "bob", "administrator")
	if err != nil {
		log.Fatal(err)
	}
	_, err = alice.GrantRole(ctx, "initech", "sam", "security_admin", client.PreviousBecomesAlternate())
	if err != nil {
		log.Fatal(err)
	}
	cr, err := alice.As("bob").FileChangeRequest(ctx, "initech", client.NewChangeRequest{
		ID: "cr1", Kind: "public_facing", Target: "page:pricing",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(org.ID, cr.Status) // initech names no contact yet, so nobody may authorise it (C9)
	// Output: initech blocked
}

func ExampleAtLeastAsFresh() {
	ctx := context.Background()
	c := client.New(os.Getenv("GATEHOUSE_URL"), os.Getenv("GATEHOUSE_API_KEY"))

	w, err := c.Touch(ctx, "onboarding", "organisation:acme#administrator@user:bob")
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Check(ctx, client.CheckRequest{
		Resource: "organisation:acme", Permission: "edit_details", Subject: "user:bob",
		Consistency: client.AtLeastAsFresh(w.ZedToken),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Allowed)

	fresh := c.WithConsistency(client.AtLeastAsFresh(w.ZedToken)) // or client.FullyConsistent()
	res, err = fresh.Check(ctx, client.CheckRequest{Resource: "organisation:acme", Permission: "view_reports", Subject: "user:bob"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Allowed)
	// Output:
	// true
	// true
}

func ExampleClient_As() {
	ctx := context.Background()
	c := client.New(os.Getenv("GATEHOUSE_URL"), os.Getenv("GATEHOUSE_API_KEY"))

	mia := c.As("mia")
	waiting, err := mia.ListChangeRequests(ctx, "globex", client.ListChangeRequestsOptions{AwaitingMe: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(waiting.ChangeRequests[0].ID, waiting.ChangeRequests[0].Status)

	cr, err := c.As("pat").FileChangeRequest(ctx, "globex", client.NewChangeRequest{
		ID: "cr2", Kind: "public_facing", Target: "page:about",
	})
	if err != nil {
		log.Fatal(err)
	}
	cr, err = c.As("tom").RejectChangeRequest(ctx, "cr2", "the page is frozen")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cr.ID, cr.Status)

	cr, err = c.As("fiona").RaiseFlags(ctx, "globex-cr-pending", client.FlagsRequest{SubstantialCharge: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cr.ID, cr.Status, cr.ApprovalsNeeded)

	_, err = c.As("stella").SetDesignation(ctx, "globex", "mia", "unavailable_contact", "on leave")
	if err != nil {
		log.Fatal(err)
	}
	cr, err = c.As("pat").GetChangeRequest(ctx, "globex-cr-pending")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cr.ID, cr.Status, cr.Authorisers)
	// Output:
	// globex-cr-pending pending
	// cr2 rejected
	// globex-cr-pending pending [authorisation charge]
	// globex-cr-pending pending [user:tom]
}
