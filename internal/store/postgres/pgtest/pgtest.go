// Package pgtest gives tests a fresh PostgreSQL schema of their own, so that
// tests of the PostgreSQL backend run in parallel on one database. It needs
// HANDINGER_TEST_POSTGRES_URL, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable; without it the
// tests that ask for a schema skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the environment variable that holds the database URL.
const EnvVar = "HANDINGER_TEST_POSTGRES_URL"

// URL returns the test database's URL, empty when EnvVar is not set.
func URL() string { return os.Getenv(EnvVar) }

// DSN creates a schema with a random name in the test database, drops it
// (CASCADE) when t ends, and returns the database's URL with search_path
// set to it. It skips t when EnvVar is not set.
func DSN(t testing.TB) string {
	t.Helper()
	base := URL()
	if base == "" {
		t.Skip(EnvVar + " is not set: skipping the PostgreSQL backend")
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "handinger_test_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{schema}.Sanitize()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec(ctx, base, `CREATE SCHEMA `+ident); err != nil {
		t.Fatalf("pgtest: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, base, `DROP SCHEMA `+ident+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, base, schema)
}

// exec runs one statement on a connection of its own.
func exec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// withSearchPath returns dsn, a URL or a keyword/value string, with its
// search_path set to schema.
func withSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
