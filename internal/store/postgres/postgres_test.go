package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/postgres"
	"github.com/handinger/handinger/internal/store/postgres/pgtest"
	"github.com/handinger/handinger/internal/store/storetest"
)

func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	t.Parallel()
	if pgtest.URL() == "" {
		pgtest.DSN(t) // skips, saying why
	}
	storetest.Exercise(t, func(t *testing.T) store.Store { return open(t, pgtest.DSN(t)) })
}

// rawConn connects to dsn without the store, to look at or tamper with the
// schema.
func rawConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// migrationCount is the number of migrations this binary has, the
// version it migrates to.
func migrationCount(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v, %d files", err, len(files))
	}
	return len(files)
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	open(t, dsn).Close()
	if _, err := rawConn(t, dsn).Exec(t.Context(), `INSERT INTO schema_migrations (version, applied_at)
		SELECT max(version) + 2, 0 FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}

	st, err := postgres.Open(t.Context(), dsn)
	if st != nil {
		st.Close()
	}
	if !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
	latest := migrationCount(t)
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("version %d is newer than this binary's %d", latest+2, latest)) ||
		!strings.Contains(msg, "upgrade handinger") {
		t.Errorf("error %q does not say which versions met and what to do", msg)
	}
	if err := postgres.Migrate(t.Context(), dsn); !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Errorf("Migrate of a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	for range 2 {
		if err := postgres.Migrate(t.Context(), dsn); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	var n, latest int
	if err := rawConn(t, dsn).QueryRow(t.Context(),
		`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &latest); err != nil {
		t.Fatal(err)
	}
	if want := migrationCount(t); n != want || latest != want {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d up to %[3]d", n, latest, want)
	}
	// The store opens the migrated schema and works on it.
	st := open(t, dsn)
	if err := st.CreateAPIKey(t.Context(), "key", "org", "user", []byte("hash"), time.Now()); err != nil {
		t.Fatal(err)
	}
}

// Replicas that start together on a fresh schema must not race to create
// it: the advisory lock queues them, and all find the schema ready.
func TestConcurrentOpensOfAFreshSchema(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	const n = 4
	stores := make([]*postgres.Store, n)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			st, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			stores[i] = st
		})
	}
	wg.Wait()
	for i, st := range stores {
		if st == nil {
			continue
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Ping(t.Context()); err != nil {
			t.Errorf("Ping of store %d: %v", i, err)
		}
		if _, err := st.QueueStats(t.Context()); err != nil {
			t.Errorf("QueueStats of store %d: %v", i, err)
		}
	}
}

func TestPoolSize(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	want := int32(max(8, 4*runtime.GOMAXPROCS(0)))
	if got := open(t, dsn).Pool().Config().MaxConns; got != want {
		t.Errorf("default MaxConns = %d, want %d", got, want)
	}
	if got := open(t, dsn+"&pool_max_conns=3").Pool().Config().MaxConns; got != 3 {
		t.Errorf("MaxConns with pool_max_conns=3 = %d, want 3", got)
	}
}

func TestOpenFailsWithoutTheSchema(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	missing := strings.Replace(dsn, "search_path=", "search_path=no_such_schema_", 1)
	st, err := postgres.Open(t.Context(), missing)
	if err == nil {
		st.Close()
		t.Fatal("Open with a search_path naming no schema succeeded")
	}
}

// TestUpgradeFromVersion1 opens a schema of the first version, with rows,
// and checks that the migrations keep every row working.
func TestUpgradeFromVersion1(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	v1, err := os.ReadFile(filepath.Join("migrations", "0001_init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t, dsn)
	rows := storetest.Version1Rows(func(b []byte) string { return fmt.Sprintf(`'\x%x'::bytea`, b) })
	for _, q := range []string{
		string(v1),
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		rows,
	} {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatalf("%.60s…: %v", q, err)
		}
	}
	storetest.CheckVersion1Rows(t, open(t, dsn))
}

// TestRunnerWritesFeedPing makes the database refuse the writes of a claim,
// then of a finish, as a full disk does (SQLSTATE 53100, raised by a
// trigger), and checks that each failure is ErrUnavailable and makes Ping,
// so /readyz, fail until a write succeeds again.
func TestRunnerWritesFeedPing(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	st := open(t, dsn)
	conn := rawConn(t, dsn)
	ctx := t.Context()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'no space left' USING ERRCODE = '53100'; END $$`)
	if err := st.CreateAPIKey(ctx, "key", "org", "user", []byte("hash"), time.Now()); err != nil {
		t.Fatal(err)
	}
	who := store.Principal{KeyID: "key", OrgID: "org", UserID: "user"}
	for i := range 2 {
		if _, err := st.CreateTurn(ctx, store.CreateTurnParams{
			Principal: who, TaskID: fmt.Sprint("task-", i), NewWorkerID: fmt.Sprint("worker-", i),
			TurnID: fmt.Sprint("turn-", i), Input: "x", Budget: "standard", Title: "x", Now: time.Now(),
		}); err != nil {
			t.Fatal(err)
		}
	}
	claim := func() ([]store.Claim, error) {
		return st.ClaimTurns(ctx, "r", time.Now(), time.Minute, 1, store.Share{})
	}

	exec(`CREATE TRIGGER refuse_claims BEFORE UPDATE ON turns FOR EACH ROW
		WHEN (NEW.status = 'running') EXECUTE FUNCTION refuse()`)
	if _, err := claim(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("claim on a full disk: err = %v, want ErrUnavailable", err)
	}
	if err := st.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after a failed claim = %v, want ErrUnavailable", err)
	}
	exec(`DROP TRIGGER refuse_claims ON turns`)
	claims, err := claim()
	if err != nil || len(claims) != 1 {
		t.Fatalf("claim once the disk has room: %v, %v", claims, err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping after a claim succeeded = %v, want nil", err)
	}

	exec(`CREATE TRIGGER refuse_finishes BEFORE UPDATE ON turns FOR EACH ROW
		WHEN (NEW.status = 'completed') EXECUTE FUNCTION refuse()`)
	finish := store.FinishTurnParams{
		TurnID: claims[0].Turn.ID, Owner: "r", Attempt: claims[0].Attempt,
		Status: store.StatusCompleted, OutputText: "done", Now: time.Now(),
	}
	if _, err := st.FinishTurns(ctx, []store.FinishTurnParams{finish}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("finish on a full disk: err = %v, want ErrUnavailable", err)
	}
	if err := st.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after a failed finish = %v, want ErrUnavailable", err)
	}
	// An empty claim writes nothing, so it does not clear the failure.
	exec(`UPDATE turns SET status = 'aborted' WHERE status = 'pending'`)
	if got, err := claim(); err != nil || len(got) != 0 {
		t.Fatalf("claim with nothing runnable: %v, %v", got, err)
	}
	if err := st.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after an empty claim = %v, want the finish's failure still", err)
	}
	exec(`DROP TRIGGER refuse_finishes ON turns`)
	if errs, err := st.FinishTurns(ctx, []store.FinishTurnParams{finish}); err != nil || errs[0] != nil {
		t.Fatalf("finish once the disk has room: %v %v", err, errs)
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping after a finish succeeded = %v, want nil", err)
	}
}
