package integration

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// CreateDatabase creates a fresh, empty database in the Postgres at uri
// (whose user may CREATE DATABASE) and returns its URI and a function that
// drops it.
func CreateDatabase(ctx context.Context, uri string) (string, func(context.Context) error, error) {
	return createDatabase(ctx, uri, "")
}

// CreateDatabaseFrom is CreateDatabase with a copy of the database named
// template (in the same Postgres) instead of an empty one: Postgres copies
// its files, much faster than migrating afresh. Postgres refuses while
// anything is connected to template.
func CreateDatabaseFrom(ctx context.Context, uri, template string) (string, func(context.Context) error, error) {
	if template == "" {
		return "", nil, fmt.Errorf("create database: no template named")
	}
	return createDatabase(ctx, uri, template)
}

func createDatabase(ctx context.Context, uri, template string) (string, func(context.Context) error, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", nil, fmt.Errorf("postgres URI: %w", err)
	}
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		return "", nil, fmt.Errorf("connect to postgres at %s: %w", u.Redacted(), err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	name := "gatehouse_test_" + randomHex(6)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	for try := 0; ; try++ {
		_, err = conn.Exec(ctx, stmt)
		// 55006: the template is still in use, by a session that is
		// closing; it goes within moments.
		var pgErr *pgconn.PgError
		if err == nil || template == "" || !errors.As(err, &pgErr) || pgErr.Code != "55006" || try == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, uri)
		if err != nil {
			return fmt.Errorf("connect to postgres to drop %s: %w", name, err)
		}
		defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
		// FORCE ends the sessions a stopped SpiceDB may have left behind.
		// It may not end an autovacuum worker busy in the database (SQLSTATE
		// 42501, seen in CI), which finishes soon: try again a few times.
		for try := 0; ; try++ {
			_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			var pgErr *pgconn.PgError
			if err == nil || try == 10 || !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	fresh := *u
	fresh.Path = "/" + name
	return fresh.String(), drop, nil
}

// MustPostgresDatabase creates a fresh database in the Postgres named by
// GATEHOUSE_TEST_POSTGRES_URI and drops it when the test ends; pass its
// URI to WithPostgres. Without that variable, or when that Postgres does
// not answer, it skips the test, saying so (fails it under CI=true).
func MustPostgresDatabase(tb testing.TB) string {
	tb.Helper()
	return mustPostgres(tb, "")
}

// MustPostgresDatabaseFrom is MustPostgresDatabase with a copy of the
// database named template (see CreateDatabaseFrom): a template migrated
// once per test binary saves every test its migrations.
func MustPostgresDatabaseFrom(tb testing.TB, template string) string {
	tb.Helper()
	return mustPostgres(tb, template)
}

func mustPostgres(tb testing.TB, template string) string {
	tb.Helper()
	base := os.Getenv(EnvPostgresURI)
	if base == "" {
		skipOrFail(tb, "this test needs Postgres: set %s to a Postgres whose user may create databases "+
			"(e.g. postgres://gatehouse:gatehouse@127.0.0.1:5432/gatehouse?sslmode=disable)", EnvPostgresURI)
	}
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	defer cancel()
	uri, drop, err := createDatabase(ctx, base, template)
	if err != nil {
		skipOrFail(tb, "Postgres at %s is not usable: %v", EnvPostgresURI, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			tb.Errorf("integration: %v", err)
		}
	})
	return uri
}
