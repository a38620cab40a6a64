package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/handinger/handinger/internal/store/sqlkit"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew is wrapped by the error Open and Migrate return for a
// database whose schema was migrated by a newer binary than this one.
var ErrSchemaTooNew = sqlkit.ErrSchemaTooNew

// migrateLockClass is the first key of the advisory lock that serializes
// migrations; the second is the hash of the schema migrated, so that
// replicas of one schema queue while other schemas of the database (each
// test has its own) do not wait for them.
const migrateLockClass = 0x48414e44 // "HAND"

// migrate applies the migrations the schema lacks, all in one transaction
// that first takes a transaction-scoped advisory lock: replicas starting
// together apply each migration once, and the later ones find it applied.
func migrate(ctx context.Context, conn *pgx.Conn) error {
	ms, err := sqlkit.Migrations(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var schema *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return err
		}
		if schema == nil {
			return errors.New("no schema of the search_path exists: create it first")
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`,
			int32(migrateLockClass), *schema); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx,
			`SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > len(ms) {
			return &sqlkit.TooNewError{Database: current, Binary: len(ms)}
		}
		for _, m := range ms[current:] {
			// The simple protocol runs a file of several statements.
			if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx,
				`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.Version, unixNano(time.Now())); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
