// Package sqlite implements store.Store on an embedded SQLite database file
// (modernc.org/sqlite, no cgo).
//
// Writes go through a single connection that begins every transaction with
// BEGIN IMMEDIATE, so writers of this process queue in Go instead of failing
// with SQLITE_BUSY, and reads use a pool of read-only connections that WAL
// lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/sqlkit"
)

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	w               *sql.DB // one connection, BEGIN IMMEDIATE: every write
	c               *sql.DB // one connection for background checkpoints
	stopCheckpoints func()
	creates         chan createRequest // to the group committer
	closed          chan struct{}
	createsDone     chan struct{}
	closeOnce       sync.Once
	r               *sql.DB              // read-only pool
	ws              map[string]*sql.Stmt // the prepared statements, on w
	rs              map[string]*sql.Stmt // the prepared statements, on r
	health          store.WriteHealth    // the last writes' outcome, for Ping
}

var _ store.Store = (*Store)(nil)

// errClosed is returned by calls on a closed Store.
var errClosed = errors.New("sqlite store is closed")

// Every connection waits for locks instead of failing at once, checks
// foreign keys, and uses WAL with synchronous=NORMAL. In WAL mode NORMAL
// syncs at checkpoints, not at each commit: a committed transaction is in
// the WAL file, in the OS's page cache, when COMMIT returns, so an
// acknowledged create survives a crash of the process; only a power loss or
// an OS crash can lose the last transactions before a checkpoint, and never
// corrupts the database.
const pragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"

// writerPragmas are for the one connection that writes. Checkpoints, which
// copy the WAL back into the database file, run on a connection of their
// own every checkpointEvery (see checkpoints), so that the writer does not
// stall a commit for a large one; the writer checkpoints by itself only if
// the WAL passes 10000 pages (about 40 MiB), as a safety net.
const writerPragmas = "&_pragma=wal_autocheckpoint(10000)&_txlock=immediate"

// checkpointEvery is the period of the background checkpoints.
const checkpointEvery = 100 * time.Millisecond

// Open opens the SQLite database file at path, creating it when missing, and
// brings its schema up to date. It refuses, with an error wrapping
// ErrSchemaTooNew, a database migrated by a newer binary.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("open sqlite %q: a database file path is required", path)
	}
	w, err := sql.Open("sqlite", path+"?"+pragmas+writerPragmas)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := probeWrite(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// database/sql keeps 2 idle connections by default; under load the rest
	// would be reopened on every query.
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	c, err := sql.Open("sqlite", path+"?"+pragmas)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	s := &Store{
		w: w, r: r, c: c, stopCheckpoints: func() {},
		creates: make(chan createRequest), closed: make(chan struct{}), createsDone: make(chan struct{}),
	}
	go s.commitCreates()
	if s.ws, err = prepareAll(ctx, w); err == nil {
		s.rs, err = prepareAll(ctx, r)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.stopCheckpoints = s.checkpoints()
	return s, nil
}

// checkpoints runs PASSIVE checkpoints in the background: they copy what
// the WAL holds into the database file without blocking the writer or the
// readers, so the WAL stays short and the writer's own checkpoint (which
// would stall a commit) seldom has anything to do. It returns the function
// that stops them.
func (s *Store) checkpoints() func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// A failed checkpoint is retried at the next tick; the writer's
			// own checkpoint is the safety net.
			_, _ = s.c.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}()
	return func() { cancel(); <-done }
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return s.health.Err()
}

// Close releases the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		<-s.createsDone
	})
	s.stopCheckpoints()
	return errors.Join(s.r.Close(), s.c.Close(), s.w.Close())
}

// queries are the statements prepared on both pools at Open: SQLite spends
// more time parsing the queue's statements than running them. A query not
// registered with prepared still works, parsed at each call.
var queries []string

// prepared registers query to be prepared at Open and returns it.
func prepared(query string) string {
	queries = append(queries, query)
	return query
}

func prepareAll(ctx context.Context, db *sql.DB) (map[string]*sql.Stmt, error) {
	stmts := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		stmts[q] = st
	}
	return stmts, nil
}

// conn runs queries on a pool or in a transaction of it, through the
// prepared statement when there is one.
type conn struct {
	db    *sql.DB
	tx    *sql.Tx // nil outside a transaction
	stmts map[string]*sql.Stmt
	// health, on the writer, records whether its transactions commit.
	health *store.WriteHealth
}

func (s *Store) reader() conn { return conn{db: s.r, stmts: s.rs} }

func (s *Store) writer() conn { return conn{db: s.w, stmts: s.ws, health: &s.health} }

// stmt returns the prepared statement of query, in c's transaction if any,
// or nil.
func (c conn) stmt(ctx context.Context, query string) *sql.Stmt {
	st := c.stmts[query]
	if st != nil && c.tx != nil {
		st = c.tx.StmtContext(ctx, st)
	}
	return st
}

func (c conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if c.tx != nil {
		return c.tx.ExecContext(ctx, query, args...)
	}
	return c.db.ExecContext(ctx, query, args...)
}

func (c conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if c.tx != nil {
		return c.tx.QueryContext(ctx, query, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

func (c conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if c.tx != nil {
		return c.tx.QueryRowContext(ctx, query, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// inTx runs fn in a transaction of c's pool and commits it when fn
// succeeds. On the writer that is BEGIN IMMEDIATE: the write lock is taken
// at once, so a transaction never fails to upgrade a read lock.
func (c conn) inTx(ctx context.Context, fn func(c conn) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return c.health.Record(translate(err))
	}
	c.tx = tx
	if err := fn(c); err != nil {
		tx.Rollback()
		return c.health.Record(translate(err))
	}
	return c.health.Record(translate(tx.Commit()))
}

// translate maps driver errors to the store's sentinels, so that nothing
// above the store inspects them.
func translate(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlitedriver.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR:
			return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
		}
	}
	return err
}

// probeWrite makes a write and rolls it back, so that a database this
// process cannot write (a read-only or immutable file, a lock another
// process holds) is refused when the store opens rather than at every
// create afterwards.
func probeWrite(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx,
		`UPDATE schema_migrations SET applied_at = applied_at WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		return fmt.Errorf("the database cannot be written: %w", translate(err))
	}
	return nil
}

// Times are stored as UTC unix nanoseconds.

func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromUnixNano(n int64) time.Time { return time.Unix(0, n).UTC() }

// stored is t as it reads back once stored: in UTC, to the nanosecond,
// without a monotonic clock reading.
func stored(t time.Time) time.Time { return fromUnixNano(unixNano(t)) }

func fromNullUnixNano(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromUnixNano(n.Int64)
	return &t
}

// nullString stores "" as NULL, for optional references.
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// nullBytes stores an empty slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// qualified is sqlkit.Qualified, short for the queries.
var qualified = sqlkit.Qualified
