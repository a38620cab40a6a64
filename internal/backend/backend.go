// Package backend is the one place that knows the storage backends. Open
// turns a database address (the --db flag) into its store and the wake-up
// bus that fits it — in process for a database one process owns,
// LISTEN/NOTIFY for PostgreSQL, whose replicas must wake each other — much
// as a River driver supplies its own listener. Nothing outside this package
// names a backend's concrete type; adding a backend is one case in Open.
package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/notify/pgnotify"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/memory"
	"github.com/handinger/handinger/internal/store/postgres"
	"github.com/handinger/handinger/internal/store/sqlite"
)

// Default is the database of every command that is not told otherwise.
const Default = "sqlite:handinger.db"

// Usage describes the addresses Open accepts, for the help of --db flags.
const Usage = "database: sqlite:PATH (embedded, one process), postgres://USER@HOST/DB (several replicas) " +
	"or memory: (in this process only, lost when it exits)"

// ErrAddress is wrapped by Open's error for an address it does not accept,
// which is the caller's mistake rather than the database's.
var ErrAddress = errors.New("not a database address")

// ErrNotShared is wrapped by Open's error when Options.Shared asks for a
// database several processes share and the address names one that serves
// a single process.
var ErrNotShared = errors.New("the database serves one process")

// Backend is an open database: its store, its wake-up bus, and what the
// rest of the server needs to know about it.
type Backend struct {
	// Store is the database's store.
	Store store.Store
	// Bus carries wake-ups between the processes that use the database.
	Bus notify.Bus
	// Shared says that other processes may use the database at once (the
	// replicas of a PostgreSQL database): then a process may run no turns of
	// its own, and a key printed at start would be printed by every replica.
	Shared bool

	warnings func(ctx context.Context) []string
	closers  []func() error // in the order to run them
}

// Options tune Open.
type Options struct {
	// Logger receives what the bus logs (reconnects); nil logs nothing.
	Logger *slog.Logger
	// Shared refuses, before opening anything, a database that only one
	// process can use (ErrNotShared): for a process that leaves running
	// turns to other replicas.
	Shared bool
}

// Open opens the database addr names, creating and migrating it:
//
//	sqlite:PATH     an embedded SQLite file, for one process
//	postgres://…    PostgreSQL (also postgresql://), for several replicas;
//	                a search_path parameter selects the schema
//	memory:         the store in this process's memory, lost when it exits
//
// An address of another form is an error wrapping ErrAddress. Errors never
// show a password the address holds.
func Open(ctx context.Context, addr string, opts Options) (*Backend, error) {
	switch {
	case strings.HasPrefix(addr, "sqlite:"):
		path := strings.TrimPrefix(addr, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("--db %q names no file: %w", addr, ErrAddress)
		}
		if opts.Shared {
			return nil, fmt.Errorf("SQLite: %w", ErrNotShared)
		}
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", addr, err)
		}
		return local(st), nil
	case addr == "memory:":
		if opts.Shared {
			return nil, fmt.Errorf("memory: %w", ErrNotShared)
		}
		return local(memory.New()), nil
	case strings.HasPrefix(addr, "postgres://"), strings.HasPrefix(addr, "postgresql://"):
		st, err := postgres.Open(ctx, addr)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(addr), err)
		}
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		bus, err := pgnotify.New(lctx, st.Pool(), opts.Logger)
		if err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("open %s: %w", Redact(addr), err)
		}
		return &Backend{
			Store: st, Bus: bus, Shared: true,
			warnings: st.Warnings,
			closers:  []func() error{func() error { bus.Close(); return nil }, st.Close},
		}, nil
	}
	return nil, fmt.Errorf("--db %q: want sqlite:PATH, postgres://… or memory:: %w", Redact(addr), ErrAddress)
}

// local is a backend only this process uses: wake-ups stay in it.
func local(st store.Store) *Backend {
	return &Backend{Store: st, Bus: notify.NewLocal(), closers: []func() error{st.Close}}
}

// Warnings says what in the database's configuration will hurt the server
// over time, for the log at start.
func (b *Backend) Warnings(ctx context.Context) []string {
	if b.warnings == nil {
		return nil
	}
	return b.warnings(ctx)
}

// Close stops the bus and closes the store.
func (b *Backend) Close() error {
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Redact hides the passwords of a database address, for messages and logs:
// in the URL's user part and its password and sslpassword parameters. An
// address that does not parse as a URL is hidden whole.
func Redact(addr string) string {
	if strings.HasPrefix(addr, "sqlite:") || addr == "memory:" {
		return addr
	}
	u, err := url.Parse(addr)
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
