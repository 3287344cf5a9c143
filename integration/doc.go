// Package integration runs Gatehouse and its SpiceDB for tests, the way
// production runs them, shaped like a testcontainers-go module: SpiceDB in
// a container with Gatehouse's schema written (RunSpiceDB, over SpiceDB's
// official module sdbtestcontainer), on its memory datastore or on
// Postgres, or several nodes of it (RunSpiceDBCluster); Gatehouse in front
// of it in a container on a Docker network of its own (Run), or as a
// process built from source (Build, RunProcess), which on embedded SpiceDB
// needs no Docker. Gatehouse's own tests use it, and so can the test suite
// of any service that asks Gatehouse (docs/testing.md; a module of that
// kind is in testdata/downstream). The five lines a test writes:
//
//	sdb := integration.MustSpiceDB(t)       // SpiceDB in a container, schema written
//	gh := integration.MustGatehouse(t, sdb) // Gatehouse in a container in front of it
//	c := gh.Client(client.WithActor("alice"))
//	res, err := c.Check(t.Context(), client.CheckRequest{Resource: "organisation:acme", Permission: "member", Subject: "user:alice"})
//	if err != nil || !res.Allowed { t.Fatalf("alice is not a member of acme: %v", err) }
//
// Every option is a testcontainers.ContainerCustomizer (options.go), so
// the harness's own mix with testcontainers' (WithEnv, WithImage) and
// sdbtestcontainer's. The Run functions return what they start for the
// caller to Terminate, for TestMain; the Must functions remove it when the
// test ends, after printing its last lines if the test failed. Without
// Docker the Must helpers skip the test and say so; with CI=true they fail
// it instead.
//
// Files: gatehouse.go (Gatehouse in a container, and the Gatehouse type),
// process.go (Build, and Gatehouse as a process), spicedb.go (SpiceDB),
// cluster.go (SpiceDB nodes dispatching to each other), servetesting.go
// (SpiceDB's serve-testing, one datastore per token), postgres.go (a fresh
// database per test), docker.go (images, Docker, clean-up), options.go.
//
// It may import Gatehouse's client and schema packages, testcontainers,
// SpiceDB's test module and pgx; nothing of the server side (workflow,
// server, spicedb, console): it sees Gatehouse from the outside, as its
// users do, through the gatehouse binary it builds or the image.
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
