package audit

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-authz/gatehouse"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Postgres is a durable Trail in a Postgres database of its own
// (GATEHOUSE_AUDIT_DATABASE), shared by every Gatehouse replica.
type Postgres struct {
	pool *pgxpool.Pool
}

// OpenPostgres connects to the database at uri and migrates it to the
// newest schema of the trail (golang-migrate, which locks against other
// replicas migrating at the same time). Close releases it.
func OpenPostgres(ctx context.Context, uri string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(uri)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_AUDIT_DATABASE is not a Postgres URI: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the audit database: %w", err)
	}
	if err := migrateUp(pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Postgres{pool: pool}, nil
}

func migrateUp(pool *pgxpool.Pool) error {
	src, err := iofs.New(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("reading the audit migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{MigrationsTable: "audit_schema_migrations"})
	if err != nil {
		return fmt.Errorf("preparing the audit database migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return fmt.Errorf("preparing the audit database migrations: %w", err)
	}
	// Close releases the connection the driver holds (and its lock).
	defer func() { _, _ = m.Close() }()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrating the audit database: %w", err)
	}
	return nil
}

// Close closes the connections.
func (p *Postgres) Close() { p.pool.Close() }

// Durable implements Trail.
func (p *Postgres) Durable() bool { return true }

// Append implements Trail in one transaction: the events, then the cursor.
func (p *Postgres) Append(ctx context.Context, events []gatehouse.AuditRecord, cursor string) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, e := range events {
			changes, err := json.Marshal(nonNil(e.Changes))
			if err != nil {
				return err
			}
			var details []byte
			if len(e.Details) > 0 {
				if details, err = json.Marshal(e.Details); err != nil {
					return err
				}
			}
			batch.Queue(`INSERT INTO audit_events
				(revision, position, write_id, at, actor, key, organisation, action, reason, details, changes, zedtoken)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
				ON CONFLICT (revision, position, organisation) DO NOTHING`,
				e.Revision, e.Position, e.Write, e.At, e.Actor, e.Key, e.Organisation, e.Action, e.Reason, details, changes, e.ZedToken)
		}
		if cursor != "" {
			batch.Queue(`INSERT INTO audit_cursor (id, zedtoken) VALUES (1, $1)
				ON CONFLICT (id) DO UPDATE SET zedtoken = EXCLUDED.zedtoken, updated_at = now()`, cursor)
		}
		if batch.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, batch).Close()
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Cursor implements Trail.
func (p *Postgres) Cursor(ctx context.Context) (string, error) {
	var tok string
	err := p.pool.QueryRow(ctx, `SELECT zedtoken FROM audit_cursor WHERE id = 1`).Scan(&tok)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the audit cursor: %w", err)
	}
	return tok, nil
}

// where builds the filter of q over the columns of audit_events.
func where(q gatehouse.AuditQuery, args []any) (string, []any) {
	var conds []string
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.Platform {
		conds = append(conds, "organisation = ''")
	}
	if q.Organisation != "" {
		add("organisation = ?", q.Organisation)
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if !q.Since.IsZero() {
		add("at >= ?", q.Since)
	}
	if !q.Until.IsZero() {
		add("at <= ?", q.Until)
	}
	if len(conds) == 0 {
		return "TRUE", args
	}
	return strings.Join(conds, " AND "), args
}

const columns = `seq, at, actor, key, organisation, action, reason, details, changes, zedtoken, write_id`

func scan(rows pgx.Rows) (int64, gatehouse.AuditEvent, error) {
	var (
		seq              int64
		e                gatehouse.AuditEvent
		details, changes []byte
	)
	if err := rows.Scan(&seq, &e.At, &e.Actor, &e.Key, &e.Organisation, &e.Action, &e.Reason, &details, &changes, &e.ZedToken, &e.Write); err != nil {
		return 0, e, err
	}
	e.At = e.At.UTC()
	if len(details) > 0 {
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return 0, e, err
		}
	}
	if err := json.Unmarshal(changes, &e.Changes); err != nil {
		return 0, e, err
	}
	return seq, e, nil
}

// List implements Trail: newest first by the order the trail stored them,
// which is the order of SpiceDB's Watch stream.
func (p *Postgres) List(ctx context.Context, q gatehouse.AuditQuery) ([]gatehouse.AuditEvent, string, error) {
	before, limit, err := pageOf(q)
	if err != nil {
		return nil, "", err
	}
	cond, args := where(q, nil)
	if before != 0 {
		args = append(args, before)
		cond += " AND seq < $" + strconv.Itoa(len(args))
	}
	args = append(args, limit+1)
	rows, err := p.pool.Query(ctx, `SELECT `+columns+` FROM audit_events WHERE `+cond+
		` ORDER BY seq DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", unavailable(err)
	}
	defer rows.Close()
	out := []gatehouse.AuditEvent{}
	var last int64
	next := ""
	for rows.Next() {
		if len(out) == limit {
			next = strconv.FormatInt(last, 10)
			break
		}
		seq, e, err := scan(rows)
		if err != nil {
			return nil, "", unavailable(err)
		}
		out = append(out, e)
		last = seq
	}
	if err := rows.Err(); err != nil {
		return nil, "", unavailable(err)
	}
	return out, next, nil
}

// exportPage is how many events Export reads per query. Each page is
// read and its connection released before fn sees any of it, so a slow
// reader of an export holds no connection the Watch consumer needs.
const exportPage = 500

// Export implements Trail, a page of exportPage events at a time (keyset
// paging on seq, so events appended meanwhile are neither skipped nor
// repeated).
func (p *Postgres) Export(ctx context.Context, q gatehouse.AuditQuery, fn func(gatehouse.AuditEvent) error) error {
	if err := checkQuery(q); err != nil {
		return err
	}
	var after int64
	for {
		cond, args := where(q, nil)
		args = append(args, after, exportPage)
		rows, err := p.pool.Query(ctx, `SELECT `+columns+` FROM audit_events WHERE `+cond+
			` AND seq > $`+strconv.Itoa(len(args)-1)+` ORDER BY seq ASC LIMIT $`+strconv.Itoa(len(args)), args...)
		if err != nil {
			return unavailable(err)
		}
		var page []gatehouse.AuditEvent
		for rows.Next() {
			seq, e, err := scan(rows)
			if err != nil {
				rows.Close()
				return unavailable(err)
			}
			page = append(page, e)
			after = seq
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return unavailable(err)
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
	}
}

// Prune implements Trail.
func (p *Postgres) Prune(ctx context.Context, before time.Time) (int64, error) {
	tag, err := p.pool.Exec(ctx, `DELETE FROM audit_events WHERE at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("pruning the audit trail: %w", err)
	}
	return tag.RowsAffected(), nil
}

// unavailable reports a failure of the audit database as 503.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "the audit database is not answering", Err: err}
}
