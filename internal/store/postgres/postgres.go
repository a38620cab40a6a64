// Package postgres implements store.Store on PostgreSQL (pgx and its pool),
// for several `handinger serve` replicas sharing one database.
//
// Every call that writes is one statement where it can be: writable common
// table expressions chain the changes of a create, a claim or a batch of
// finishes, so that each is atomic without BEGIN and COMMIT round trips,
// and reads one snapshot. Replicas coordinate through row locks only: a
// claim locks the turns it takes with FOR UPDATE SKIP LOCKED, a follow-up
// locks its task's row, and every change to a claimed turn is fenced by
// its lease owner and attempt.
//
// All SQL names tables without a schema: the tables, and the migration
// bookkeeping, live in the first schema of the connection's search_path,
// which a DSN may set with a search_path parameter.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/sqlkit"
)

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use, and several Stores, in several processes, may share one
// database.
type Store struct {
	pool *pgxpool.Pool
	// clock aligns this process's lease times with the database's clock.
	clock dbClock
	// health records whether the latest writes (creates, claims, finishes)
	// could be written, for Ping.
	health store.WriteHealth
}

var _ store.Store = (*Store)(nil)

// Open connects a pool to the database dsn names (a postgres:// or
// postgresql:// URL) and brings its schema up to date. It refuses, with an
// error wrapping ErrSchemaTooNew, a database migrated by a newer binary.
//
// The pool holds up to max(8, 4×GOMAXPROCS) connections unless the DSN sets
// pool_max_conns.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := poolConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	err = pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error {
		return migrate(ctx, c.Conn())
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.clock.sync(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return s, nil
}

// Migrate brings the schema of the database dsn names up to date, then
// disconnects: for deploy pipelines that migrate before starting replicas.
// It refuses a newer schema as Open does.
func Migrate(ctx context.Context, dsn string) error {
	cfg, err := poolConfig(dsn) // strips the pool's own parameters
	if err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	err = migrate(ctx, conn)
	if cerr := conn.Close(context.WithoutCancel(ctx)); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}

// poolConfig parses dsn and sizes the pool unless dsn does.
func poolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err)
	}
	if !setsParam(dsn, "pool_max_conns") {
		// pgxpool's default, max(4, NumCPU), starves a replica whose HTTP
		// handlers, runners and reaper all wait on the database.
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	return cfg, nil
}

// setsParam reports whether dsn, a URL or keyword/value string, sets name.
func setsParam(dsn, name string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Has(name)
	}
	return strings.Contains(dsn, name+"=")
}

// Pool returns the store's connection pool, for what shares the database
// beside the store (the LISTEN/NOTIFY bus). Closing the store closes it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return s.health.Err()
}

// Close closes the pool, waiting for the connections in use to come back.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// SQLSTATE codes the store handles.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// unavailable are the SQLSTATE codes of a database that cannot take the
// write now: disk full, read-only, out of memory or connections, starting
// or stopping, I/O error.
var unavailable = map[string]bool{
	"53100": true, "53200": true, "53300": true, "25006": true,
	"57P01": true, "57P02": true, "57P03": true, "58030": true,
}

// translate maps driver errors to the store's sentinels, so that nothing
// above the store inspects them.
func translate(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	pe := pgError(err)
	switch {
	case pe != nil && pe.Code == codeUniqueViolation:
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	case pe != nil && unavailable[pe.Code]:
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return err
}

// pgError returns the server's error inside err, or nil.
func pgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// maxTries bounds how often a statement PostgreSQL aborted to break a
// deadlock, or a create that lost a race, is tried.
const maxTries = 5

// retry runs fn until it succeeds, fails for a reason other than a
// deadlock or a serialization failure, or was tried maxTries times. fn must
// be one transaction (one statement is): an aborted one changed nothing.
//
// The store's lock order (a turn, then its task; tasks alone) leaves no
// deadlock between its own statements that the claim's SKIP LOCKED does not
// avoid, but a retry costs nothing when there is none.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for range maxTries {
		if err = fn(); !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

func retryable(err error) bool {
	pe := pgError(err)
	return pe != nil && (pe.Code == codeDeadlockDetected || pe.Code == codeSerializationFailure)
}

// Times are stored as UTC unix nanoseconds.

func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromUnixNano(n int64) time.Time { return time.Unix(0, n).UTC() }

// stored is t as it reads back once stored: in UTC, to the nanosecond,
// without a monotonic clock reading.
func stored(t time.Time) time.Time { return fromUnixNano(unixNano(t)) }

func fromNullUnixNano(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := fromUnixNano(*n)
	return &t
}

// nullBytes stores an empty slice as NULL.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// qualified is sqlkit.Qualified, short for the queries.
var qualified = sqlkit.Qualified

// Warnings says what in the database's configuration will hurt the server
// over time: today, autovacuum turned off.
func (s *Store) Warnings(ctx context.Context) []string {
	var on bool
	err := s.pool.QueryRow(ctx, "SELECT current_setting('autovacuum')::boolean").Scan(&on)
	if err != nil || on {
		return nil
	}
	return []string{"PostgreSQL runs with autovacuum off: the turns table is also the queue, and without " +
		"VACUUM its dead rows pile up and claims slow down over time; turn autovacuum on, or VACUUM " +
		"ANALYZE turns, tasks and idempotency_keys regularly"}
}
