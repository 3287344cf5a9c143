// Package integration starts Gatehouse and its SpiceDB for tests, the way
// production runs them: SpiceDB in a container with Gatehouse's schema
// written (SpiceDB's official testcontainers module, sdbtestcontainer,
// underneath), on its memory datastore or on Postgres, and Gatehouse in
// front of it, in a container on a Docker network of its own or as a
// process. Gatehouse's own tests use it, and so can the test suite of any
// service that asks Gatehouse. The five lines a test writes:
//
//	sdb := integration.MustSpiceDB(t)       // SpiceDB in a container, schema written
//	gh := integration.MustGatehouse(t, sdb) // Gatehouse in a container in front of it
//	c := gh.Client(client.WithActor("alice"))
//	res, err := c.Check(t.Context(), client.CheckRequest{Resource: "organisation:acme", Permission: "member", Subject: "user:alice"})
//	if err != nil || !res.Allowed { t.Fatalf("alice is not a member of acme: %v", err) }
//
// Everything started is removed when the test ends. Without Docker the
// Must helpers skip the test and say so; with CI=true they fail it instead.
//
// The environment chooses the images and the Postgres:
//
//   - SPICEDB_IMAGE: the SpiceDB image (default DefaultSpiceDBImage, the
//     official authzed/spicedb at the version Gatehouse pins). Where no
//     registry can be reached, `make images` builds gatehouse-spicedb:<version>.
//   - GATEHOUSE_IMAGE: the Gatehouse image (default gatehouse:dev, built by
//     `make images`), for MustGatehouse.
//   - GATEHOUSE_TEST_POSTGRES_URI: a Postgres whose user may create
//     databases, as the host sees it (postgres://user:pw@127.0.0.1:5432/db);
//     MustPostgresDatabase makes a fresh database in it per test, and the
//     SpiceDB container reaches it through host.docker.internal.
//   - testcontainers' own: TESTCONTAINERS_RYUK_DISABLED=true where its
//     reaper image cannot be pulled, and TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
//     where it believes it runs inside a container (a /.dockerenv file) but
//     Docker publishes ports on this machine.
package integration
