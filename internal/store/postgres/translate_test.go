package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/handinger/handinger/internal/store"
)

// TestTranslateUnavailable checks that a database that cannot take writes
// (disk full, read-only, shutting down) is ErrUnavailable, which the server
// answers 503 with Retry-After, as on SQLite, and that other failures are not.
func TestTranslateUnavailable(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{"53100": true, "25006": true, "57P03": true, "42P01": false, "23505": false} {
		err := translate(fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "m"}))
		if got := errors.Is(err, store.ErrUnavailable); got != want {
			t.Errorf("SQLSTATE %s: unavailable %v, want %v (%v)", code, got, want, err)
		}
	}
}
