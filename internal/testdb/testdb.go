// Package testdb gives tests a fresh database of each storage backend:
// SQLite always, PostgreSQL when HANDINGER_TEST_POSTGRES_URL is set (each
// test in a schema of its own, so tests run in parallel).
//
// A package whose whole suite should run on every backend calls Main from
// its TestMain: the suite runs on SQLite, and then, when PostgreSQL is
// available, the test binary runs itself again with
// HANDINGER_TEST_BACKEND=postgres.
package testdb

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/handinger/handinger/internal/store/postgres/pgtest"
)

// Backend names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// backendEnv selects the backend of DSN in this process.
const backendEnv = "HANDINGER_TEST_BACKEND"

// Current is the backend DSN gives in this process: SQLite unless
// HANDINGER_TEST_BACKEND says postgres.
func Current() string {
	if os.Getenv(backendEnv) == Postgres {
		return Postgres
	}
	return SQLite
}

// Backends lists the backends available to tests: SQLite, and PostgreSQL
// when HANDINGER_TEST_POSTGRES_URL is set.
func Backends() []string {
	if pgtest.URL() != "" {
		return []string{SQLite, Postgres}
	}
	return []string{SQLite}
}

// Main runs the package's tests on the current backend and, in the first
// process, once more on PostgreSQL when it is available. It exits with the
// first failure's code.
func Main(m *testing.M) {
	code := m.Run()
	if Current() == Postgres {
		os.Exit(code)
	}
	if pgtest.URL() == "" {
		fmt.Println("testdb: the PostgreSQL pass is skipped: HANDINGER_TEST_POSTGRES_URL is not set")
		os.Exit(code)
	}
	for _, name := range []string{"test.fuzz", "test.fuzzworker", "test.bench", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			// Fuzzing, benchmarks and listings are not a suite to repeat.
			os.Exit(code)
		}
	}
	fmt.Println("testdb: running the suite again on PostgreSQL")
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), backendEnv+"="+Postgres)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Println("testdb: the PostgreSQL pass failed:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// DSN returns a --db value naming a fresh, empty database of backend,
// dropped when t ends.
func DSN(t testing.TB, backend string) string {
	t.Helper()
	if backend == Postgres {
		return pgtest.DSN(t)
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "handinger.db")
}
