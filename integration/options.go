package integration

import (
	"testing"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Every option of this package is a testcontainers.ContainerCustomizer,
// so one list takes the harness's options, SpiceDB's module's
// (sdbtestcontainer.WithHTTP, say) and testcontainers' own
// (testcontainers.WithEnv, testcontainers.WithImage, ...), in any order;
// a later option wins over an earlier one. The harness's own leave the
// container request alone and are read by the function that starts the
// server, the pattern of SpiceDB's sdbtestcontainer module.

// option is a setting of the harness, carried as a customizer.
type option func(*settings)

// Customize leaves the request alone: the Run functions read the setting.
func (option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// settings is what the harness's own options say.
type settings struct {
	apiKey        string
	spicedb       *SpiceDB
	cluster       *SpiceDBCluster
	key           string
	schema        *string
	relationships []string
	postgresURI   string
	network       *testcontainers.DockerNetwork
	// logger receives testcontainers' output for every container a Run
	// starts, its helpers included (the Must functions set it).
	logger testcontainers.ContainerCustomizer
}

// settingsOf reads the harness's options out of opts, in order.
func settingsOf(opts []testcontainers.ContainerCustomizer) settings {
	var s settings
	for _, o := range opts {
		if o, ok := o.(option); ok {
			o(&s)
		}
	}
	return s
}

// WithAPIKey sets the API key of Gatehouse (default: a random one), which
// APIKey returns and Client uses.
func WithAPIKey(key string) testcontainers.ContainerCustomizer {
	return option(func(s *settings) { s.apiKey = key })
}

// WithSpiceDB puts Gatehouse in front of sdb: on sdb's Docker network for a
// container (GATEHOUSE_SPICEDB=spicedb:50051), at sdb's published port for
// a process; with sdb's key, in plaintext. Without it Gatehouse runs
// SpiceDB embedded, on its memory datastore, with no demo data.
func WithSpiceDB(sdb *SpiceDB) testcontainers.ContainerCustomizer {
	return option(func(s *settings) { s.spicedb, s.cluster = sdb, nil })
}

// WithSpiceDBCluster puts Gatehouse in front of every node of c, balancing
// over them: by the nodes' host addresses for a process
// (GATEHOUSE_SPICEDB=host:port,host:port,...), by their shared alias on
// c's network for a container (dns:///spicedb:50051).
func WithSpiceDBCluster(c *SpiceDBCluster) testcontainers.ContainerCustomizer {
	return option(func(s *settings) { s.cluster, s.spicedb = c, nil })
}

// WithPresharedKey sets SpiceDB's gRPC preshared key (default: a random
// one), which PresharedKey returns; sdbtestcontainer.WithPresharedKeys
// does the same.
func WithPresharedKey(key string) testcontainers.ContainerCustomizer {
	return option(func(s *settings) { s.key = key })
}

// WithSchema writes schema instead of Gatehouse's (schema.Text) once
// SpiceDB serves; sdbtestcontainer.WithBootstrapSchema does the same.
func WithSchema(schema string) testcontainers.ContainerCustomizer {
	return option(func(s *settings) { s.schema = &schema })
}

// WithRelationships writes the relationships
// ("organisation:acme#owner@user:alice") once the schema is written;
// sdbtestcontainer.WithBootstrapRelationships does the same.
func WithRelationships(rels ...string) testcontainers.ContainerCustomizer {
	return option(func(s *settings) { s.relationships = append(s.relationships, rels...) })
}

// WithPostgres runs SpiceDB on the Postgres database at uri, as the host
// sees it; a host of localhost or 127.0.0.1 becomes host.docker.internal
// inside the container. The database is migrated to the image's version
// first (spicedb migrate head, in a container of its own). See
// MustPostgresDatabase for a fresh database per test.
func WithPostgres(uri string) testcontainers.ContainerCustomizer {
	return option(func(s *settings) { s.postgresURI = uri })
}

// WithNetwork attaches SpiceDB to nw instead of a network of its own; the
// caller removes nw.
func WithNetwork(nw *testcontainers.DockerNetwork) testcontainers.ContainerCustomizer {
	return option(func(s *settings) { s.network = nw })
}

// logTo sends testcontainers' output for every container of a start to the
// test log, shown only for a failed test or with -v.
func logTo(tb testing.TB) testcontainers.ContainerCustomizer {
	return option(func(s *settings) { s.logger = testcontainers.WithLogger(tclog.TestLogger(tb)) })
}

// withLogger returns cs with the start's logger, if any, appended.
func (s settings) withLogger(cs ...testcontainers.ContainerCustomizer) []testcontainers.ContainerCustomizer {
	if s.logger != nil {
		return append(cs, s.logger)
	}
	return cs
}

// envOf returns the environment that opts give a process: base, with
// every testcontainers.WithEnv among them applied in order, as a container
// would get it.
func envOf(base map[string]string, opts []testcontainers.ContainerCustomizer) (map[string]string, error) {
	req := testcontainers.GenericContainerRequest{ContainerRequest: testcontainers.ContainerRequest{Env: base}}
	for _, o := range opts {
		if err := o.Customize(&req); err != nil {
			return nil, err
		}
	}
	return req.Env, nil
}
