package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/handinger/handinger/store"
	"github.com/handinger/handinger/store/sqlite"
)

// defaultDB is the database of every subcommand unless --db says otherwise.
const defaultDB = "sqlite:handinger.db"

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
	default:
		return nil, usageError{fmt.Errorf("--db %q: want sqlite:PATH", dsn)}
	}
}
