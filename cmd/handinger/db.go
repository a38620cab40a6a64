package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/notify/pgnotify"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/postgres"
	"github.com/handinger/handinger/internal/store/sqlite"
)

// defaultDB is the database of every subcommand unless --db says otherwise.
const defaultDB = "sqlite:handinger.db"

// dbUsage is the help text of every --db flag.
const dbUsage = "database: sqlite:PATH (embedded, one process) or postgres://USER@HOST/DB (several replicas)"

// openStore opens (creating and migrating) the database a --db value names.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, usageError{fmt.Errorf("--db %q names no file", dsn)}
		}
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", dsn, err)
		}
		return st, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", redactDSN(dsn), err)
		}
		return st, nil
	default:
		return nil, usageError{fmt.Errorf("--db %q: want sqlite:PATH or postgres://…", redactDSN(dsn))}
	}
}

// openBus returns the wake-up bus that fits st: LISTEN/NOTIFY across the
// replicas of a PostgreSQL database, in-process otherwise. Call close when
// done.
func openBus(ctx context.Context, st store.Store, log *slog.Logger) (bus notify.Bus, close func(), err error) {
	if pg, ok := st.(*postgres.Store); ok {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		b, err := pgnotify.New(ctx, pg.Pool(), log)
		if err != nil {
			return nil, nil, err
		}
		return b, b.Close, nil
	}
	return notify.NewLocal(), func() {}, nil
}

// checkDatabase logs what in the database's configuration will hurt the
// server over time.
func checkDatabase(ctx context.Context, st store.Store, log *slog.Logger) {
	pg, ok := st.(*postgres.Store)
	if !ok {
		return
	}
	var on bool
	if err := pg.Pool().QueryRow(ctx, "SELECT current_setting('autovacuum')::boolean").Scan(&on); err == nil && !on {
		log.Warn("PostgreSQL runs with autovacuum off: the turns table is also the queue, and without " +
			"VACUUM its dead rows pile up and claims slow down over time; turn autovacuum on, or VACUUM " +
			"ANALYZE turns, tasks and idempotency_keys regularly")
	}
}

// redactDSN hides the passwords of a database address, for messages and
// logs: in the URL's user part and its password and sslpassword
// parameters. An address that does not parse as a URL is hidden whole.
func redactDSN(dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return "(a database address that is not a URL; hidden, since it may hold a password)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}
